"""Demo stage: judge synthetic battles with the local judge server, calibrate it, label mined pairs.

Everything runs offline: the "LLM" is ``arenapref.testing.judge_server`` on 127.0.0.1, reached over real HTTP
by the same client that would talk to OpenAI or vLLM.
"""

from __future__ import annotations

from pathlib import Path

from arenapref.label.cache import JudgeCache
from arenapref.label.calibration import CalibrationMap
from arenapref.label.config import load_judge
from arenapref.label.evaluate import judge_eval
from arenapref.label.judge import judge_battles
from arenapref.label.output import write_outputs
from arenapref.readers import open_source
from arenapref.synth import SynthManifest
from arenapref.testing.judge_server import ServerSettings, serve_in_thread

DEMO_PAIRS = 100


def demo_stage(synth_dir: Path, work_dir: Path) -> list[str]:
    """Judge 100 labeled synthetic battles (both orders), report agreement, calibrate; label mined pairs."""
    manifest = SynthManifest.load(synth_dir)
    out_dir = work_dir / "label"
    out_dir.mkdir(parents=True, exist_ok=True)
    battles = open_source(manifest.train_csv).read_table().slice(0, DEMO_PAIRS)
    lines: list[str] = []
    with (
        serve_in_thread(ServerSettings(seed=0)) as server,
        JudgeCache(out_dir / "judge-cache.sqlite") as cache,
    ):
        config = load_judge("default").with_overrides(
            base_url=server.base_url, api_key_env="", concurrency=16
        )
        report = judge_eval(battles, lambda t: judge_battles(t, config, cache=cache), out_dir / "judge-eval")
        lines += [f"label: {line}" for line in report.lines()]
        mined_path = work_dir / "mine" / "pairs.parquet"
        if mined_path.is_file() and "calibration" in report.outputs:
            cmap = CalibrationMap.load(report.outputs["calibration"])
            mined = open_source(mined_path).read_table().slice(0, DEMO_PAIRS)
            result = judge_battles(mined, config, cache=cache, calibration=cmap)
            out, _ = write_outputs(
                result.table,
                result.failures,
                out_dir / "mined_labeled.parquet",
                out_dir / "mined_failures.jsonl",
            )
            s = result.stats
            lines.append(
                f"label: {s.labeled} of {s.pairs} mined pairs labeled with the calibrated judge "
                f"({s.orders_sent} requests, ${s.cost:.4f}) -> {out}"
            )
    return lines
