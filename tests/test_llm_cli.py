"""The command line a GPU user runs, end to end on CPU with a tiny random Llama built here.

train.csv -> ``train --model llm`` -> ``predict`` (a checked submission) and ``label --teacher`` on
mined pairs.
"""

from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq
import pytest

from arenapref.records import Battle, Conversation, Turn, battles_table, conversations_table
from arenapref.writers import write_competition_csv, write_parquet
from cli_helpers import run_cli

torch = pytest.importorskip("torch")
pytest.importorskip("peft")

WORDS = ["alpha", "beta", "gamma", "delta", "omega", "sigma"]


def _text(rng: np.random.Generator, n: int) -> str:
    return " ".join(rng.choice(WORDS, n))


def test_train_predict_and_teacher_label_from_the_command_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from arenapref.mine import mine_pairs
    from arenapref.model.llm import predict_llm
    from arenapref.model.llm.tiny import make_tiny_base

    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # eight jobs share two cores here
    try:
        rng = np.random.default_rng(0)
        rows = []
        for i in range(16):
            la, lb = int(rng.integers(1, 9)), int(rng.integers(1, 9))
            label = (1.0, 0.0, 0.0) if la > lb else (0.0, 1.0, 0.0) if lb > la else (0.0, 0.0, 1.0)
            rows.append(
                Battle(f"{i}", [_text(rng, 4)], [_text(rng, la)], [_text(rng, lb)], "m1", "m2", label)
            )
        table = battles_table(rows)
        train_csv = write_competition_csv(table, tmp_path / "train.csv")
        test_csv = write_competition_csv(table.slice(0, 6), tmp_path / "test.csv", labels=False)
        base = make_tiny_base(tmp_path / "base", [" ".join(WORDS)], family="llama")
        model = tmp_path / "llm-model"
        settings = [
            "max_length=64",
            "epochs=1",
            "batch_size=4",
            "grad_accum=1",
            "gradient_checkpointing=false",
        ]
        argv = [
            "train",
            str(train_csv),
            "--out",
            str(model),
            "--model",
            "llm",
            "--base",
            str(base),
            "--folds",
            "2",
        ]
        code, out, err = run_cli([*argv, *(a for s in settings for a in ("-p", s)), "--json", "-q"], capsys)
        assert code == 0, err
        summary = json.loads(out)
        assert summary["model"] == "llm" and summary["n_validation"] == 16
        assert pq.read_table(model / "oof.parquet").column_names == ["id", "p_a", "p_b", "p_tie", "fold"]

        code, out, err = run_cli(
            ["predict", str(model), str(test_csv), "--out", str(tmp_path / "sub.csv")], capsys
        )
        assert code == 0, err
        with (tmp_path / "sub.csv").open() as fh:
            sub = list(csv.reader(fh))
        assert sub[0] == ["id", "winner_model_a", "winner_model_b", "winner_tie"] and len(sub) == 7

        convs = [
            Conversation(f"{k}-{m}", m, [Turn("user", f"question {k}"), Turn("assistant", _text(rng, 3 + k))])
            for k in range(5)
            for m in ("model-x", "model-y")
        ]
        pairs = mine_pairs([conversations_table(convs)]).pairs
        pairs_path = write_parquet(pairs, tmp_path / "pairs.parquet")
        labeled_path = tmp_path / "labeled.parquet"
        code, out, err = run_cli(
            ["label", str(pairs_path), "--teacher", str(model), "--out", str(labeled_path), "-q"], capsys
        )
        assert code == 0, err
        labeled = pq.read_table(labeled_path)
        p = np.column_stack([labeled.column(c).to_numpy() for c in ("p_a", "p_b", "p_tie")])
        np.testing.assert_allclose(p, predict_llm(model, pairs), atol=1e-5)

        # The recipe's settings from the command line: a student distilled from two teachers given as
        # files (predictions on the training rows, and the 6-row submission), kept-apart fold adapters.
        train_pred = tmp_path / "train-pred.csv"
        code, out, err = run_cli(["predict", str(model), str(train_csv), "--out", str(train_pred)], capsys)
        assert code == 0, err
        student = tmp_path / "student"
        recipe = [
            *settings,
            f"teachers={train_pred},{tmp_path / 'sub.csv'}",
            "kl_weight=0.5",
            "cos_weight=2",
            "truncation=per_part",
            "fold_average=predictions",
        ]
        student_argv = [*argv[:3], str(student), *argv[4:]]
        code, out, err = run_cli(
            [*student_argv, *(a for s in recipe for a in ("-p", s)), "--json", "-q"], capsys
        )
        assert code == 0, err
        assert [t["rows"] for t in json.loads(out)["teachers"]] == [16, 6]
        cfg = json.loads((student / "llm_config.json").read_text())
        assert cfg["adapters"] == ["adapters/0", "adapters/1"]
        assert (cfg["params"]["kl_weight"], cfg["params"]["truncation"]) == (0.5, "per_part")

        code, out, err = run_cli([*argv, "-p", "lora_r=zero"], capsys)
        assert code == 1 and "lora_r=zero: expected a whole number" in err
    finally:
        torch.set_num_threads(threads)
