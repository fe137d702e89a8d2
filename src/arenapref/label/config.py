"""A judge is configuration: a TOML file of settings plus a prompt template file.

Keeping the judge as data (as AlpacaEval does) means a new judge, a different model or a different server
is a file or a command-line flag, not code. A judge's identity is the server it talks to (its base URL, or
``offline`` for the built-in offline judge), the model, and the full content of its spec (the TOML and its
prompt file): the cache keys and the pipeline's label stage key on it, so an answer is only ever reused for
the judge that gave it. Command-line overrides of concurrency, timeouts and attempts are not part of it.
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

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator
from yarl import URL

from arenapref.errors import ArenaprefError
from arenapref.llmclient.offline import OFFLINE, Probs
from arenapref.llmclient.settings import OPENAI_BASE_URL, ClientSettings, Price, default_base_url

JUDGES_DIR = Path(__file__).parent / "judges"
SoftMode = Literal["logprobs", "samples", "hard"]
# Bumped whenever the meaning of a cached answer changes (parser, request shape).
CACHE_FORMAT = 1
MISSING_TURN = "(no reply)"


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
    base_url: str = OPENAI_BASE_URL
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
    # sha256 of the spec's full content (its TOML settings and its prompt file), set by ``judge_from_dict``.
    spec_digest: str = ""

    @property
    def server(self) -> str:
        """Who answers: ``offline`` or the base URL (without a trailing slash)."""
        return self.base_url.rstrip("/")

    def identity(self) -> dict[str, str]:
        """The judge's identity, readable: server, model and spec digest, and their hash (``fingerprint``).

        The server is shown without user, password, query or fragment (some providers put credentials
        there; this lands in manifests); the fingerprint hashes the whole URL.
        """
        shown = self.server
        if shown != OFFLINE:
            shown = str(URL(shown).with_user(None).with_query(None).with_fragment(None))
        return {
            "server": shown,
            "model": self.model,
            "spec_sha256": self.spec_digest,
            "fingerprint": self.fingerprint(),
        }

    def fingerprint(self) -> str:
        """Hash of the judge's identity and every setting that changes an answer: the cache keys' judge part.

        A cached answer is reused only for the same server, model and spec content.
        """
        payload = {
            "format": CACHE_FORMAT,
            "server": self.server,
            "spec": self.spec_digest,
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
        timeout_s: float | None = None,
        max_attempts: int | None = None,
    ) -> JudgeConfig:
        """The same judge pointed at another server or model (command-line overrides)."""
        changes = {"concurrency": concurrency, "timeout_s": timeout_s, "max_attempts": max_attempts}
        client = replace(self.client, **{k: v for k, v in changes.items() if v is not None})  # type: ignore[arg-type]
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


_CLIENT_DEFAULTS = ClientSettings()


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)


class _ClientSchema(_Strict):
    concurrency: int = Field(default=_CLIENT_DEFAULTS.concurrency, ge=1, le=4096)
    timeout_s: float = Field(default=_CLIENT_DEFAULTS.timeout_s, gt=0, le=3600)
    max_attempts: int = Field(default=_CLIENT_DEFAULTS.max_attempts, ge=1, le=50)
    backoff_base_s: float = Field(default=_CLIENT_DEFAULTS.backoff_base_s, ge=0, le=600)
    backoff_max_s: float = Field(default=_CLIENT_DEFAULTS.backoff_max_s, ge=0, le=3600)
    retry_after_max_s: float = Field(default=_CLIENT_DEFAULTS.retry_after_max_s, ge=0, le=86400)
    abort_after: int = Field(default=_CLIENT_DEFAULTS.abort_after, ge=0)


class _PriceSchema(_Strict):
    input: float = Field(ge=0)
    output: float = Field(ge=0)


class _JudgeSchema(_Strict):
    """The judge TOML's schema: strict types (TOML has real ints, floats and strings), ranges, no extras."""

    name: str | None = None
    base_url: str | None = None
    model: str = Field(min_length=1)
    api_key_env: str = "OPENAI_API_KEY"
    prompt: str = Field(min_length=1)
    temperature: float = Field(default=0.0, ge=0, le=2)
    max_tokens: int = Field(default=400, ge=1)
    soft: SoftMode = "logprobs"
    top_logprobs: int = Field(default=5, ge=1, le=20)
    n_samples: int = Field(default=5, ge=1, le=128)
    sample_temperature: float = Field(default=1.0, ge=0, le=2)
    parse_retries: int = Field(default=2, ge=0, le=20)
    verdicts: dict[str, list[float]] = Field(min_length=1)
    client: _ClientSchema = Field(default_factory=lambda: _ClientSchema())
    prices: dict[str, _PriceSchema] = Field(default_factory=dict)
    extra_body: dict[str, Any] = Field(default_factory=dict)

    @field_validator("temperature", "sample_temperature", mode="before")
    @classmethod
    def _int_is_a_float(cls, v: object) -> object:
        # TOML writes 0 and 0.0 differently; both are a fine temperature.
        return float(v) if isinstance(v, int) and not isinstance(v, bool) else v


def _schema_error(exc: ValidationError, origin: str) -> ArenaprefError:
    """One sentence naming the first offending key (``client.timeout_s``) and what was expected."""
    err = exc.errors()[0]
    loc = ".".join(str(p) for p in err["loc"]) or "(top level)"
    if err["type"] == "extra_forbidden":
        where = " (it belongs in the [client] table)" if loc in _ClientSchema.model_fields else ""
        return ArenaprefError(f"{origin}: unknown judge setting {loc!r}{where}")
    if err["type"] == "missing":
        return ArenaprefError(f"{origin}: the judge configuration needs {loc!r}")
    given = err.get("input")
    shown = repr(given) if len(repr(given)) < 60 else type(given).__name__
    return ArenaprefError(f"{origin}: {loc} = {shown} is invalid ({err['msg'].lower()})")


def _probs(value: list[float], where: str) -> Probs:
    if len(value) != 3 or not all(v >= 0 for v in value) or abs(sum(value) - 1.0) > 1e-6:
        raise ArenaprefError(
            f"{where}: a verdict must map to three probabilities [P(A), P(B), P(tie)] summing to 1"
        )
    return (float(value[0]), float(value[1]), float(value[2]))


def load_judge(spec: str | Path) -> JudgeConfig:
    """Load a judge from a TOML file, or the shipped judge of that name (``default``, ``five_level``,
    ``offline``: the built-in offline judge, no network or key)."""
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
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ArenaprefError(f"{path}: not valid TOML ({exc})") from exc
    return judge_from_dict(data, path.parent, str(path))


def judge_from_dict(data: dict[str, Any], base_dir: Path, origin: str = "judge") -> JudgeConfig:
    """A judge from parsed TOML, validated by ``_JudgeSchema``; the prompt is relative to ``base_dir``."""
    try:
        spec = _JudgeSchema.model_validate(data)
    except ValidationError as exc:
        raise _schema_error(exc, origin) from None
    prompt_path = base_dir / spec.prompt
    if not prompt_path.is_file():
        raise ArenaprefError(f"{origin}: prompt template {prompt_path} does not exist")
    prompt_text = prompt_path.read_text(encoding="utf-8")
    template = parse_template(prompt_text, str(prompt_path))
    content = json.dumps(data, sort_keys=True, default=str) + "\n" + prompt_text
    verdicts = {normalize_label(k): _probs(v, f"{origin}: verdict {k!r}") for k, v in spec.verdicts.items()}
    return JudgeConfig(
        name=spec.name or Path(origin).stem,
        model=spec.model,
        template=template,
        verdicts=verdicts,
        base_url=default_base_url(spec.base_url),
        api_key_env=spec.api_key_env,
        temperature=spec.temperature,
        max_tokens=spec.max_tokens,
        soft=spec.soft,
        top_logprobs=spec.top_logprobs,
        n_samples=spec.n_samples,
        sample_temperature=spec.sample_temperature,
        parse_retries=spec.parse_retries,
        client=ClientSettings(**spec.client.model_dump()),
        prices={m: Price(p.input, p.output) for m, p in spec.prices.items()},
        extra_body=spec.extra_body,
        spec_digest=hashlib.sha256(content.encode()).hexdigest(),
    )


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
