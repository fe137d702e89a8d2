"""``arenapref demo``: a synthetic workspace, its PIPELINE.toml, a full pipeline run and the report.

The demo is the pipeline's first user, not a second mechanism: it writes an ordinary config into the
workspace (which the user can edit and rerun with ``arenapref run``), runs it with the built-in offline
judge and a teacher model, and then, as an explicit extra step only a synthetic workspace allows,
scores the run against the generator's ground truth into ``run/demo/truth.json``.
"""

from __future__ import annotations

import contextlib
import csv
import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from arenapref.atomic import atomic_dir, write_text
from arenapref.errors import ArenaprefError
from arenapref.llmclient.llamacpp import serve_llama_cpp
from arenapref.metrics import log_loss
from arenapref.pipeline import (
    CONFIG_NAME,
    PipelineConfig,
    RunSummary,
    StageStatus,
    load_config,
    run_pipeline,
    to_toml,
)
from arenapref.pipeline.config import (
    AblateStageSettings,
    JudgeSettings,
    LabelSettings,
    RunSettings,
    SourceSettings,
    TopicsSettings,
    TrainStageSettings,
)
from arenapref.report import write_report
from arenapref.synth import GENERATOR_VERSION, SynthManifest, generate

_LABEL_COLUMNS = {"model_a": 0, "model_b": 1, "tie": 2}
_HEADER = """arenapref pipeline config written by `arenapref demo`; edit it and rerun with
`arenapref run PIPELINE.toml` (unchanged stages are skipped). Paths are relative to this file.
label.judge.base_url = "offline" is arenapref's built-in offline judge; for a real judge give its base_url
(or ARENAPREF_BASE_URL), model and api_key_env: the label stage then reruns, as the judge's identity
(server, model, spec content) is part of its key and of every cached answer's key."""
_LLAMA_CPP_HEADER = """
label.judge.spec = "llama-cpp": SmolLM2-135M-Instruct served by llama.cpp at base_url. `arenapref demo
--judge llama-cpp` starts that server for its run; before `arenapref run`, start it yourself:
python -m llama_cpp.server --model .../SmolLM2-135M-Instruct.Q4_1.gguf --port 8000 --n_ctx 8192"""
#: The demo's judges: the built-in offline rule (default, fast) and a real model served by llama.cpp.
DEMO_JUDGES = ("offline", "llama-cpp")
#: The llama.cpp demo's server address: the spec's (llama_cpp.server's default port), so the config left
#: in the workspace keeps one judge identity across runs and reruns against a server started by hand.
LLAMA_CPP_DEMO_PORT = 8000
# A real 135M model answers in about a second per request on two cores; this keeps its demo in minutes.
LLAMA_CPP_DEMO_PAIRS = 60
LLAMA_CPP_DEMO_EVAL_ROWS = 30


@dataclass
class DemoResult:
    """Where the demo put things and what the run did."""

    workspace: Path
    config: Path
    run: RunSummary
    report: Path
    truth: dict[str, Any]


def demo_config(seed: int = 0, max_pairs: int = 1000, judge: str = "offline") -> PipelineConfig:
    """The demo's pipeline settings: every stage, small enough to finish in about a minute.

    ``judge``: ``offline`` (the built-in rule) or ``llama-cpp`` (SmolLM2 on a local llama.cpp server at
    ``LLAMA_CPP_DEMO_PORT``, on fewer pairs, as each answer takes a real model's time).
    """
    if judge not in DEMO_JUDGES:
        raise ArenaprefError(f"the demo's judge is one of {', '.join(DEMO_JUDGES)}, not {judge!r}")
    judge_settings = JudgeSettings(base_url="offline", concurrency=16, eval_rows=200)
    if judge == "llama-cpp":
        max_pairs = min(max_pairs, LLAMA_CPP_DEMO_PAIRS)
        judge_settings = JudgeSettings(
            spec="llama-cpp",
            base_url=f"http://127.0.0.1:{LLAMA_CPP_DEMO_PORT}/v1",
            eval_rows=LLAMA_CPP_DEMO_EVAL_ROWS,
        )
    fast: dict[str, int | float | str | bool] = {"n_estimators": 200, "learning_rate": 0.1}
    return PipelineConfig(
        run=RunSettings(dir="run", seed=seed),
        sources=SourceSettings(
            lmsys=["synth/lmsys"], train="synth/competition/train.csv", test="synth/competition/test.csv"
        ),
        # A 2,000-prompt exact probe per source (intervals about +-2 points) keeps the demo in minutes; the
        # default 20,000 is for real comparisons (about 100 s of MiniLM per source on two cores).
        topics=TopicsSettings(k=20, probe_sample=2_000),
        label=LabelSettings(
            max_pairs=max_pairs,
            use="judge",
            judge=judge_settings,
        ),
        train=TrainStageSettings(folds=2, params=fast),
        ablate=AblateStageSettings(n_boot=300, params=fast, curve=[0.25, 0.5, 1.0]),
    )


def _same_workspace(synth_dir: Path, conversations: int, battles: int, seed: int) -> bool:
    try:
        m = SynthManifest.load(synth_dir)
    except Exception:
        return False
    return (m.conversations, m.battles, m.seed, m.generator_version) == (
        conversations,
        battles,
        seed,
        GENERATOR_VERSION,
    )


def score_against_truth(run_dir: Path, manifest: SynthManifest) -> dict[str, Any]:
    """The demo's explicit ground-truth step: what only a synthetic workspace can tell.

    The submission against the hidden test labels (and the best log loss any model could reach), the
    overlaps compare found against those planted, and the share of minable prompt groups mining found.
    """
    import polars as pl
    import pyarrow.parquet as pq

    out: dict[str, Any] = {"workspace": str(manifest.out_dir)}
    sub = run_dir / "predict" / "submission.csv"
    truth = pq.read_table(manifest.truth_battles).to_pylist()
    if sub.is_file():
        rows = {str(r["id"]): r for r in truth if r["split"] == "test" and r["label"] in _LABEL_COLUMNS}
        pred, best, labels = [], [], []
        with sub.open(newline="", encoding="utf-8") as fh:
            for rec in csv.DictReader(fh):
                r = rows.get(rec["id"])
                if r is not None:
                    pred.append([float(rec[c]) for c in ("winner_model_a", "winner_model_b", "winner_tie")])
                    best.append([r["p_a"], r["p_b"], r["p_tie"]])
                    labels.append(np.eye(3)[_LABEL_COLUMNS[r["label"]]])
        y = np.array(labels).reshape(-1, 3)
        out["hidden test battles scored"] = len(y)
        out["submission log loss (hidden labels)"] = log_loss(np.array(pred).reshape(-1, 3), y)
        out["best possible log loss (true probabilities)"] = log_loss(np.array(best).reshape(-1, 3), y)
    report = run_dir / "compare" / "report.json"
    if report.is_file():
        planted = {
            k: sum(1 for r in truth if r.get("overlap") == k) for k in ("exact", "placeholder", "near")
        }
        found = json.loads(report.read_text(encoding="utf-8"))["left_in_right"]
        for k, v in planted.items():
            out[f"overlap {k}: found / planted"] = f"{found.get(k, 0)} / {v}"
    pairs, dropped = run_dir / "mine" / "pairs.parquet", run_dir / "mine" / "dropped.parquet"
    if pairs.is_file() and dropped.is_file():
        used = pl.read_parquet(pairs).select(pl.col("provenance").explode()).to_series()
        d = pl.read_parquet(dropped)
        formed = d.filter(pl.col("stage") == "pair").select(pl.col("conversation_ids").explode()).to_series()
        ids = pl.concat([used, formed]).unique().implode()
        conv = pl.read_parquet(manifest.truth_conversations, columns=["conversation_id", "prompt_group"])
        found_groups = conv.filter(pl.col("conversation_id").is_in(ids)).get_column("prompt_group").unique()
        minable = pl.read_parquet(manifest.truth_minable_groups).filter(pl.col("minable"))
        hits = int(minable.get_column("prompt_group").is_in(found_groups.implode()).sum())
        out["minable prompt groups mined / planted"] = f"{hits} / {minable.height}"
    with atomic_dir(run_dir / "demo") as tmp:
        write_text(tmp / "truth.json", json.dumps(out, indent=2) + "\n")
    return out


def run_demo(
    out_dir: Path,
    conversations: int = 20_000,
    battles: int = 4_000,
    seed: int = 0,
    progress: bool = True,
    on_stage: Callable[[StageStatus], None] | None = None,
    judge: str = "offline",
) -> DemoResult:
    """Generate (or reuse) the workspace, write PIPELINE.toml, run it, score the truth, write the report.

    ``judge="llama-cpp"`` starts llama.cpp's server on SmolLM2 for the run (``demo_config``).
    """
    config = demo_config(seed, judge=judge)
    out_dir.mkdir(parents=True, exist_ok=True)
    synth_dir = out_dir / "synth"
    config_path = out_dir / CONFIG_NAME
    if config_path.is_file() and load_config(config_path).label.judge.spec != config.label.judge.spec:
        raise ArenaprefError(
            f"{config_path} was written for another judge than {judge!r}; give the demo another --out "
            "(or delete that file)"
        )
    if not _same_workspace(synth_dir, conversations, battles, seed):
        generate(synth_dir, conversations=conversations, battles=battles, seed=seed)
    manifest = SynthManifest.load(synth_dir)
    if not config_path.is_file():
        header = _HEADER + (_LLAMA_CPP_HEADER if judge == "llama-cpp" else "")
        write_text(config_path, to_toml(config, header))
    with contextlib.ExitStack() as stack:
        if judge == "llama-cpp":
            stack.enter_context(serve_llama_cpp(port=LLAMA_CPP_DEMO_PORT))
        summary = run_pipeline(config_path, progress=progress, on_stage=on_stage)
    truth = score_against_truth(summary.run_dir, manifest)
    report = write_report(summary.run_dir)
    return DemoResult(out_dir, config_path, summary, report, truth)


__all__ = ["DEMO_JUDGES", "DemoResult", "demo_config", "run_demo", "score_against_truth"]
