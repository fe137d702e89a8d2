"""Helpers shared by command modules: options, source opening, and end-of-run reject reports."""

from __future__ import annotations

import json
import re
import sys
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Any

import typer
from pydantic import BaseModel
from rich.console import Console
from typer._click import Context
from typer._click.globals import get_current_context

from arenapref.atomic import declare_inputs, refuse_input_as_output
from arenapref.errors import ArenaprefError
from arenapref.progress import ProgressFn, TextLines
from arenapref.readers import FORMATS, Source, open_source
from arenapref.readers.pairwise import ROLE_HELP, parse_mapping
from arenapref.rejects import RejectLog

console = Console(soft_wrap=True)

# Library errors name the parameter a caller passed, in backticks (`api_key_env`, `folds`=3), which is
# what a notebook user typed; the command line shows its own flag for it instead. Only these names are
# rewritten: a backticked word that is no parameter stays as it is.
PARAMETER_FLAGS: dict[str, str] = {
    "address": "--address",
    "api_key_env": "--api-key-env",
    "base": "--base",
    "base_url": "--base-url",
    "cache": "--cache",
    "dropped": "--dropped",
    "executor": "--executor",
    "folds": "--folds",
    "from_stage": "--from",
    "k": "--k",
    "model": "--model",
    "only": "--only",
    "out": "--out",
    "params": "-p",
    "text": "--text",
    "weight": "--weight",
    # The model stages' settings (model.settings) and arguments.
    "bins": "--bins",
    "clip": "--clip",
    "curve": "--extra-fractions",
    "embeddings": "--embeddings",
    "extra_weight": "--extra-weights",
    "group_column": "--group-column",
    "holdout": "--holdout",
    "holdout_frac": "--holdout-frac",
    "n_boot": "--boot",
    "repeats": "--repeats",
    "seeds": "--seeds",
    "split": "--split",
    "task": "--task",
    "ties": "--ties",
}
# `arenapref run` and `demo` take their settings from PIPELINE.toml, where a stage's parameter is the config
# key of the same name: only the runner's own options become flags there.
PIPELINE_FLAGS: dict[str, str] = {"from_stage": "--from", "only": "--only"}
_PARAMETER = re.compile(r"`([a-z_][a-z0-9_]*)`(=?)")


def default_of(model: type[BaseModel], name: str) -> Any:
    """A stage setting's default, read from its settings model: the value a command's option defaults to
    (and ``--help`` shows), so that the default is written once, in the stage package."""
    return model.model_fields[name].get_default(call_default_factory=True)


def option_of(setting: str, flags: Mapping[str, str] | None = None) -> str:
    """The option that sets a stage setting: ``flags``' spelling, else ``--`` and the name with dashes."""
    return (flags or {}).get(setting, "--" + setting.replace("_", "-"))


@contextmanager
def settings_options(
    flags: Mapping[str, str] | None = None, zero_is_none: tuple[str, ...] = ()
) -> Iterator[None]:
    """Inside the block, an impossible stage setting (``arenapref.settings.SettingsError``, which names
    the setting) is one sentence naming this command's option for it instead; ``zero_is_none``: settings
    whose option also takes 0 for "none" (no cap), which the sentence then says."""
    from arenapref.settings import SettingsError

    try:
        yield
    except SettingsError as exc:
        problem = (
            exc.problem.replace(", not", " (or 0: none), not", 1)
            if exc.field in zero_is_none
            else exc.problem
        )
        raise ArenaprefError(f"{option_of(exc.field, flags)} {problem}") from None


def flags_for_parameters(message: str, flags: Mapping[str, str] = PARAMETER_FLAGS) -> str:
    """``message`` with every backticked parameter in ``flags`` shown as its flag (`folds`=3 -> --folds 3)."""

    def swap(m: re.Match[str]) -> str:
        flag = flags.get(m.group(1))
        return m.group(0) if flag is None else flag + (" " if m.group(2) else "")

    return _PARAMETER.sub(swap, message)


err_console = Console(stderr=True, soft_wrap=True)

FormatOption = Annotated[
    str | None,
    typer.Option(
        "--format", "-f", help=f"Input format, detected from the path when omitted: {', '.join(FORMATS)}."
    ),
]
MappingOption = Annotated[
    str | None,
    typer.Option(
        "--map",
        help=(
            "Column mapping for pairwise files, ROLE=COLUMN pairs, e.g. "
            "prompt=instruction,a=output_1,b=output_2,label=preference. Roles: "
            + "; ".join(f"{role}: {text}" for role, text in ROLE_HELP.items())
            + "."
        ),
    ),
]
SplitOption = Annotated[
    str | None,
    typer.Option(
        "--split",
        help=(
            "Read this split of a folder with split files (Hugging Face data/train-*.parquet, "
            "data/test-*.parquet, train/ ...); without it, labeled and unlabeled splits together are an "
            "error."
        ),
    ),
]
ProtectFormatOption = Annotated[
    str | None,
    typer.Option(
        "--protect-format", help="Layout of the --protect sources (as --format), detected when omitted."
    ),
]
ExcludeFormatOption = Annotated[
    str | None,
    typer.Option(
        "--exclude-format", help="Layout of the --exclude sources (as --format), detected when omitted."
    ),
]
RejectsOption = Annotated[
    Path | None,
    typer.Option(
        "--rejects", help="Write rows that could not be read (file, row, reason) to this JSONL file."
    ),
]


EncodingOption = Annotated[
    str | None,
    typer.Option(
        "--encoding",
        help="Text encoding of CSV inputs (default UTF-8, with or without BOM); e.g. cp1252 for Excel.",
    ),
]


def open_input(
    path: Path,
    fmt: str | None = None,
    mapping: str | None = None,
    encoding: str | None = None,
    split: str | None = None,
) -> Source:
    """Open one input for a command, parsing the --map option."""
    return open_source(
        path, fmt, mapping=parse_mapping(mapping) if mapping else None, encoding=encoding, split=split
    )


def protected_inputs(paths: list[Path], fmt: str | None) -> list[Path | Source]:
    """--protect/--exclude sources: the paths as given (layout detected), or opened in the layout named."""
    return list(paths) if fmt is None else [open_input(p, fmt) for p in paths]


def report_rejects(
    log: RejectLog, label: str | Path, rejects_path: Path | None = None, hint: bool = True
) -> None:
    """Print an input's reject/recovery summary and, on request, write the rejects out.

    Every command reports dropped input rows through here, so the wording is the same everywhere;
    ``hint`` says whether the command offers ``--rejects``.
    """
    if len(log) or log.recovered:
        err_console.print(f"{label}: {log.summary()}", highlight=False, markup=False)
    if rejects_path is not None:
        log.write(rejects_path)
        err_console.print(f"rejects written to {rejects_path}", highlight=False, markup=False)
    elif len(log) and hint:
        err_console.print("  (pass --rejects FILE to write them out)", highlight=False, markup=False)


JsonOption = Annotated[
    bool,
    typer.Option(
        "--json", help="Print one JSON summary object on stdout and nothing else there (text goes to stderr)."
    ),
]
QuietOption = Annotated[bool, typer.Option("--quiet", "-q", help="No progress bars or progress lines.")]
OutOption = Annotated[Path, typer.Option("--out", "-o", help="The command's main output.")]


def emit_json(summary: Mapping[str, Any]) -> None:
    """Print the command's one JSON summary object on stdout (for ``--json``); paths become strings."""
    sys.stdout.write(json.dumps(summary, default=str, ensure_ascii=False) + "\n")
    sys.stdout.flush()


def say(text: str) -> None:
    """Human-readable result text: stderr, so stdout stays clean for ``--json`` and pipes."""
    err_console.print(text, highlight=False, markup=False)


# The parameters, in any command, that name a file or folder the command writes (or rewrites, like a
# cache). Every other path parameter is an input. tests/test_outputs.py enumerates every command and
# fails on a path parameter it does not know, so a new output option cannot miss the check.
OUTPUT_PARAMS = frozenset(
    {"out", "rejects", "rejects_path", "failures", "dropped", "chart", "plot", "cache", "regen_cache"}
)
# Output folders a command replaces as a whole (``atomic_dir``): they may not hold an input either.
WHOLE_FOLDER_OUTPUTS: Mapping[str, frozenset[str]] = {
    name: frozenset({"out"}) for name in ("train", "compare", "judge-eval", "topics fit", "synth")
}
# Folders a command writes into on purpose, so not inputs to protect: ``topics title`` saves the titles
# into the map it reads, ``report`` writes RUN_DIR/report.html, ``run`` fills the workspace it is given
# (its run-folder rules are the pipeline's own).
IN_PLACE_PARAMS: Mapping[str, frozenset[str]] = {
    "topics title": frozenset({"model_dir"}),
    "report": frozenset({"run_dir"}),
    "run": frozenset({"config"}),
}


def _paths(value: object) -> list[Path]:
    """The paths a parameter's value names: Path values, and text naming an existing file (``--judge``
    takes a shipped judge's name or a spec file). Text naming a folder is left out: a stage name such
    as ``--from mine`` can match a folder of the working directory."""
    if isinstance(value, (list, tuple)):
        return [p for v in value for p in _paths(v)]
    if isinstance(value, Path):
        return [value]
    if isinstance(value, str) and value and Path(value).is_file():
        return [Path(value)]
    return []


def _guard_outputs(ctx: Context) -> None:
    """Declare the command's inputs and refuse, before anything is read or written, an output over one.

    One rule for every command and every output option (``refuse_input_as_output``); two outputs on
    one path are refused too, since the second would replace the first.
    """
    names: list[str] = []
    node: Context | None = ctx
    while node is not None and node.parent is not None:  # the root's name is the program's, not ours
        names.insert(0, node.info_name or "")
        node = node.parent
    command = " ".join(names)
    in_place = IN_PLACE_PARAMS.get(command, frozenset())
    whole = WHOLE_FOLDER_OUTPUTS.get(command, frozenset())
    inputs: list[Path] = []
    outputs: list[tuple[str, Path, bool]] = []
    for param in ctx.command.params:
        name = param.name or ""
        for path in _paths(ctx.params.get(name)):
            if name in OUTPUT_PARAMS:
                outputs.append((param.opts[0] if param.opts else name, path, name in whole))
            elif name not in in_place:
                inputs.append(path)
    declare_inputs(inputs)
    ctx.call_on_close(lambda: declare_inputs(()))
    seen: dict[Path, str] = {}
    for flag, path, whole_folder in outputs:
        refuse_input_as_output(path, what=flag, whole_folder=whole_folder)
        other = seen.setdefault(path.resolve(), flag)
        if other != flag:
            raise ArenaprefError(f"{flag} {path} is also the {other} file; give each output its own path")


def start_command(json_out: bool = False, quiet: bool = False) -> None:
    """Call first in every command: with ``--json`` human text moves to stderr, so stdout holds one object.

    ``quiet`` is recorded for the stage's progress bars (see ``progress_enabled``). The command's
    output paths are checked against its inputs here, before it reads or writes anything.
    """
    console.file = sys.stderr if json_out else None  # type: ignore[assignment]
    global _QUIET
    _QUIET = quiet or (json_out and not sys.stderr.isatty())
    ctx = get_current_context(silent=True)
    if ctx is not None:
        _guard_outputs(ctx)


_QUIET = False


def progress_enabled() -> bool:
    """Whether the running command may draw progress bars (off with ``--quiet``)."""
    return not _QUIET


@contextmanager
def command_progress(prefix: str) -> Iterator[ProgressFn | None]:
    """The command line's progress, as a ``progress(stage, done, total)`` callable (``arenapref.progress``).

    A rich bar on a terminal; one plain line per step when stderr is a file or a pipe (a log reads
    ``ablate: trained 1/9`` then ``ablate: trained 2/9`` on lines of their own); None with ``--quiet``.
    """
    if not progress_enabled():
        yield None
        return
    if not err_console.is_terminal:
        lines = TextLines(prefix)
        yield lines
        lines.close()
        return
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    columns = (
        TextColumn(f"{prefix}: {{task.description}}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
    )
    with Progress(*columns, console=err_console, transient=True) as bar:
        tasks: dict[str, Any] = {}

        def tell(stage: str, done: int, total: int | None) -> None:
            if stage not in tasks:
                tasks[stage] = bar.add_task(stage, total=total)
            bar.update(tasks[stage], completed=done, total=total)

        yield tell
