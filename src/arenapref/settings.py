"""The base of every stage's settings model, and one way to turn a bad value into one sentence.

Each stage package owns one pydantic model of its settings (``mine.settings.MineSettings``,
``compare.settings.CompareSettings``, ...). The same model is the pipeline's config section (which adds
``enabled`` and the like), what the stage's command builds from its options and what the Python API
function takes as keywords, so a setting has one default, one range and one error text everywhere.
Library errors name the setting (`max_uses`); the command line shows its own flag instead, the pipeline
the key's dotted path.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any, TypeVar

from pydantic import BaseModel, ConfigDict, ValidationError

from arenapref.errors import ArenaprefError

S = TypeVar("S", bound=BaseModel)


class StageSettings(BaseModel):
    """Frozen, typed strictly (a TOML string is not a number), and no unknown names (a typo is caught)."""

    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)


class SettingsError(ArenaprefError):
    """An impossible setting: ``field`` (the setting's name) and ``problem`` (what it must be).

    ``own``: ``problem`` is a check's own sentence, which already says what it checks (a model kind that
    cannot use a setting); it is the whole message then, not a predicate after the setting's name.
    """

    def __init__(self, field: str, problem: str, own: bool = False) -> None:
        super().__init__(problem if own else f"`{field}` {problem}")
        self.field = field
        self.problem = problem


def problem_text(err: dict[str, Any]) -> str:
    """What a pydantic error says must hold, as a sentence's predicate ("must be ≥ 1")."""
    kind, ctx = err["type"], err.get("ctx") or {}
    bounds = {
        "greater_than_equal": "must be ≥ {ge:g}",
        "greater_than": "must be > {gt:g}",
        "less_than_equal": "must be ≤ {le:g}",
        "less_than": "must be < {lt:g}",
    }
    if kind in bounds:
        return bounds[kind].format(**ctx)
    if kind == "value_error" and "error" in ctx:  # a validator's own sentence, without pydantic's prefix
        return str(ctx["error"])
    if kind == "extra_forbidden":
        return "unknown key"
    if kind == "value_error":
        return str(err["msg"]).removeprefix("Value error, ")
    if kind == "literal_error":
        return f"must be one of {ctx.get('expected', '')}"
    if kind.endswith(("_type", "_parsing")):
        return "must be " + str(err["msg"]).removeprefix("Input should be ")
    return str(err["msg"])


def build(cls: type[S], **values: Any) -> S:
    """``cls(**values)``; the first impossible value is a ``SettingsError`` naming its setting."""
    try:
        return cls(**values)
    except ValidationError as exc:
        err = exc.errors()[0]
        field = ".".join(str(p) for p in err["loc"] if not isinstance(p, int)) or cls.__name__
        problem = problem_text(dict(err))
        if err["type"] == "value_error":
            raise SettingsError(field, problem, own=True) from None
        if err["type"] != "extra_forbidden" and "input" in err:
            problem += f", not {err['input']!r}"
        raise SettingsError(field, problem) from None


def known(what: str, name: str, names: Iterable[str]) -> str:
    """``name`` if it is one of ``names``; otherwise the one sentence every registry-backed setting (model
    kinds, embedders) gives, for a field validator to raise."""
    names = list(names)
    if name not in names:
        raise ValueError(f"unknown {what} {name!r}; expected one of {', '.join(names)}")
    return name


def settings_or_fields(cls: type[S], settings: S | None, fields: Mapping[str, Any]) -> S:
    """A Python API function's settings: ``settings`` as given, or ``cls`` built from keyword ``fields``.

    Every stage function takes either (``ap.mine(src, settings=s)`` or ``ap.mine(src, max_uses=2)``);
    both at once would leave one silently unused, so that is one sentence naming the fields given.
    """
    if settings is None:
        return build(cls, **fields)
    if fields:
        raise ArenaprefError(f"give `settings` or its fields, not both (got {', '.join(sorted(fields))})")
    if not isinstance(settings, cls):
        raise ArenaprefError(f"`settings` must be a {cls.__name__}, not {type(settings).__name__}")
    return settings


__all__ = ["SettingsError", "StageSettings", "build", "known", "problem_text", "settings_or_fields"]
