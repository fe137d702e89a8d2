"""One progress convention (``arenapref.progress``) and the thread defaults (``arenapref.threads``)."""

from __future__ import annotations

import io
import os
from typing import Any

import pytest

import arenapref as ap
from arenapref.cli import main
from arenapref.errors import ArenaprefError
from arenapref.progress import TextLines, reporter
from arenapref.synth import generate
from arenapref.threads import default_threads


@pytest.fixture(scope="module")
def ws(tmp_path_factory: pytest.TempPathFactory) -> Any:
    return generate(tmp_path_factory.mktemp("progress") / "ws", conversations=600, battles=200, seed=2)


def test_cli_writes_one_line_per_step_to_a_log(ws: Any, capsys: pytest.CaptureFixture[str]) -> None:
    """``ablate ... 2>log`` used to write ``ablate: trained 1/9ablate: trained 2/9...`` on one line."""
    argv = ["ablate", "--base", str(ws.train_csv), "--extra", str(ws.train_csv), "--holdout-frac", "0.3"]
    main([*argv, "--repeats", "2", "--boot", "100"])  # returns normally on success
    err = capsys.readouterr().err
    assert "\r" not in err
    steps = [line for line in err.splitlines() if line.startswith("ablate: trained")]
    assert steps == [f"ablate: trained {k}/4" for k in range(1, 5)], err


def test_api_progress_callback_has_one_shape(ws: Any) -> None:
    calls: list[tuple[str, int, int | None]] = []
    ap.ablate(
        ws.train_csv,
        ws.train_csv,
        holdout_frac=0.3,
        repeats=2,
        n_boot=20,
        progress=lambda stage, done, total: calls.append((stage, done, total)),
    )
    assert calls == [("training", k, 4) for k in range(1, 5)]
    calls.clear()
    ap.mine(ws.lmsys_dir, progress=lambda stage, done, total: calls.append((stage, done, total)))
    assert calls and all(isinstance(s, str) and isinstance(d, int) and t is None for s, d, t in calls)
    calls.clear()
    ap.fit_topics(ws.lmsys_dir, k=3, embedder="tfidf", progress=lambda s, d, t: calls.append((s, d, t)))
    assert [d for _, d, _ in calls] == list(range(1, len(calls) + 1)) and len(calls) >= 4


def test_api_is_silent_with_false_and_outside_notebooks(ws: Any, capsys: pytest.CaptureFixture[str]) -> None:
    ap.ablate(ws.train_csv, ws.train_csv, holdout_frac=0.3, repeats=1, n_boot=20, progress=False)
    ap.ablate(ws.train_csv, ws.train_csv, holdout_frac=0.3, repeats=1, n_boot=20)  # default: not a terminal
    assert capsys.readouterr().err == ""
    assert reporter(None) is None  # pytest's stderr is not a terminal, and this is no notebook kernel


def test_api_progress_true_draws_a_bar(ws: Any, capsys: pytest.CaptureFixture[str]) -> None:
    pytest.importorskip("tqdm")
    ap.ablate(ws.train_csv, ws.train_csv, holdout_frac=0.3, repeats=1, n_boot=20, progress=True)
    err = capsys.readouterr().err
    assert "training" in err and "2/2" in err


def test_text_lines_in_a_log_and_throttled() -> None:
    log = io.StringIO()
    lines = TextLines("mine", log)
    for k in range(1, 6):
        lines("scan", k, 5)
    for k in range(1, 1001):  # a fast counter: the first, then at most one a second, and the last
        lines("read", k, 1000)
    out = log.getvalue().splitlines()
    assert out[:5] == [f"mine: scan {k}/5" for k in range(1, 6)]
    assert out[5] == "mine: read 1/1,000" and out[-1] == "mine: read 1,000/1,000" and len(out) < 10


def test_progress_rejects_other_values() -> None:
    with pytest.raises(TypeError, match="progress must be"):
        reporter(3)  # type: ignore[arg-type]


def test_thread_defaults_use_the_machines_cores(monkeypatch: pytest.MonkeyPatch) -> None:
    assert ap.LGBMPreferenceModel().get_params()["n_jobs"] == -1  # resolved when fitting
    monkeypatch.delenv("ARENAPREF_THREADS", raising=False)
    assert default_threads() == len(os.sched_getaffinity(0))
    monkeypatch.setenv("ARENAPREF_THREADS", "3")
    assert default_threads() == 3
    monkeypatch.setenv("ARENAPREF_THREADS", "many")
    with pytest.raises(ArenaprefError, match="ARENAPREF_THREADS must be a whole number"):
        default_threads()


def test_topics_fit_threads_default_is_every_core() -> None:
    from typer.main import get_command

    from arenapref.cli.app import app

    fit = get_command(app).commands["topics"].commands["fit"]  # type: ignore[attr-defined]
    threads = next(p for p in fit.params if p.name == "threads")
    assert threads.default == 0 and "every core" in threads.help
