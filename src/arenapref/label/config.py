"""A judge is configuration: a TOML file of settings plus a prompt template file.

Keeping the judge as data (as AlpacaEval does) means a new judge, a different model or a different server
is a file or a command-line flag, not code; and the cache can key on exactly the settings that change an
answer (model, sampling, prompt text, verdict table) while ignoring those that do not (server address,
concurrency, prices).
"""

from __future__ import annotations

import hashlib
import json
import string
import tomllib
from dataclasses import dataclass, field, replace
from itertools import zip_longest
from pathlib import Path
from typing import Any, Literal

from arenapref.errors import ArenaprefError

JUDGES_DIR = Path(__file__).parent / "judges"
SoftMode = Literal["logprobs", "samples", "hard"]
Probs = tuple[float, float, float]
# Bumped whenever the meaning of a cached answer changes (parser, request shape).
CACHE_FORMAT = 1
MISSING_TURN = "(no reply)"


@dataclass(frozen=True, slots=True)
class ClientSettings:
    """How to talk to the server; none of these change an answer, so none are part of the cache key."""

    concurrency: int = 16
    timeout_s: float = 120.0
    max_attempts: int = 8
    backoff_base_s: float = 1.0
    backoff_max_s: float = 60.0
    retry_after_max_s: float = 300.0


@dataclass(frozen=True, slots=True)
class Price:
    """USD per million tokens."""

    input: float
    output: float


@dataclass(frozen=True, slots=True)
class PromptTemplate:
    """A system message and a user message with ``$conversation_a`` / ``$conversation_b`` placeholders."""

    system: str
    user: str

    @property
    def text(self) -> str:
        return f"[system]\n{self.system}\n[user]\n{self.user}"


@dataclass(frozen=True, slots=True)
class JudgeConfig:
    """Everything that defines a pairwise LLM judge."""

    name: str
    model: str
    template: PromptTemplate
    verdicts: dict[str, Probs]
    base_url: str = "https://api.openai.com/v1"
    api_key_env: str = "OPENAI_API_KEY"
    temperature: float = 0.0
    max_tokens: int = 400
    soft: SoftMode = "logprobs"
    top_logprobs: int = 5
    n_samples: int = 5
    sample_temperature: float = 1.0
    parse_retries: int = 2
    client: ClientSettings = field(default_factory=ClientSettings)
    prices: dict[str, Price] = field(default_factory=dict)
    extra_body: dict[str, Any] = field(default_factory=dict)

    def fingerprint(self) -> str:
        """Hash of the settings that change what the judge answers: the cache key's judge part."""
        payload = {
            "format": CACHE_FORMAT,
            "model": self.model,
            "temperature": self.temperature,
            "max_tokens": self.max_tokens,
            "soft": self.soft,
            "top_logprobs": self.top_logprobs,
            "n_samples": self.n_samples,
            "sample_temperature": self.sample_temperature,
            "verdicts": sorted(self.verdicts.items()),
            "template": self.template.text,
            "extra_body": self.extra_body,
        }
        return hashlib.sha256(json.dumps(payload, sort_keys=True).encode()).hexdigest()

    @property
    def price(self) -> Price | None:
        """The price of the configured model, or None when the price table does not list it."""
        return self.prices.get(self.model)

    def with_overrides(
        self,
        *,
        base_url: str | None = None,
        model: str | None = None,
        api_key_env: str | None = None,
        concurrency: int | None = None,
    ) -> JudgeConfig:
        """The same judge pointed at another server or model (command-line overrides)."""
        client = self.client if concurrency is None else replace(self.client, concurrency=concurrency)
        return replace(
            self,
            base_url=self.base_url if base_url is None else base_url,
            model=self.model if model is None else model,
            api_key_env=self.api_key_env if api_key_env is None else api_key_env,
            client=client,
        )


def normalize_label(text: str) -> str:
    """Verdict labels compare without case, spaces or brackets: ``[[ tie ]]`` and ``TIE`` are one label."""
    return "".join(text.split()).strip("[]").upper()


def parse_template(text: str, origin: str) -> PromptTemplate:
    """Split a template file into its ``[system]`` and ``[user]`` sections and check its placeholders."""
    sections: dict[str, list[str]] = {}
    current: str | None = None
    for line in text.splitlines():
        marker = line.strip().lower()
        if marker in ("[system]", "[user]"):
            current = marker[1:-1]
            sections[current] = []
        elif current is not None:
            sections[current].append(line)
        elif line.strip():
            raise ArenaprefError(f"{origin}: text before the first [system] or [user] line")
    if "user" not in sections:
        raise ArenaprefError(f"{origin}: the prompt template has no [user] section")
    user = "\n".join(sections["user"]).strip("\n")
    try:
        rendered = string.Template(user).substitute(conversation_a="x", conversation_b="y")
    except (KeyError, ValueError) as exc:
        raise ArenaprefError(
            f"{origin}: the prompt template uses an unknown or malformed placeholder ({exc}); "
            "allowed are $conversation_a and $conversation_b"
        ) from exc
    if rendered == user or "$conversation_a" not in user or "$conversation_b" not in user:
        raise ArenaprefError(
            f"{origin}: the prompt template must contain $conversation_a and $conversation_b"
        )
    return PromptTemplate(system="\n".join(sections.get("system", [])).strip("\n"), user=user)


def _probs(value: object, where: str) -> Probs:
    if (
        not isinstance(value, list)
        or len(value) != 3
        or not all(isinstance(v, int | float) and v >= 0 for v in value)
        or abs(sum(value) - 1.0) > 1e-6
    ):
        raise ArenaprefError(
            f"{where}: a verdict must map to three probabilities [P(A), P(B), P(tie)] summing to 1"
        )
    return (float(value[0]), float(value[1]), float(value[2]))


def load_judge(spec: str | Path) -> JudgeConfig:
    """Load a judge from a TOML file, or the shipped judge of that name (``default``, ``five_level``)."""
    path = Path(spec)
    if not path.suffix and not path.exists():
        path = JUDGES_DIR / f"{spec}.toml"
        if not path.exists():
            shipped = ", ".join(sorted(p.stem for p in JUDGES_DIR.glob("*.toml")))
            raise ArenaprefError(
                f"no judge file {spec!r} and no shipped judge of that name (shipped: {shipped})"
            )
    if not path.is_file():
        raise ArenaprefError(f"{path}: no such judge configuration file")
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise ArenaprefError(f"{path}: not valid TOML ({exc})") from exc
    return judge_from_dict(data, path.parent, str(path))


def judge_from_dict(data: dict[str, Any], base_dir: Path, origin: str = "judge") -> JudgeConfig:
    """Build a judge from parsed TOML; the prompt file is resolved relative to ``base_dir``."""
    known = {
        "name", "base_url", "model", "api_key_env", "prompt", "temperature", "max_tokens", "soft",
        "top_logprobs", "n_samples", "sample_temperature", "parse_retries", "verdicts", "client", "prices",
        "extra_body",
    }  # fmt: skip
    unknown = sorted(set(data) - known)
    if unknown:
        raise ArenaprefError(f"{origin}: unknown judge settings {unknown}")
    for required in ("model", "prompt", "verdicts"):
        if required not in data:
            raise ArenaprefError(f"{origin}: the judge configuration needs {required!r}")
    prompt_path = base_dir / str(data["prompt"])
    if not prompt_path.is_file():
        raise ArenaprefError(f"{origin}: prompt template {prompt_path} does not exist")
    template = parse_template(prompt_path.read_text(encoding="utf-8"), str(prompt_path))
    verdicts = {
        normalize_label(k): _probs(v, f"{origin}: verdict {k!r}") for k, v in data["verdicts"].items()
    }
    if not verdicts:
        raise ArenaprefError(f"{origin}: the verdict table is empty")
    soft = data.get("soft", "logprobs")
    if soft not in ("logprobs", "samples", "hard"):
        raise ArenaprefError(f"{origin}: soft must be 'logprobs', 'samples' or 'hard', not {soft!r}")
    try:
        client = ClientSettings(**data.get("client", {}))
        prices = {m: Price(**p) for m, p in data.get("prices", {}).items()}
    except TypeError as exc:
        raise ArenaprefError(f"{origin}: bad [client] or [prices] table ({exc})") from exc
    config = JudgeConfig(
        name=str(data.get("name", Path(origin).stem)),
        model=str(data["model"]),
        template=template,
        verdicts=verdicts,
        base_url=str(data.get("base_url", "https://api.openai.com/v1")),
        api_key_env=str(data.get("api_key_env", "OPENAI_API_KEY")),
        temperature=float(data.get("temperature", 0.0)),
        max_tokens=int(data.get("max_tokens", 400)),
        soft=soft,
        top_logprobs=int(data.get("top_logprobs", 5)),
        n_samples=int(data.get("n_samples", 5)),
        sample_temperature=float(data.get("sample_temperature", 1.0)),
        parse_retries=int(data.get("parse_retries", 2)),
        client=client,
        prices=prices,
        extra_body=dict(data.get("extra_body", {})),
    )
    if config.client.concurrency < 1 or config.client.max_attempts < 1 or config.n_samples < 1:
        raise ArenaprefError(f"{origin}: concurrency, max_attempts and n_samples must be at least 1")
    return config


def render_conversation(prompt: list[str | None], answers: list[str | None], side: str) -> str:
    """One assistant's side of a (possibly multi-turn) battle, turn by turn, as the judge reads it."""
    parts = []
    for i, (question, answer) in enumerate(zip_longest(prompt, answers), start=1):
        parts.append(f"User (turn {i}):\n{question if question is not None else MISSING_TURN}")
        parts.append(f"Assistant {side} (turn {i}):\n{answer if answer is not None else MISSING_TURN}")
    return "\n\n".join(parts)


def render_messages(
    template: PromptTemplate,
    prompt: list[str | None],
    first: list[str | None],
    second: list[str | None],
) -> list[dict[str, str]]:
    """The chat messages asking the judge about ``first`` (shown as A) against ``second`` (shown as B)."""
    user = string.Template(template.user).substitute(
        conversation_a=render_conversation(prompt, first, "A"),
        conversation_b=render_conversation(prompt, second, "B"),
    )
    messages = [{"role": "system", "content": template.system}] if template.system else []
    messages.append({"role": "user", "content": user})
    return messages
