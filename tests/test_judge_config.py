"""The judge TOML is validated by a schema: every malformed setting is one sentence naming its key."""

from __future__ import annotations

from pathlib import Path

import pytest

from arenapref.errors import ArenaprefError
from arenapref.label.config import JUDGES_DIR, load_judge
from arenapref.label.teacher import load_teacher
from arenapref.llmclient.client import Budget
from arenapref.llmclient.settings import ClientSettings
from label_helpers import make_pairs

BASE = 'model = "m"\nprompt = "p.txt"\n'
VERDICTS = "[verdicts]\nA = [1.0, 0.0, 0.0]\nB = [0.0, 1.0, 0.0]\n"


@pytest.mark.parametrize(
    ("body", "said"),
    [
        ('temperature = "hot"\n' + VERDICTS, "temperature = 'hot' is invalid"),
        ("temperature = 7.5\n" + VERDICTS, "temperature = 7.5 is invalid"),
        ("verdicts = 3\n", "verdicts = 3 is invalid"),
        ("timeout_s = -5\n" + VERDICTS, "'timeout_s' (it belongs in the [client] table)"),
        (VERDICTS + "[client]\ntimeout_s = -5\n", "client.timeout_s = -5 is invalid"),
        (VERDICTS + "[client]\nconcurrency = 0\n", "client.concurrency = 0 is invalid"),
        (VERDICTS + '[client]\nmax_attempts = "3"\n', "client.max_attempts = '3' is invalid"),
        ("max_tokens = 1.5\n" + VERDICTS, "max_tokens = 1.5 is invalid"),
        ('soft = "maybe"\n' + VERDICTS, "soft = 'maybe' is invalid"),
        ("colour = 1\n" + VERDICTS, "unknown judge setting 'colour'"),
        ("[verdicts]\nA = [0.5, 0.0, 0.0]\n", "summing to 1"),
        ("[verdicts]\n", "verdicts = {} is invalid"),
        (VERDICTS + '[prices.m]\ninput = "x"\noutput = 1\n', "prices.m.input = 'x' is invalid"),
    ],
)
def test_malformed_settings_are_one_sentence_naming_the_key(body: str, said: str, tmp_path: Path) -> None:
    (tmp_path / "p.txt").write_text((JUDGES_DIR / "default_prompt.txt").read_text())
    (tmp_path / "j.toml").write_text(BASE + body)
    with pytest.raises(ArenaprefError) as info:
        load_judge(tmp_path / "j.toml")
    message = str(info.value)
    assert said in message and message.startswith(str(tmp_path / "j.toml"))
    assert "\n" not in message


def test_integer_temperatures_and_client_tables_are_accepted(tmp_path: Path) -> None:
    (tmp_path / "p.txt").write_text((JUDGES_DIR / "default_prompt.txt").read_text())
    (tmp_path / "j.toml").write_text(BASE + "temperature = 0\n" + VERDICTS + "[client]\ntimeout_s = 5\n")
    judge = load_judge(tmp_path / "j.toml")
    assert judge.temperature == 0.0 and judge.client.timeout_s == 5.0
    assert judge.client.max_attempts == ClientSettings().max_attempts


def test_the_python_api_refuses_impossible_settings_too() -> None:
    with pytest.raises(ArenaprefError, match="concurrency must be at least 1"):
        ClientSettings(concurrency=0)
    with pytest.raises(ArenaprefError, match="max_requests must be 0"):
        Budget(max_requests=-3)
    with pytest.raises(ArenaprefError, match="timeout"):
        load_judge("default").with_overrides(timeout_s=-1)


def test_a_folder_with_llm_config_is_dispatched_to_the_llm_package(tmp_path: Path) -> None:
    """`label --teacher DIR` on an LLM folder goes to arenapref.model.llm, not the classical loader."""
    (tmp_path / "llm_config.json").write_text("{}")
    teacher = load_teacher(tmp_path)
    with pytest.raises(ArenaprefError, match=r"llm_config\.json"):
        teacher.predict_proba(make_pairs(2))
