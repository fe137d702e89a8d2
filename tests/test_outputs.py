"""No command writes over its own input: every command, every output option, every way to spell a path.

The commands and their options are read from the Typer app itself, so a new command or a new path
option fails here until it is classified (an output in ``OUTPUT_PARAMS``, or an input listed below)
and, for a command with inputs, given an invocation in ``INVOCATIONS``.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterator
from pathlib import Path

import pytest
import typer
from typer._click import Command

from arenapref.atomic import atomic_dir, declare_inputs, write_text
from arenapref.cli import app
from arenapref.cli.common import IN_PLACE_PARAMS, OUTPUT_PARAMS, WHOLE_FOLDER_OUTPUTS
from arenapref.errors import ArenaprefError
from cli_helpers import run_cli

# Every path parameter that a command only reads. A new one must be added here (or to OUTPUT_PARAMS).
INPUT_PARAMS = {
    "left", "right", "candidates", "protect", "file", "source", "sources", "pairs", "calibration",
    "labeled", "human", "exclude", "teacher", "topics", "data", "base", "model_dir", "truth", "test",
    "submission", "extra", "holdout", "paths", "run_dir", "config", "where", "files",
}  # fmt: skip

# A minimal valid command line per command with inputs: {a} a battles CSV, {b} a second one, {m} a
# folder (a model or topic map), {new} an empty folder for outputs. Output options not shown are added.
INVOCATIONS: dict[str, list[str]] = {
    "compare": ["compare", "{a}", "{b}", "-o", "{new}/cmp"],
    "decontaminate": ["decontaminate", "{a}", "--protect", "{b}", "-o", "{new}/kept.parquet"],
    "check-leakage": ["check-leakage", "{a}", "--protect", "{b}"],
    "convert": ["convert", "{a}", "-o", "{new}/c.parquet"],
    "label": ["label", "{a}", "-o", "{new}/l.parquet", "--teacher", "{m}", "--calibration", "{b}"],
    "judge-eval": ["judge-eval", "{a}", "-o", "{new}/je"],
    "leaderboard": ["leaderboard", "{a}", "--human", "{b}"],
    "mine": ["mine", "{a}", "{m}", "-o", "{new}/p.parquet", "--exclude", "{b}"],
    "train": ["train", "{a}", "{b}", "-o", "{new}/model"],
    "evaluate": ["evaluate", "{m}", "{a}", "--truth", "{b}"],
    "predict": ["predict", "{m}", "{a}", "-o", "{new}/sub.csv"],
    "check-submission": ["check-submission", "{a}", "{b}"],
    "ablate": ["ablate", "--base", "{a}", "--extra", "{b}", "--holdout-frac", "0.2", "--topics", "{m}"],
    "profile": ["profile", "{a}", "{b}"],
    "topics fit": ["topics", "fit", "{a}", "-o", "{new}/tm"],
    "topics show": ["topics", "show", "{m}"],
    "topics probe": ["topics", "probe", "{m}", "{a}", "{b}"],
    "topics assign": ["topics", "assign", "{m}", "{a}", "-o", "{new}/assigned.parquet"],
    "runs diff": ["runs", "diff", "last", "last", "-w", "{m}"],
    "init": ["init", "{a}", "-o", "{new}/PIPELINE.toml"],  # reads a run history; writes nothing
}
# Values for output options a template does not set; suffixes the commands accept.
OUTPUT_NAMES = {"--chart": "chart.png", "--plot": "plot.png", "--dropped": "dropped.parquet"}

BATTLES = (
    "id,model_a,model_b,prompt,response_a,response_b,winner_model_a,winner_model_b,winner_tie\n"
    '1,m1,m2,"[""Hi there""]","[""Hello""]","[""Hey""]",1,0,0\n'
)


def _commands(cmd: Command, prefix: tuple[str, ...] = ()) -> Iterator[tuple[str, Command]]:
    if hasattr(cmd, "commands"):  # a group (typer vendors click; its Group is not exported)
        for name, sub in cmd.commands.items():  # type: ignore[attr-defined]
            yield from _commands(sub, (*prefix, name))
    else:
        yield " ".join(prefix), cmd


COMMANDS = dict(_commands(typer.main.get_command(app)))


def _path_params(cmd: Command) -> list[tuple[str, str]]:
    """(name, flag) of every parameter that takes a path."""
    return [
        (p.name or "", p.opts[0])
        for p in cmd.params
        if "Path" in str(p.type_descriptor.annotation)  # type: ignore[attr-defined]
    ]


def _output_cases() -> list[tuple[str, str]]:
    return [
        (name, flag)
        for name, cmd in COMMANDS.items()
        for pname, flag in _path_params(cmd)
        if pname in OUTPUT_PARAMS and name in INVOCATIONS
    ]


def test_every_path_parameter_is_classified_and_every_command_is_exercised() -> None:
    for name, cmd in COMMANDS.items():
        params = _path_params(cmd)
        unknown = [p for p, _ in params if p not in OUTPUT_PARAMS and p not in INPUT_PARAMS]
        assert not unknown, f"{name}: classify {unknown} as an input (INPUT_PARAMS) or OUTPUT_PARAMS"
        in_place = IN_PLACE_PARAMS.get(name, frozenset())
        protected = [p for p, _ in params if p in INPUT_PARAMS and p not in in_place]
        assert bool(protected) == (name in INVOCATIONS), f"{name}: add (or drop) its line in INVOCATIONS"
    assert set(INVOCATIONS) <= set(COMMANDS)
    assert set(WHOLE_FOLDER_OUTPUTS) <= set(COMMANDS) and set(IN_PLACE_PARAMS) <= set(COMMANDS)
    assert len(_output_cases()) >= 30  # every -o, --rejects, --failures, --chart, --plot, cache, ...


def _digest(path: Path) -> str:
    h = hashlib.sha256()
    files = sorted(p for p in path.rglob("*") if p.is_file()) if path.is_dir() else [path]
    for f in files:
        h.update(str(f.relative_to(path) if path.is_dir() else f.name).encode())
        h.update(f.read_bytes())
    return h.hexdigest()


@pytest.fixture
def workspace(tmp_path: Path) -> dict[str, Path]:
    (tmp_path / "a.csv").write_text(BATTLES, encoding="utf-8")
    (tmp_path / "b.csv").write_text(BATTLES.replace("Hi there", "Good day"), encoding="utf-8")
    (tmp_path / "m").mkdir()
    (tmp_path / "m" / "meta.json").write_text('{"kind": "model"}\n', encoding="utf-8")
    (tmp_path / "new").mkdir()
    return {"a": tmp_path / "a.csv", "b": tmp_path / "b.csv", "m": tmp_path / "m", "new": tmp_path / "new"}


def _set(argv: list[str], flag: str, value: str) -> list[str]:
    """ARGV with FLAG (or its short form) set to VALUE."""
    for f in (flag, {"--out": "-o"}.get(flag)):
        if f in argv:
            return [*argv[: argv.index(f) + 1], value, *argv[argv.index(f) + 2 :]]
    return [*argv, flag, value]


def _argv(command: str, flag: str, value: str, ws: dict[str, Path]) -> list[str]:
    return _set([a.format(**{k: str(v) for k, v in ws.items()}) for a in INVOCATIONS[command]], flag, value)


def _refused(argv: list[str], victim: Path, ws: dict[str, Path], capsys: pytest.CaptureFixture[str]) -> str:
    before = {k: _digest(p) for k, p in ws.items() if k != "new"}
    code, _, err = run_cli(argv, capsys)
    assert code == 1, (argv, code, err)
    assert err.startswith("error: ") and err.count("error") == 1 and "Traceback" not in err, err
    assert "is the input" in err and "choose another output path" in err, err
    assert {k: _digest(p) for k, p in ws.items() if k != "new"} == before, argv
    assert victim.exists() and not any(ws["new"].iterdir()), argv
    return err


@pytest.mark.parametrize(("command", "flag"), _output_cases())
def test_output_option_refuses_each_input(
    command: str, flag: str, workspace: dict[str, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    for key in ("a", "b", "m"):
        if "{" + key + "}" not in INVOCATIONS[command]:
            continue
        victim = workspace[key]
        err = _refused(_argv(command, flag, str(victim), workspace), victim, workspace, capsys)
        assert flag in err, err


@pytest.mark.parametrize(("command", "flag"), _output_cases())
def test_output_option_refuses_its_input_however_spelled(
    command: str,
    flag: str,
    workspace: dict[str, Path],
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    victim = next(workspace[k] for k in "abm" if "{" + k + "}" in INVOCATIONS[command])
    link = victim.parent / f"link-{victim.name}"
    link.symlink_to(victim)
    monkeypatch.chdir(victim.parent)
    for spelled in (f"./{victim.name}", victim.name, f"new/../{victim.name}", str(link), link.name):
        _refused(_argv(command, flag, spelled, workspace), victim, workspace, capsys)


@pytest.mark.parametrize("command", sorted(WHOLE_FOLDER_OUTPUTS))
def test_output_folder_replaced_as_a_whole_may_not_hold_an_input(
    command: str, workspace: dict[str, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    if command not in INVOCATIONS:  # e.g. synth: no inputs to protect
        return
    err = _refused(
        _argv(command, "--out", str(workspace["a"].parent), workspace), workspace["a"], workspace, capsys
    )
    assert "folder" in err


@pytest.mark.parametrize(
    ("command", "flag"),
    [(c, f) for c, f in _output_cases() if f != "--out" and ("out", "--out") in _path_params(COMMANDS[c])],
)
def test_two_outputs_on_one_path_are_refused(
    command: str, flag: str, workspace: dict[str, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    target = str(workspace["new"] / "same.parquet")
    argv = _set(_argv(command, "--out", target, workspace), flag, target)
    code, _, err = run_cli(argv, capsys)
    assert code == 1 and "give each output its own path" in err, (argv, err)
    assert not any(workspace["new"].iterdir())


def test_writes_deep_inside_a_command_are_checked_against_its_inputs(tmp_path: Path) -> None:
    """A funnel beside -o, a plot beside --out, a model folder: the atomic layer refuses them too."""
    src = tmp_path / "data" / "t.csv"
    src.parent.mkdir()
    src.write_text(BATTLES, encoding="utf-8")
    declare_inputs([src])
    try:
        with pytest.raises(ArenaprefError, match="is the input"):
            write_text(tmp_path / "data" / ".." / "data" / "t.csv", "over")
        with pytest.raises(ArenaprefError, match="folder"), atomic_dir(src.parent):
            pass
        os.symlink(src, tmp_path / "s.csv")
        with pytest.raises(ArenaprefError, match="is the input"):
            write_text(tmp_path / "s.csv", "over")
        write_text(tmp_path / "other.csv", "fine")  # anything else is written
    finally:
        declare_inputs(())
    assert src.read_text(encoding="utf-8") == BATTLES
    write_text(src, "now allowed: no command declared it")


def test_a_folder_written_on_purpose_is_not_protected(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """`report RUN_DIR` writes RUN_DIR/report.html, again on a rerun; the folder itself is still no file."""
    run_dir = tmp_path / "run"
    run_dir.mkdir()
    for _ in range(2):
        code, _, err = run_cli(["report", str(run_dir)], capsys)
        assert code == 0 and (run_dir / "report.html").is_file(), err
    code, _, err = run_cli(["report", str(run_dir), "-o", str(run_dir)], capsys)
    assert code == 1 and "a folder of that name exists" in err


def test_derived_outputs_are_checked_before_the_work(
    workspace: dict[str, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    """ablate's default plot (beside --out) and label's default failures file are checked up front."""
    a, b = workspace["a"], workspace["b"]
    png = a.with_suffix(".png")
    png.write_bytes(b"an input image")
    argv = [
        "ablate",
        "--base",
        str(a),
        "--extra",
        str(b),
        "--holdout",
        str(png),
        "-o",
        str(a.with_suffix(".json")),
    ]
    code, _, err = run_cli(argv, capsys)
    assert code == 1 and f"the plot beside --out {png} is the input" in err, err
    failures = workspace["new"] / "l.failures.jsonl"
    failures.write_text("{}\n", encoding="utf-8")
    argv = [
        "label",
        str(failures),
        "-o",
        str(workspace["new"] / "l.parquet"),
        "--teacher",
        str(workspace["m"]),
    ]
    code, _, err = run_cli(argv, capsys)
    assert code == 1 and f"the failures file {failures} is the input" in err, err
    assert png.read_bytes() == b"an input image" and failures.read_text(encoding="utf-8") == "{}\n"


def test_a_command_leaves_no_declared_inputs_behind(
    workspace: dict[str, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    """The declaration lives as long as the command: a notebook's later writes are not refused."""
    code, _, _ = run_cli(["convert", str(workspace["a"]), "-o", str(workspace["a"])], capsys)
    assert code == 1
    write_text(workspace["a"], BATTLES + "\n")


def test_text_options_naming_a_file_are_inputs_too(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """`--judge` takes a shipped judge's name or a spec file: the spec file is protected like any input."""
    pairs = tmp_path / "pairs.csv"
    pairs.write_text(BATTLES, encoding="utf-8")
    spec = tmp_path / "judge.toml"
    spec.write_text('model = "m"\n', encoding="utf-8")
    for flag in ("--failures", "--rejects", "--cache"):
        argv = ["label", str(pairs), "-o", str(tmp_path / "l.parquet"), "--judge", str(spec), flag, str(spec)]
        code, _, err = run_cli(argv, capsys)
        assert code == 1 and f"{flag} {spec} is the input {spec}" in err, err
        assert spec.read_text(encoding="utf-8") == 'model = "m"\n'
