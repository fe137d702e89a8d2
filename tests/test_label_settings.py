"""One label settings model (``arenapref.label.settings``) behind the pipeline's ``[label]`` section and the
``label`` command's options; the pipeline's label stage gets budgets and needs no judge for a teacher.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pyarrow.parquet as pq
import pytest
from typer.main import get_command

from arenapref.cli import app
from arenapref.cli.label_cmd import PIPELINE_ONLY, flag_of
from arenapref.label.settings import JudgeSettings, LabelSettings
from arenapref.pipeline import run_pipeline
from arenapref.pipeline.config import PipelineConfig, parse_config
from arenapref.synth import generate
from arenapref.testing.judge_server import ServerSettings, serve_in_thread
from arenapref.writers import write_parquet
from cli_helpers import run_cli

SRC = Path(__file__).resolve().parents[1] / "src" / "arenapref"


def _options(command: str) -> dict[str, object]:
    cmd = get_command(app).commands[command]  # type: ignore[attr-defined]
    return {opt: p.default for p in cmd.params for opt in p.opts if opt.startswith("--")}


@pytest.mark.parametrize("command", ["label", "judge-eval"])
def test_judge_options_are_the_settings_fields_with_their_defaults(command: str) -> None:
    options = _options(command)
    fields = [f for f in JudgeSettings.model_fields if f not in PIPELINE_ONLY]
    for name in fields:
        flag = flag_of(name)
        assert flag in options, f"{command} has no {flag} for JudgeSettings.{name}"
        default = JudgeSettings.model_fields[name].default
        # An option left out is the settings' default: None (the spec's) or the same value.
        assert options[flag] in (None, default), (flag, options[flag], default)
    assert PipelineConfig.model_fields["label"].annotation is LabelSettings
    assert LabelSettings.model_fields["judge"].annotation is JudgeSettings


def test_no_production_module_imports_the_test_package() -> None:
    imports = re.compile(r"^\s*(from arenapref\.testing|import arenapref\.testing)", re.MULTILINE)
    offenders = [
        p.relative_to(SRC).as_posix()
        for p in SRC.rglob("*.py")
        if "testing" not in p.relative_to(SRC).parts and imports.search(p.read_text(encoding="utf-8"))
    ]
    assert offenders == []


def test_judge_runs_only_when_its_labels_are_used_unless_enabled() -> None:
    assert parse_config({}).label.judge_runs
    assert not parse_config({"label": {"use": "teacher"}}).label.judge_runs
    assert parse_config({"label": {"use": "teacher", "judge": {"enabled": True}}}).label.judge_runs
    with pytest.raises(Exception, match='replaced by base_url = "offline"'):
        parse_config({"label": {"judge": {"local_server": True}}})


def _config(label: str) -> str:
    off = "\n".join(f"[{s}]\nenabled = false" for s in ("profile", "compare", "topics", "evaluate", "ablate"))
    return f"""[sources]
lmsys = ["synth/lmsys"]
train = "synth/competition/train.csv"
{off}
[train]
enabled = false
[predict]
enabled = false
[label]
max_pairs = 30
{label}
"""


def test_teacher_labels_need_no_key_and_pipeline_budgets_hold(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    monkeypatch.delenv("ARENAPREF_BASE_URL", raising=False)
    monkeypatch.delenv("OPENAI_BASE_URL", raising=False)
    ws = tmp_path / "ws"
    generate(ws / "synth", conversations=1500, battles=200, seed=1)
    cfg = ws / "PIPELINE.toml"
    # use = "teacher": the judge section is not needed, nor a key; only the teacher runs.
    cfg.write_text(_config('use = "teacher"\n[label.teacher]\nn_estimators = 20'), encoding="utf-8")
    summary = run_pipeline(cfg, progress=False)
    assert summary.status_of("label").status == "ran"
    assert not (ws / "run" / "label" / "judge_labels.parquet").exists()
    assert (ws / "run" / "label" / "teacher_labels.parquet").is_file()
    # A request budget in the pipeline stops the judge as on the command line.
    with serve_in_thread(ServerSettings()) as server:
        judge = f'[label.judge]\nbase_url = "{server.base_url}"\napi_key_env = ""\neval_rows = 0\n'
        judge += "max_requests = 10"
        cfg.write_text(_config(judge + "\n[label.teacher]\nenabled = false"), encoding="utf-8")
        run_pipeline(cfg, progress=False)
        assert server.stats(summary=True)["total"] == 10
    manifest = json.loads((ws / "run" / "label" / "manifest.json").read_text())
    assert manifest["counts"]["judge"]["orders_sent"] == 10
    assert manifest["drops"]["judge: budget"] > 0
    assert manifest["settings"]["judge"]["max_requests"] == 10
    # A cost cap needs a price for the model, as on the command line.
    cfg.write_text(_config('[label.judge]\nmodel = "unpriced"\nmax_cost = 1.0'), encoding="utf-8")
    with pytest.raises(Exception, match="max_cost needs a price for model 'unpriced'"):
        run_pipeline(cfg, progress=False)


def test_pipeline_and_command_line_give_the_same_judge_labels(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ARENAPREF_CACHE_DIR", str(tmp_path / "user-cache"))
    ws = tmp_path / "ws"
    generate(ws / "synth", conversations=1500, battles=200, seed=1)
    cfg = ws / "PIPELINE.toml"
    judge = '[label.judge]\nbase_url = "offline"\neval_rows = 0\n[label.teacher]\nenabled = false'
    cfg.write_text(_config(judge), encoding="utf-8")
    run_pipeline(cfg, progress=False)
    piped = pq.read_table(ws / "run" / "label" / "judge_labels.parquet")
    pairs = write_parquet(
        pq.read_table(ws / "run" / "mine" / "pairs.parquet").slice(0, 30), tmp_path / "p.parquet"
    )
    out = tmp_path / "cli.parquet"
    code, _, err = run_cli(
        ["label", str(pairs), "--judge", "default", "--base-url", "offline", "-o", str(out)], capsys
    )
    assert code == 0, err
    assert pq.read_table(out).equals(piped)


def test_judge_eval_holdout_is_its_settings_default_and_checked_as_a_setting(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from arenapref.label.settings import JudgeEvalSettings

    assert _options("judge-eval")["--holdout"] == JudgeEvalSettings().holdout
    argv = ["judge-eval", str(tmp_path / "in.csv"), "-o", str(tmp_path / "je"), "--judge", "default"]
    code, _, err = run_cli([*argv, "--holdout", "1.5"], capsys)
    assert (code, err) == (1, "error: --holdout must be < 1, not 1.5")


def test_label_takes_judge_settings_as_the_command_line_opens_them(tmp_path: Path) -> None:
    """``ap.label(settings=JudgeSettings(...))`` is ``open_judge``'s judge, budget included; with
    fields too, or another judge, it is one sentence."""
    import arenapref as ap
    from arenapref.errors import ArenaprefError
    from label_helpers import make_pairs

    pairs = make_pairs(6)
    settings = JudgeSettings(base_url="offline", cache=str(tmp_path / "c.sqlite"), max_requests=4)
    capped = ap.label(pairs, settings=settings, progress=False)
    assert capped.stats.orders_sent == 4 and capped.stats.failure_reasons.get("budget", 0) > 0
    plain = ap.label(pairs, base_url="offline", progress=False)
    whole = ap.label(pairs, settings=settings.model_copy(update={"max_requests": 0}), progress=False)
    assert whole.stats.orders_cached == 4 and whole.to_arrow().equals(plain.to_arrow())
    with pytest.raises(ArenaprefError, match=r"give `settings` or its fields, not both \(got model\)"):
        ap.label(pairs, settings=settings, model="m", progress=False)
    with pytest.raises(ArenaprefError, match="give `settings` or `judge`, not both"):
        ap.label(pairs, "five_level", settings=settings, progress=False)
