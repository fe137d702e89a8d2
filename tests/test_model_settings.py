"""The model stages' settings are one definition (``arenapref.model.settings``) behind the command's options,
the pipeline's sections and the API's keywords; the model kinds are one registry (``arenapref.model.kinds``);
train, evaluate, predict and leaderboard read one split with ``--split``.
"""

from __future__ import annotations

import inspect
import json
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
import pytest
from typer.main import get_command

import arenapref.api as api
from arenapref.cli import app
from arenapref.cli.common import PARAMETER_FLAGS
from arenapref.cli.model_cmd import flag_of
from arenapref.errors import ArenaprefError
from arenapref.model.ablate import ablate as library_ablate
from arenapref.model.kinds import KINDS, LLMKind, folder_kind, load_teacher
from arenapref.model.settings import (
    AblateSettings,
    EvaluateSettings,
    LeaderboardSettings,
    PredictSettings,
    TrainSettings,
)
from arenapref.pipeline import run_pipeline
from arenapref.pipeline.config import PipelineConfig, parse_config
from arenapref.records import Battle, battles_table
from arenapref.settings import build
from arenapref.synth import SynthManifest, generate
from arenapref.writers import write_parquet
from cli_helpers import run_cli

FAST = {"n_estimators": 30, "learning_rate": 0.2, "num_leaves": 7, "min_child_samples": 10, "n_seeds": 1}

# Per command: its settings, the options that are *what* it runs on rather than *how* (inputs, outputs,
# the seed, reading, printing), and the pipeline section extending the settings with its pipeline-only keys.
STAGES: dict[str, tuple[type[Any], set[str], str | None, set[str]]] = {
    "train": (
        TrainSettings,
        {"--out", "--weight", "--seed", "--format", "--split", "--rejects", "--json", "--quiet"},
        "train",
        {"enabled", "extra", "extra_weight"},
    ),
    "evaluate": (
        EvaluateSettings,
        {"--truth", "--out", "--format", "--split", "--rejects", "--json", "--quiet"},
        "evaluate",
        {"enabled", "data", "data_format"},
    ),
    "predict": (
        PredictSettings,
        {"--out", "--format", "--split", "--rejects", "--json", "--quiet", "--executor", "--address"},
        "predict",
        {"enabled"},
    ),
    "ablate": (
        AblateSettings,
        {"--base", "--extra", "--holdout", "--topics", "--seed", "--task", "--ties", "--out", "--plot"}
        | {"--format", "--split", "--rejects", "--json", "--quiet"},
        "ablate",
        {"enabled"},
    ),
    "leaderboard": (
        LeaderboardSettings,
        {"--human", "--top", "--seed", "--out", "--format", "--split", "--rejects", "--json", "--quiet"},
        None,
        set(),
    ),
}


def _options(command: str) -> dict[str, object]:
    cmd = get_command(app).commands[command]  # type: ignore[attr-defined]
    return {p.opts[0]: p.default for p in cmd.params if p.opts[0].startswith("--")}


def _default(cls: type[Any], name: str) -> object:
    f = cls.model_fields[name]
    return f.default_factory() if f.default_factory is not None else f.default


@pytest.mark.parametrize("command", list(STAGES))
def test_command_options_are_the_settings_fields_with_their_defaults(command: str) -> None:
    cls, run_options, _, _ = STAGES[command]
    options = _options(command)
    flags = {flag_of(name): name for name in cls.model_fields}
    assert set(options) - run_options == set(flags), command
    for flag, name in flags.items():
        # An option left out is the settings' default: None (then the settings fill it) or the same value.
        assert options[flag] in (None, _default(cls, name)), (command, flag, options[flag])
        # A library error naming the setting is shown with this flag on the command line.
        assert PARAMETER_FLAGS.get(name) == ("-p" if name == "params" else flag), name


@pytest.mark.parametrize("command", [c for c, s in STAGES.items() if s[2]])
def test_pipeline_section_is_the_settings_plus_pipeline_keys(command: str) -> None:
    cls, _, section, own = STAGES[command]
    assert section is not None
    annotation = PipelineConfig.model_fields[section].annotation
    assert isinstance(annotation, type) and issubclass(annotation, cls)
    assert set(annotation.model_fields) - set(cls.model_fields) == own
    for name in cls.model_fields:  # the same defaults: the section does not redefine a setting
        assert _default(annotation, name) == _default(cls, name), (section, name)


def test_api_and_library_functions_define_no_second_default() -> None:
    """The API takes the settings' fields as keywords (``**fields``) and never spells one out itself."""
    for fn, cls in (
        (api.train, TrainSettings),
        (api.evaluate, EvaluateSettings),
        (api.predict, PredictSettings),
        (api.ablate, AblateSettings),
        (api.leaderboard, LeaderboardSettings),
        (library_ablate, AblateSettings),
    ):
        params = inspect.signature(fn).parameters
        assert not set(params) & set(cls.model_fields), fn.__name__
        assert any(p.kind is inspect.Parameter.VAR_KEYWORD for p in params.values()), fn.__name__
        assert "settings" in params


def test_library_functions_take_their_defaults_from_the_settings() -> None:
    from arenapref.model.evaluate import evaluate_model
    from arenapref.model.leaderboard import ratings
    from arenapref.model.predict import predict_submission

    for fn, name, cls, field in (
        (predict_submission, "clip", PredictSettings, "clip"),
        (evaluate_model, "bins", EvaluateSettings, "bins"),
        (ratings, "n_boot", LeaderboardSettings, "n_boot"),
    ):
        assert inspect.signature(fn).parameters[name].default == _default(cls, field), fn.__name__


def test_one_repeats_default_and_errors_name_the_setting() -> None:
    assert AblateSettings().repeats == _options("ablate")["--repeats"] == parse_config({}).ablate.repeats
    with pytest.raises(ArenaprefError, match=r"^`folds`=1: cross-validation needs at least 2 folds$"):
        build(TrainSettings, folds=1)
    with pytest.raises(ArenaprefError, match=r"^`repeats` must be ≥ 1, not 0$"):
        build(AblateSettings, repeats=0)
    with pytest.raises(ArenaprefError, match=r"`model`=llm: ablate trains each arm several times"):
        build(AblateSettings, model="llm")
    with pytest.raises(ArenaprefError, match=r"^`model`=llm needs `base`"):
        api.train("unused.csv", "m", model="llm")
    # The pipeline checks the same settings when the file is read, naming the key's path.
    with pytest.raises(ArenaprefError, match=r"train: `model`=llm needs `base`"):
        parse_config({"train": {"model": "llm"}})
    with pytest.raises(ArenaprefError, match=r"train: `folds`=1"):
        parse_config({"train": {"folds": 1}})
    # An older pipeline file's single extra weight still reads.
    assert parse_config({"ablate": {"extra_weight": 0.5}}).ablate.extra_weight == [0.5]


def test_command_line_names_its_flags(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    code, _, err = run_cli(["train", str(tmp_path), "-o", str(tmp_path / "m"), "--folds", "1"], capsys)
    assert code == 1 and "--folds 1: cross-validation needs at least 2 folds" in err
    code, _, err = run_cli(["train", str(tmp_path), "-o", str(tmp_path / "m"), "--model", "llm"], capsys)
    assert code == 1 and "--model llm needs --base" in err
    argv = ["ablate", "--base", str(tmp_path), "--extra", str(tmp_path), "--repeats", "0"]
    code, _, err = run_cli(argv, capsys)
    assert code == 1 and "--repeats must be ≥ 1, not 0" in err


def test_one_list_of_model_kinds(capsys: pytest.CaptureFixture[str]) -> None:
    assert list(KINDS) == ["lgbm", "length", "prior", "llm"]
    code, out, _ = run_cli(["train", "--help"], capsys)
    assert code == 0
    flat = " ".join(out.split())
    assert all(f"{name}:" in flat for name in KINDS)


@pytest.fixture(scope="module")
def synth(tmp_path_factory: pytest.TempPathFactory) -> SynthManifest:
    return generate(tmp_path_factory.mktemp("synth"), conversations=300, battles=240, seed=5)


def test_pipeline_and_command_line_train_the_same_model(
    synth: SynthManifest, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    ws = tmp_path / "ws"
    ws.mkdir()
    off = "\n".join(
        f"[{s}]\nenabled = false" for s in ("profile", "compare", "topics", "mine", "label", "ablate")
    )
    params = ", ".join(f"{k} = {v}" for k, v in FAST.items())
    (ws / "PIPELINE.toml").write_text(
        f'[sources]\ntrain = "{synth.train_csv}"\ntest = "{synth.test_csv}"\n{off}\n'
        f'[train]\nmodel = "lgbm"\nfolds = 3\nparams = {{{params}}}\n[predict]\nclip = 0.01\n',
        encoding="utf-8",
    )
    run_pipeline(ws, progress=False)
    run = ws / "run"
    argv = ["train", str(synth.train_csv), "-o", str(tmp_path / "m"), "--folds", "3", "-q"]
    code, _, err = run_cli([*argv, *(a for k, v in FAST.items() for a in ("-p", f"{k}={v}"))], capsys)
    assert code == 0, err
    assert pq.read_table(tmp_path / "m" / "oof.parquet").equals(
        pq.read_table(run / "train/model/oof.parquet")
    )
    argv = [
        "predict",
        str(tmp_path / "m"),
        str(synth.test_csv),
        "-o",
        str(tmp_path / "s.csv"),
        "--clip",
        "0.01",
    ]
    code, _, err = run_cli(argv, capsys)
    assert code == 0, err
    assert (tmp_path / "s.csv").read_bytes() == (run / "predict" / "submission.csv").read_bytes()
    manifest = json.loads((run / "train" / "manifest.json").read_text())
    assert manifest["settings"]["folds"] == 3 and manifest["settings"]["seeds"] == 3


def _split_folder(root: Path, synth: SynthManifest) -> tuple[Path, int]:
    """A Hugging Face style folder: 100 labeled battles in data/train-*.parquet, the rest unlabeled in
    data/test-*.parquet; and how many those are."""
    from arenapref.readers import read_battles

    table = read_battles(synth.train_csv)
    (root / "data").mkdir(parents=True)
    write_parquet(table.slice(0, 100), root / "data" / "train-00000-of-00001.parquet")
    test = table.slice(100).drop_columns(["p_a", "p_b", "p_tie"])
    write_parquet(test, root / "data" / "test-00000-of-00001.parquet")
    return root, test.num_rows


def test_split_picks_one_split_for_train_evaluate_predict_and_leaderboard(
    synth: SynthManifest, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    hub, n_test = _split_folder(tmp_path / "hub", synth)
    model = tmp_path / "m"
    fast = [a for k, v in FAST.items() for a in ("-p", f"{k}={v}")]
    code, _, err = run_cli(["train", str(hub), "-o", str(model), "--folds", "2", *fast], capsys)
    assert code == 1 and "train (labeled)" in err and "--split" in err  # never merged silently
    code, out, err = run_cli(
        ["train", str(hub), "-o", str(model), "--folds", "2", "--split", "train", "--json", *fast], capsys
    )
    assert code == 0, err
    assert json.loads(out)["n_rows"] == 100
    code, out, err = run_cli(["evaluate", str(model), str(hub), "--split", "train", "--json"], capsys)
    assert code == 0, err
    code, out, err = run_cli(
        ["predict", str(model), str(hub), "--split", "test", "-o", str(tmp_path / "s.csv"), "--json"], capsys
    )
    assert code == 0, err
    assert json.loads(out)["rows"] == n_test > 0
    code, out, err = run_cli(["leaderboard", str(hub), "--split", "train", "--boot", "0", "--json"], capsys)
    assert code == 0, err
    assert sum(r["pairs"] for r in json.loads(out)["ratings"]) == 2 * 100
    # The API takes the same split.
    assert api.leaderboard(hub, split="train", n_boot=0).n_boot == 0
    with pytest.raises(ArenaprefError, match="no split 'dev'"):
        api.evaluate(model, hub, split="dev")


def test_folders_are_loaded_by_the_kind_their_metadata_names(synth: SynthManifest, tmp_path: Path) -> None:
    api.train(synth.train_csv, tmp_path / "len", model="length", folds=2)
    assert folder_kind(tmp_path / "len").name == "length"
    api.train(synth.train_csv, tmp_path / "lgbm", folds=2, params=FAST)
    assert folder_kind(tmp_path / "lgbm").name == "lgbm"
    llm = tmp_path / "llm"
    llm.mkdir()
    (llm / "llm_config.json").write_text("{}", encoding="utf-8")
    kind = folder_kind(llm)
    assert isinstance(kind, LLMKind)
    assert load_teacher(llm).swap_average is False  # type: ignore[attr-defined]
    with pytest.raises(ArenaprefError, match="not a model directory"):
        folder_kind(tmp_path).load(tmp_path)


def _battles(n: int) -> list[Battle]:
    words = ["alpha", "beta", "gamma", "delta", "omega", "sigma"]
    out = []
    for i in range(n):
        la, lb = 1 + i % 5, 1 + (i * 3) % 5
        label = (1.0, 0.0, 0.0) if la > lb else (0.0, 1.0, 0.0) if lb > la else (0.0, 0.0, 1.0)
        text = " ".join(words[(i + k) % 6] for k in range(4))
        out.append(Battle(f"b{i}", [text], [" ".join(words[:la])], [" ".join(words[:lb])], "m1", "m2", label))
    return out


def test_pipeline_trains_an_llm_as_the_command_line_does(tmp_path: Path) -> None:
    """``[train] model = "llm"`` runs in the pipeline (it used to pass validation, then fail)."""
    torch = pytest.importorskip("torch")
    pytest.importorskip("peft")
    from arenapref.model.llm.tiny import make_tiny_base
    from arenapref.writers import write_competition_csv

    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # eight jobs share two cores here
    try:
        ws = tmp_path / "ws"
        table = battles_table(_battles(16))
        write_competition_csv(table, ws / "train.csv")
        write_competition_csv(table.slice(0, 6), ws / "test.csv", labels=False)
        make_tiny_base(ws / "base", ["alpha beta gamma delta omega sigma"], family="llama")
        off = "\n".join(
            f"[{s}]\nenabled = false" for s in ("profile", "compare", "topics", "mine", "label", "ablate")
        )
        llm = "max_length = 64, epochs = 1, batch_size = 4, grad_accum = 1, gradient_checkpointing = false"
        (ws / "PIPELINE.toml").write_text(
            f'[sources]\ntrain = "train.csv"\ntest = "test.csv"\n{off}\n'
            f'[train]\nmodel = "llm"\nbase = "base"\nfolds = 2\nparams = {{{llm}}}\n',
            encoding="utf-8",
        )
        summary = run_pipeline(ws, progress=False)
        assert [summary.status_of(s).status for s in ("train", "evaluate", "predict")] == ["ran"] * 3
        run = ws / "run"
        assert (run / "train" / "model" / "llm_config.json").is_file()
        assert folder_kind(run / "train" / "model").name == "llm"
        assert pq.read_table(run / "train" / "model" / "oof.parquet").num_rows == 16
        assert len((run / "predict" / "submission.csv").read_text().splitlines()) == 7
        manifest = json.loads((run / "train" / "manifest.json").read_text())
        assert manifest["counts"]["n_validation"] == 16
    finally:
        torch.set_num_threads(threads)
