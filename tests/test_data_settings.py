"""One settings model per data stage, owned by the stage package: the pipeline's config section *is* it (plus
``enabled``), the command's options and the Python API's keywords are its fields, with one default and one
range each, and a bad value is one sentence naming the setting (its flag on the command line, its key in
PIPELINE.toml). The pipeline and the command line give the same outputs for the same settings.
"""

from __future__ import annotations

import inspect
import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import annotated_types as at
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from pydantic import BaseModel
from typer.main import get_command

from arenapref import api
from arenapref.cli import app
from arenapref.cli.compare_cmd import FLAGS as COMPARE_FLAGS
from arenapref.cli.mine_cmd import REGEN_FLAGS, REGEN_ZERO_IS_NONE, ZERO_IS_NONE, languages_of
from arenapref.cli.topics_cmd import PROBE_FLAGS
from arenapref.compare.settings import CompareSettings, GuardSettings
from arenapref.errors import ArenaprefError
from arenapref.mine.settings import MineSettings, RegenerateSettings
from arenapref.pipeline import run_pipeline
from arenapref.pipeline.config import PipelineConfig, parse_config
from arenapref.profile.settings import ProfileSettings
from arenapref.settings import SettingsError
from arenapref.synth import generate
from arenapref.testing.layouts import records
from arenapref.topics.settings import TopicFitSettings, TopicProbeSettings
from cli_helpers import run_cli

# Options that name inputs, outputs, where the work runs or how it is reported: not stage settings.
NOT_SETTINGS = {
    "--out", "--format", "--format-left", "--format-right", "--map", "--encoding", "--split", "--rejects",
    "--json", "--quiet", "--executor", "--address", "--exclude", "--exclude-format", "--protect",
    "--protect-format", "--dropped", "--topics", "--chart", "--top", "--show", "--target",
}  # fmt: skip


def _regenerate(option: str) -> bool:
    """mine's regeneration options (``mine.settings.RegenerateSettings``, tested on their own below)."""
    return option in REGEN_FLAGS.values()


@dataclass(frozen=True)
class Stage:
    """A data stage: its settings model, its config section (None: no pipeline stage of its own), the
    commands and API functions that take it, and how a command spells a setting that is not ``--name``."""

    model: type[BaseModel]
    section: str | None
    commands: tuple[str, ...]
    functions: tuple[Callable[..., Any], ...]
    flags: dict[str, str] = field(default_factory=dict)
    zero_is_none: tuple[str, ...] = ()
    pipeline_only: tuple[str, ...] = ("enabled",)
    parsed: dict[str, Callable[[Any], Any]] = field(default_factory=dict)

    def flag(self, name: str) -> str:
        return self.flags.get(name, "--" + name.replace("_", "-"))

    def cli_value(self, name: str, value: Any) -> Any:
        """The setting an option's value stands for (a negated flag, 0 for "none")."""
        if self.flag(name).startswith("--no-"):  # the negated booleans (--no-near)
            return not value
        if name in self.parsed:
            return self.parsed[name](value)
        return (value or None) if name in self.zero_is_none else value


STAGES = {
    "mine": Stage(
        MineSettings, "mine", ("mine",), (api.mine,), zero_is_none=ZERO_IS_NONE,
        pipeline_only=("enabled", "exclude_train", "regenerate"), parsed={"languages": languages_of},
    ),
    "compare": Stage(CompareSettings, "compare", ("compare",), (api.compare,), COMPARE_FLAGS),
    "guard": Stage(
        GuardSettings, None, ("decontaminate", "check-leakage"), (api.decontaminate, api.check_leakage),
        COMPARE_FLAGS,
    ),
    "profile": Stage(ProfileSettings, "profile", ("profile",), (api.profile,)),
    # The pipeline's [topics] fits a map and probes the sources with it: both models in one section.
    "topics fit": Stage(
        TopicFitSettings, "topics", ("topics fit",), (api.fit_topics,),
        pipeline_only=("enabled", *TopicProbeSettings.model_fields),
    ),
    "topics probe": Stage(
        TopicProbeSettings, "topics", ("topics probe",), (api.probe,), PROBE_FLAGS,
        pipeline_only=("enabled", *TopicFitSettings.model_fields),
    ),
}  # fmt: skip


def _options(command: str) -> dict[str, Any]:
    cmd: Any = get_command(app)
    for word in command.split():
        cmd = cmd.commands[word]
    return {opt: p.default for p in cmd.params for opt in p.opts if opt.startswith("--")}


@pytest.mark.parametrize("name", STAGES)
def test_config_section_is_the_stage_settings(name: str) -> None:
    stage = STAGES[name]
    if stage.section is None:
        return
    section = PipelineConfig.model_fields[stage.section].annotation
    assert isinstance(section, type) and issubclass(section, stage.model)
    assert set(section.model_fields) == set(stage.model.model_fields) | set(stage.pipeline_only)
    for f, info in stage.model.model_fields.items():
        assert section.model_fields[f].default == info.default, f
    # The seed is the run's, one for every stage.
    with pytest.raises(ArenaprefError, match=f"{stage.section}: the seed is set once for every stage"):
        parse_config({stage.section: {"seed": 1}})


@pytest.mark.parametrize(("name", "command"), [(n, c) for n, s in STAGES.items() for c in s.commands])
def test_command_options_are_the_settings_with_their_defaults(name: str, command: str) -> None:
    stage = STAGES[name]
    options = _options(command)
    fields = stage.model.model_fields
    expected = {stage.flag(f) for f in fields}
    settings_options = {o for o in options if o not in NOT_SETTINGS and not _regenerate(o)}
    assert settings_options == expected, f"{command}: options {settings_options ^ expected} differ"
    for f, info in fields.items():
        assert stage.cli_value(f, options[stage.flag(f)]) == info.default, (command, f)


@pytest.mark.parametrize(
    ("name", "index"), [(n, i) for n, s in STAGES.items() for i in range(len(s.functions))]
)
def test_api_keywords_are_the_settings(name: str, index: int) -> None:
    stage = STAGES[name]
    fn = stage.functions[index]
    params = inspect.signature(fn).parameters
    # The settings come in as keywords (one default: the model's); no parameter shadows one of them.
    assert any(p.kind is inspect.Parameter.VAR_KEYWORD for p in params.values())
    assert not set(params) & set(stage.model.model_fields), fn.__name__
    with pytest.raises(SettingsError, match="`no_such_setting` unknown key"):
        fn(*_required_args(fn), no_such_setting=1)


def _required_args(fn: Callable[..., Any]) -> list[Any]:
    """Placeholders for a function's required positional arguments (never read: the settings fail first)."""
    params = inspect.signature(fn).parameters.values()
    return [object()] * sum(
        p.default is inspect.Parameter.empty and p.kind is p.POSITIONAL_OR_KEYWORD for p in params
    )


def _bad_values(model: type[BaseModel]) -> list[tuple[str, Any]]:
    """One out-of-range value per bounded setting (every bound here is 0 or 1)."""
    out: list[tuple[str, Any]] = []
    for name, info in model.model_fields.items():
        for bound in info.metadata:
            if isinstance(bound, at.Ge):
                out.append((name, -1))
            elif isinstance(bound, at.Gt):
                out.append((name, -0.5))
            elif isinstance(bound, (at.Lt, at.Le)):
                out.append((name, 1.5))
    return out


BOUNDED = [(n, f, v) for n, s in STAGES.items() for f, v in _bad_values(s.model)]


def _argv(command: str, tmp_path: Path) -> list[str]:
    """A command line that gets as far as checking its settings (nothing is read before that)."""
    src, out = str(tmp_path / "in.parquet"), str(tmp_path / "out.parquet")
    return {
        "mine": ["mine", src, "-o", out],
        "compare": ["compare", src, src, "-o", str(tmp_path / "cmp")],
        "decontaminate": ["decontaminate", src, "--protect", src, "-o", out],
        "check-leakage": ["check-leakage", src, "--protect", src],
        "topics fit": ["topics", "fit", src, "-o", str(tmp_path / "map")],
        "topics probe": ["topics", "probe", str(tmp_path / "map"), src],
    }[command]


@pytest.mark.parametrize(("name", "setting", "bad"), BOUNDED)
def test_a_bad_value_is_one_sentence_naming_the_setting_everywhere(
    name: str, setting: str, bad: Any, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    stage = STAGES[name]
    with pytest.raises(SettingsError) as caught:
        stage.functions[0]([], [], **{setting: bad})
    problem = caught.value.problem
    assert str(caught.value) == f"`{setting}` {problem}" and problem.endswith(f", not {bad!r}")
    # On the command line, an option whose 0 means "none" says so.
    shown = problem.replace(", not", " (or 0: none), not") if setting in stage.zero_is_none else problem
    for command in stage.commands:
        code, _, err = run_cli([*_argv(command, tmp_path), stage.flag(setting), str(bad)], capsys)
        assert (code, err) == (1, f"error: {stage.flag(setting)} {shown}"), command
    if stage.section is not None and setting != "seed":
        with pytest.raises(ArenaprefError) as piped:
            parse_config({stage.section: {setting: bad}})
        assert str(piped.value) == f"PIPELINE.toml: {stage.section}.{setting}: {problem.split(', not ')[0]}"


def _pipeline(ws: Path, mine: str, compare: str) -> Path:
    """A workspace whose pipeline runs compare and mine only, with these settings."""
    generate(ws / "synth", conversations=1500, battles=200, seed=1)
    off = "\n".join(f"[{s}]\nenabled = false" for s in ("profile", "topics", "label", "train", "evaluate"))
    off += "\n[ablate]\nenabled = false\n[predict]\nenabled = false"
    cfg = ws / "PIPELINE.toml"
    cfg.write_text(
        f"""[run]
seed = 3
[sources]
lmsys = ["synth/lmsys"]
train = "synth/competition/train.csv"
{off}
[mine]
{mine}
[compare]
{compare}
""",
        encoding="utf-8",
    )
    return cfg


def test_pipeline_and_command_line_give_the_same_pairs_and_matches(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    ws = tmp_path / "ws"
    mine = "near = true\nmax_uses = 2\nanswer_similarity = 0.5\nmax_pairs_per_model_pair = 40"
    cfg = _pipeline(ws, mine, 'turns = "first"\nsample = 3\nthreshold = 0.7')
    summary = run_pipeline(cfg, progress=False)
    assert summary.status_of("mine").status == "ran" and summary.status_of("compare").status == "ran"
    pairs = tmp_path / "pairs.parquet"
    argv = ["mine", str(ws / "synth" / "lmsys"), "-o", str(pairs), "--near", "--max-uses", "2"]
    argv += ["--answer-similarity", "0.5", "--max-pairs-per-model-pair", "40", "--seed", "3", "--quiet"]
    code, _, err = run_cli(argv, capsys)
    assert code == 0, err
    piped = pq.read_table(ws / "run" / "mine" / "pairs.parquet")
    assert piped.num_rows > 0 and pq.read_table(pairs).equals(piped)
    out = tmp_path / "cmp"
    train = ws / "synth" / "competition" / "train.csv"
    argv = ["compare", str(train), str(ws / "synth" / "lmsys"), "-o", str(out), "--turns", "first"]
    code, _, err = run_cli([*argv, "--sample", "3", "--threshold", "0.7", "--seed", "3", "--quiet"], capsys)
    assert code == 0, err
    assert pq.read_table(out / "matches.parquet").equals(
        pq.read_table(ws / "run" / "compare" / "matches.parquet")
    )


def test_split_picks_one_split_for_compare_topics_and_label(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data = tmp_path / "repo" / "data"
    data.mkdir(parents=True)
    train = pa.Table.from_pylist(records("arena-55k", 6))
    pq.write_table(train, data / "train-00000-of-00001.parquet")
    test = train.drop_columns(["winner_model_a", "winner_model_b", "winner_tie"]).slice(0, 2)
    pq.write_table(test, data / "test-00000-of-00001.parquet")
    repo = data.parent
    code, _, err = run_cli(["compare", str(repo), str(repo), "-o", str(tmp_path / "c"), "--quiet"], capsys)
    assert code == 1 and "choose one with --split NAME" in err
    for split, rows in (("train", 6), ("test", 2)):
        argv = ["compare", str(repo), str(repo), "-o", str(tmp_path / split), "--split", split, "--quiet"]
        code, _, err = run_cli(argv, capsys)
        assert code == 0, err
        assert json.loads((tmp_path / split / "report.json").read_text())["left"]["records"] == rows
        assert api.compare(repo, split=split).report["left"]["records"] == rows
    generate(tmp_path / "s", conversations=400, battles=10, seed=2)
    topic_map = api.fit_topics(tmp_path / "s" / "lmsys", k=3, embedder="tfidf", english_only=False)
    topic_map.save(tmp_path / "map")
    assert api.assign_topics(topic_map, repo, split="test").num_rows == 2
    out = tmp_path / "assigned.parquet"
    argv = ["topics", "assign", str(tmp_path / "map"), str(repo), "-o", str(out), "--split", "train", "-q"]
    code, _, err = run_cli(argv, capsys)
    assert code == 0 and pq.read_metadata(out).num_rows == 6, err
    code, _, err = run_cli(["label", str(repo), "-o", str(tmp_path / "l.parquet"), "--split", "nope"], capsys)
    assert code == 1 and "has no split 'nope'" in err


def test_every_data_command_and_function_takes_a_split() -> None:
    commands = ("profile", "compare", "mine", "decontaminate", "check-leakage", "label")
    for command in (*commands, "topics fit", "topics probe", "topics assign"):
        assert "--split" in _options(command), command
    functions = (api.profile, api.compare, api.mine, api.decontaminate, api.check_leakage, api.label)
    for fn in (*functions, api.fit_topics, api.probe, api.assign_topics):
        assert "split" in inspect.signature(fn).parameters, fn.__name__


def test_topic_fit_settings_and_the_fit_recipe_share_every_default() -> None:
    """The recipe saved with a map (``FitSettings``: the advanced fields too) and the command's settings
    are one model's fields: a default cannot differ between the API and the command line."""
    from arenapref.topics.settings import FitSettings, TopicMapSettings

    assert issubclass(FitSettings, TopicMapSettings) and issubclass(TopicFitSettings, TopicMapSettings)
    assert set(TopicFitSettings.model_fields) - set(FitSettings.model_fields) == {"threads"}
    for name, info in TopicMapSettings.model_fields.items():
        assert FitSettings.model_fields[name].default == info.default, name


def test_regeneration_options_and_the_pipeline_table_are_the_regenerate_settings() -> None:
    """``mine --regen-*`` and ``[mine.regenerate]`` are ``RegenerateSettings``: one set, one default each."""
    options = _options("mine")
    fields = RegenerateSettings.model_fields
    assert set(REGEN_FLAGS) == set(fields)
    for name, info in fields.items():
        shown = options[REGEN_FLAGS[name]]
        value = (shown or None) if name in REGEN_ZERO_IS_NONE else shown
        assert value == info.default, name
    section = PipelineConfig.model_fields["mine"].annotation
    assert isinstance(section, type)
    assert section.model_fields["regenerate"].annotation is RegenerateSettings
    assert PipelineConfig().mine.regenerate == RegenerateSettings()
    with pytest.raises(ArenaprefError) as piped:
        parse_config({"mine": {"regenerate": {"max_cost": -1}}})
    assert str(piped.value) == "PIPELINE.toml: mine.regenerate.max_cost: must be ≥ 0"


def test_a_bad_regeneration_value_names_its_option(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = _argv("mine", tmp_path)
    code, _, err = run_cli(
        [*argv, "--regenerate-model", "m", "--base-url", "x", "--regen-max-tokens", "0"], capsys
    )
    assert (code, err) == (1, "error: --regen-max-tokens must be ≥ 1, not 0")


def test_regeneration_without_an_endpoint_is_one_sentence_from_the_library(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The check lives in ``mine.regenerate.regeneration``; the command line shows its flag."""
    from arenapref.mine.regenerate import regeneration

    for var in ("ARENAPREF_BASE_URL", "OPENAI_BASE_URL"):
        monkeypatch.delenv(var, raising=False)
    with pytest.raises(ArenaprefError, match="regeneration needs `base_url`"):
        regeneration(RegenerateSettings(model="m"))
    code, _, err = run_cli([*_argv("mine", tmp_path), "--regenerate-model", "m"], capsys)
    assert code == 1 and err.startswith("error: regeneration needs --base-url (or ARENAPREF_BASE_URL"), err


def test_pipeline_and_command_line_regenerate_the_same_pairs(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from arenapref.testing.judge_server import ServerSettings, serve_in_thread

    with serve_in_thread(ServerSettings(seed=1)) as server:
        ws = tmp_path / "ws"
        regen = f'model = "regen"\nbase_url = "{server.base_url}"\napi_key_env = ""\nmax_prompts = 4'
        cfg = _pipeline(ws, f"max_uses = 2\n[mine.regenerate]\n{regen}", "")
        summary = run_pipeline(cfg, progress=False)
        assert summary.status_of("mine").status == "ran"
        cache = ws / "run" / "cache" / "regen.sqlite"
        sent = server.stats(summary=True)["total"]
        assert cache.is_file() and sent >= 4  # a turn each (multi-turn conversations ask more)
        # The server's answers differ from call to call: the command line, given the pipeline's cache,
        # must make the very same requests (every one found there, none sent) and write the same pairs.
        pairs = tmp_path / "pairs.parquet"
        argv = ["mine", str(ws / "synth" / "lmsys"), "-o", str(pairs), "--max-uses", "2", "--seed", "3"]
        argv += ["--regenerate-model", "regen", "--base-url", server.base_url, "--api-key-env", ""]
        argv += ["--regen-max-prompts", "4", "--regen-cache", str(cache), "--quiet"]
        code, _, err = run_cli(argv, capsys)
        assert code == 0, err
        assert server.stats(summary=True)["total"] == sent
    piped = pq.read_table(ws / "run" / "mine" / "pairs.parquet")
    regenerated = piped.filter(pa.compute.equal(piped.column("source"), "regenerated"))
    assert regenerated.num_rows == 4 and pq.read_table(pairs).equals(piped)


@pytest.mark.parametrize("name", [n for n in STAGES if n in ("mine", "compare", "guard", "profile")])
def test_data_functions_take_settings_or_fields_not_both(name: str) -> None:
    stage = STAGES[name]
    for fn in stage.functions:
        assert "settings" in inspect.signature(fn).parameters, fn.__name__
        field_name = next(iter(stage.model.model_fields))
        default = stage.model.model_fields[field_name].default
        with pytest.raises(
            ArenaprefError, match=f"give `settings` or its fields, not both \\(got {field_name}\\)"
        ):
            fn(*_required_args(fn), settings=stage.model(), **{field_name: default})


def test_a_compare_side_may_be_several_sources_with_their_rejects(tmp_path: Path) -> None:
    """The pipeline's compare stage reads train and test as one side through ``ap.compare``: a side is a
    list of paths or opened sources, read in order, and every source's reject log comes back."""
    from arenapref.readers import open_source

    generate(tmp_path / "s", conversations=400, battles=60, seed=2, malformed_share=0.05)
    comp, lmsys = tmp_path / "s" / "competition", tmp_path / "s" / "lmsys"
    sides = [comp / "train.csv", open_source(comp / "test.csv")]
    both = api.compare(sides, lmsys, left_name="train+test", progress=False)
    alone = [api.compare(p, lmsys, progress=False) for p in (comp / "train.csv", comp / "test.csv")]
    left = both.report["left"]
    assert left["name"] == "train+test" and left["path"] == [
        str(p) for p in (comp / "train.csv", comp / "test.csv")
    ]
    assert left["records"] == sum(r.report["left"]["records"] for r in alone)
    assert left["rejected_rows"] == sum(r.report["left"]["rejected_rows"] for r in alone) > 0
    assert (
        len(both.sources) == 3
        and both.report["right"]["rejected_rows"] == alone[0].report["right"]["rejected_rows"]
    )
    assert both.report["left_in_right"]["matched"] == sum(r.report["left_in_right"]["matched"] for r in alone)


def test_a_list_side_alone_is_searched_for_duplicates_within_it(tmp_path: Path) -> None:
    """``compare([a, b])`` with no right side is one prompt set searched for duplicates, as ``compare(a)``
    is, not the set against a second copy of itself (which matched every record)."""
    generate(tmp_path / "s", conversations=0, battles=60, seed=2)
    train = tmp_path / "s" / "competition" / "train.csv"
    alone = api.compare(train, progress=False).report
    twice = api.compare([train, train], progress=False).report
    assert alone["same_source"] and twice["same_source"]
    assert alone["right"]["within"]["duplicate_records"] == 0
    records = alone["left"]["records"]
    within = twice["right"]["within"]
    assert (within["records"], within["duplicate_records"], within["clusters_with_duplicates"]) == (
        2 * records,
        2 * records,
        records,
    )


def test_embedder_names_are_the_registry_and_an_unknown_one_is_one_sentence(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The light list the settings and the command line validate with is the embedders' registry."""
    from arenapref.topics.embedders import AUTO, EMBEDDERS
    from arenapref.topics.settings import EMBEDDER_NAMES

    assert set(EMBEDDER_NAMES) == {AUTO, *EMBEDDERS}
    expected = "unknown embedder 'nope'; expected one of " + ", ".join(EMBEDDER_NAMES)
    with pytest.raises(ArenaprefError, match=re.escape(expected)):
        api.fit_topics(tmp_path / "absent.parquet", embedder="nope")
    code, _, err = run_cli(
        ["topics", "fit", str(tmp_path), "-o", str(tmp_path / "m"), "--embedder", "nope"], capsys
    )
    assert (code, err) == (1, f"error: --embedder {expected}")
