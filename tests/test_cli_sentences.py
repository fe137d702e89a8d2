"""One sentence, never a traceback or a silent oddity (issue 22, section 5): each case run as a user would."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest

from arenapref.cli import main
from arenapref.errors import ArenaprefError
from arenapref.markdown import md_fence, md_text
from arenapref.mine import MineSettings, mine_pairs
from arenapref.pipeline.config import parse_config
from arenapref.records import Conversation, Turn, conversations_table
from arenapref.writers import write_parquet
from cli_helpers import run_cli

HEADER = ["id", "model_a", "model_b", "prompt", "response_a", "response_b"]
LABELS = ["winner_model_a", "winner_model_b", "winner_tie"]
SCRIPT = "<script>alert('x')</script>"


def _cell(text: str) -> str:
    return json.dumps([text])


def _battles(
    path: Path, n: int, labeled: bool = True, prompt: str = "Question {k} about cooking pasta"
) -> Path:
    with path.open("w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(HEADER + (LABELS if labeled else []))
        for k in range(n):
            row = [str(1000 + k), f"m{k % 3}", f"m{(k + 1) % 3}", _cell(prompt.format(k=k))]
            row += [_cell("short answer"), _cell("a much longer answer " * (1 + k % 4))]
            w.writerow(row + ([["1", "0", "0"], ["0", "1", "0"], ["0", "0", "1"]][k % 3] if labeled else []))
    return path


@pytest.fixture(scope="module")
def model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    tmp = tmp_path_factory.mktemp("model")
    train = _battles(tmp / "train.csv", 30)
    main(["train", str(train), "-o", str(tmp / "m"), "--model", "prior", "--folds", "2", "-q"])
    return tmp / "m"


@pytest.mark.parametrize(
    ("param", "said"),
    [
        ("num_leaves=abc", "parameter num_leaves: expected an integer, got 'abc'"),
        ("num_leaves=1", "parameter num_leaves: must be at least 2, got 1"),
        ("learning_rate=fast", "parameter learning_rate: expected a number, got 'fast'"),
        ("swap_augment=2", "parameter swap_augment: expected true or false, got 2"),
        ("leaves=3", "bad parameters for model 'lgbm'"),
    ],
)
def test_train_refuses_a_bad_estimator_parameter_before_training(
    param: str, said: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data = _battles(tmp_path / "t.csv", 12)
    code, _, err = run_cli(["train", str(data), "-o", str(tmp_path / "m"), "-p", param, "-q"], capsys)
    assert code == 1 and err.startswith(f"error: {said}") and "Traceback" not in err, err
    assert not (tmp_path / "m").exists()


def test_pipeline_config_refuses_a_bad_estimator_parameter(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(ArenaprefError, match=r"train\.params: parameter num_leaves: expected an integer"):
        parse_config({"train": {"params": {"num_leaves": "abc"}}})
    with pytest.raises(ArenaprefError, match=r"ablate\.params: parameter subsample: must be above 0"):
        parse_config({"ablate": {"params": {"subsample": 0}}})
    assert parse_config({"train": {"params": {"num_leaves": 15}}}).train.params == {"num_leaves": 15}
    config = tmp_path / "PIPELINE.toml"
    config.write_text('[train]\nparams = {num_leaves = "abc"}\n', encoding="utf-8")
    code, _, err = run_cli(["run", str(config), "-q"], capsys)
    assert code == 1 and "train.params: parameter num_leaves: expected an integer, got 'abc'" in err, err
    assert "Traceback" not in err and not (tmp_path / "run").exists()


def test_a_blank_test_row_is_skipped_and_counted(
    model: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    test = _battles(tmp_path / "test.csv", 4, labeled=False)
    lines = test.read_text(encoding="utf-8").splitlines()
    test.write_text("\n".join([*lines[:2], ",,,,,", *lines[2:4], "", lines[4]]) + "\n", encoding="utf-8")
    sub = tmp_path / "sub.csv"
    code, out, err = run_cli(["predict", str(model), str(test), "-o", str(sub)], capsys)
    assert code == 0, err
    assert "2 test rows without an id were skipped" in out and "format check passed" in out
    rows = list(csv.reader(sub.open(encoding="utf-8")))
    assert [r[0] for r in rows[1:]] == ["1000", "1001", "1002", "1003"]
    code, _, err = run_cli(["check-submission", str(sub), str(test)], capsys)
    assert code == 0, err


def test_predict_with_duplicate_test_ids_writes_nothing(
    model: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    test = _battles(tmp_path / "test.csv", 4, labeled=False)
    lines = test.read_text(encoding="utf-8").splitlines()
    test.write_text("\n".join([*lines, lines[2]]) + "\n", encoding="utf-8")
    sub = tmp_path / "sub.csv"
    code, _, err = run_cli(["predict", str(model), str(test), "-o", str(sub)], capsys)
    assert code == 1 and "id '1001' appears more than once (1 duplicate id)" in err, err
    assert "nothing was written" in err and not sub.exists()
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".arenapref-tmp")]
    sub.write_text("previous\n", encoding="utf-8")
    code, _, _ = run_cli(["predict", str(model), str(test), "-o", str(sub)], capsys)
    assert code == 1 and sub.read_text(encoding="utf-8") == "previous\n"


def _conv(cid: str, model: str, prompt: str, answer: str) -> Conversation:
    return Conversation(cid, model, [Turn("user", prompt), Turn("assistant", answer)], language="English")


def test_mine_counts_records_that_repeat_a_conversation_id(tmp_path: Path) -> None:
    convs = [
        _conv("c1", "m1", "Tell me a joke about cats", "A cat walks into a bar."),
        _conv("c1", "m2", "Tell me a joke about cats", "Why did the cat sit on the computer?"),
        _conv("c2", "m1", "Name a prime number", "Seven is prime."),
        _conv("c3", "m2", "Name a prime number", "Eleven is a prime number."),
    ]
    path = write_parquet(conversations_table(convs), tmp_path / "convs.parquet")
    result = mine_pairs([path], MineSettings(), work_dir=tmp_path)
    assert result.pairs.num_rows == 2
    assert result.funnel.records_sharing_conversation_id == 1
    assert result.funnel.pairs_within_one_conversation == 1
    md = result.funnel.to_markdown()
    assert "records repeating a conversation\\_id | 1 |" in md
    assert "pairs out within one conversation\\_id | 1 |" in md
    assert result.funnel.to_dict()["records_sharing_conversation_id"] == 1


def test_mine_funnel_markdown_escapes_user_text(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    convs = [
        _conv("c1", SCRIPT, "Tell me a joke about cats", "A cat walks into a bar."),
        _conv("c2", "m2|x", "Tell me a joke about cats", "Why did the cat sit on the computer?"),
    ]
    src = write_parquet(conversations_table(convs), tmp_path / "convs.parquet")
    code, _, err = run_cli(["mine", str(src), "-o", str(tmp_path / "p.parquet"), "-q"], capsys)
    assert code == 0, err
    md = (tmp_path / "p.funnel.md").read_text(encoding="utf-8")
    assert "<script" not in md and "&lt;script&gt;" in md and "m2\\|x" in md


def test_compare_report_escapes_user_text(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    prompt = SCRIPT + " <img src=x onerror=alert(1)> how do I sort a list | in Python, item {k}?"
    left = _battles(tmp_path / "left.csv", 3, prompt=prompt)
    right = _battles(tmp_path / "right.csv", 3, prompt=prompt)
    code, _, err = run_cli(["compare", str(left), str(right), "-o", str(tmp_path / "cmp"), "-q"], capsys)
    assert code == 0, err
    md = (tmp_path / "cmp" / "report.md").read_text(encoding="utf-8")
    assert "Sample of matched pairs" in md and "&lt;script&gt;" in md and "&lt;img src=x" in md
    assert "<script" not in md and "<img" not in md
    for line in md.splitlines():
        if "&lt;script" in line:  # the | inside the prompt does not open a table cell
            assert line.count("|") - line.count("\\|") == 5, line


def test_markdown_helpers() -> None:
    assert md_text("<b>a|b</b> & *c*\nd", limit=None) == "&lt;b&gt;a\\|b&lt;/b&gt; &amp; \\*c\\* ⏎ d"
    assert md_text("<<<<", limit=2) == "&lt;&lt;"
    assert md_fence("x ```` y", "json") == "`````json\nx ```` y\n`````"
