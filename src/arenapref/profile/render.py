"""Terminal tables and JSON for profiles: several sources side by side, the paper as a reference column."""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from rich.table import Table

from arenapref.atomic import output_suffix, write_text
from arenapref.profile.core import PAPER_LMSYS, Profile
from arenapref.profile.lengths import LengthStats

PAPER_COLUMN = "paper (LMSYS-Chat-1M)"
NA = "n/a"


def _int(value: float | None) -> str:
    return NA if value is None else f"{round(value):,}"


def _float(value: float | None) -> str:
    return NA if value is None else f"{value:,.1f}"


def _share(value: float | None) -> str:
    return NA if value is None else f"{100 * value:.1f}%"


def _spread(stats: LengthStats) -> str:
    if stats.messages == 0:
        return NA
    return f"{stats.p50:,}/{stats.p90:,}/{stats.p99:,}/{stats.max:,}"


def _label_mix(p: Profile) -> str:
    mix = p.label_mix
    if mix is None or mix.labeled == 0:
        return NA
    return f"{_share(mix.a)} / {_share(mix.b)} / {_share(mix.tie)}"


def _rejects(p: Profile) -> str:
    return f"{sum(p.rejected.values()):,} rejected, {sum(p.recovered.values()):,} recovered"


# Row label, how a profile shows it, and the key of the paper's figure (if the paper has one).
OVERVIEW_ROWS: list[tuple[str, Callable[[Profile], str], str | None]] = [
    ("format", lambda p: f"{p.format} ({p.kind})", None),
    ("conversations / battles", lambda p: _int(p.rows), "rows"),
    ("models", lambda p: _int(p.models), "models"),
    ("users", lambda p: _int(p.users), "users"),
    ("languages", lambda p: _int(p.languages), "languages"),
    ("user turns", lambda p: _int(p.user_turns), None),
    ("avg turns per sample", lambda p: _float(p.turns_per_sample), "turns_per_sample"),
    ("avg tokens per prompt", lambda p: _float(p.prompt.mean), "tokens_per_prompt"),
    ("avg tokens per response", lambda p: _float(p.response.mean), "tokens_per_response"),
    ("prompt tokens p50/90/99/max", lambda p: _spread(p.prompt), None),
    ("response tokens p50/90/99/max", lambda p: _spread(p.response), None),
    ("responses", lambda p: _int(p.response.messages), None),
    ("label mix A / B / tie", _label_mix, None),
    (
        "labeled / unlabeled",
        lambda p: f"{p.label_mix.labeled:,} / {p.label_mix.unlabeled:,}" if p.label_mix else NA,
        None,
    ),
    ("reader rejects", _rejects, None),
    ("tokenizer", lambda p: p.tokenizer, None),
]


def _paper_cell(key: str | None) -> str:
    if key is None:
        return ""
    value = PAPER_LMSYS[key]
    return _int(value) if float(value).is_integer() and key != "turns_per_sample" else _float(value)


def render_table(profiles: Sequence[Profile]) -> Table:
    """The overview: one column per source, plus the paper's figures when a source is LMSYS-Chat-1M."""
    table = Table(title="Dataset profile", title_justify="left")
    table.add_column("", style="bold")
    for p in profiles:
        table.add_column(p.name, justify="right", overflow="fold")
    with_paper = any(p.is_lmsys for p in profiles)
    if with_paper:
        table.add_column(PAPER_COLUMN, justify="right", style="dim", overflow="fold")
    for label, cell, paper_key in OVERVIEW_ROWS:
        row = [label, *(cell(p) for p in profiles)]
        if with_paper:
            row.append(_paper_cell(paper_key))
        table.add_row(*row)
    return table


def render_details(profile: Profile, top: int = 10) -> list[Table]:
    """Per-model lengths (and results for battles) and per-language counts, the ``top`` largest of each."""
    battles = profile.kind == "battles"
    models = Table(
        title=f"{profile.name}: models (top {top} of {len(profile.per_model)})", title_justify="left"
    )
    headings = ["model", "battles" if battles else "convs", "prompt mean", "p50/90/99/max"]
    headings += ["response mean", "p50/90/99/max"]
    if battles:
        headings += ["games", "won/lost/tied", "win rate"]
    for i, h in enumerate(headings):
        models.add_column(h, justify="left" if i == 0 else "right", overflow="fold")
    for m in profile.per_model[:top]:
        row = [m.model, _int(m.rows), _float(m.prompt.mean), _spread(m.prompt)]
        row += [_float(m.response.mean), _spread(m.response)]
        if battles:
            row += [
                _int(m.games),
                f"{_float(m.wins)}/{_float(m.losses)}/{_float(m.ties)}",
                _share(m.win_rate),
            ]
        models.add_row(*row)
    tables = [models]
    if profile.per_language:
        langs = Table(
            title=f"{profile.name}: languages (top {top} of {len(profile.per_language)})",
            title_justify="left",
        )
        langs.add_column("language")
        langs.add_column("records", justify="right")
        langs.add_column("share", justify="right")
        for lang, n in list(profile.per_language.items())[:top]:
            langs.add_row(lang, _int(n), _share(n / profile.rows if profile.rows else None))
        tables.append(langs)
    return tables


def profiles_to_json(profiles: Sequence[Profile]) -> dict[str, Any]:
    """The document ``--out`` writes (``--json`` prints it): every profile, paper figures if relevant."""
    doc: dict[str, Any] = {"sources": [p.to_dict() for p in profiles]}
    if any(p.is_lmsys for p in profiles):
        doc["paper_lmsys_chat_1m"] = dict(PAPER_LMSYS)
    return doc


def write_json(profiles: Sequence[Profile], path: str | Path) -> Path:
    out = Path(path)
    output_suffix(out, (".json",))
    return write_text(out, json.dumps(profiles_to_json(profiles), indent=2, ensure_ascii=False) + "\n")
