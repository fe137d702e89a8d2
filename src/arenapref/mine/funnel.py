"""The mining funnel: where every input record went, printed and written next to the mined pairs.

A user deciding whether mined pairs are worth labeling needs to see the whole path: how many records came
in, how many each filter dropped and why, how many prompt groups had a second model, how many pairs the
matching formed and how many the caps and the leakage guard removed. Record counts add up (records in =
dropped + paired), so nothing disappears without a line in this report.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path

from rich.console import Console
from rich.table import Table

from arenapref.atomic import write_text
from arenapref.markdown import md_fence, md_text
from arenapref.mine.filters import REASON_HELP


@dataclass
class Funnel:
    """Counts of one mining run (JSON-serialisable)."""

    records_in: dict[str, int] = field(default_factory=dict)
    unreadable: dict[str, int] = field(default_factory=dict)
    dropped: dict[str, int] = field(default_factory=dict)
    groups: int = 0
    minable_groups: int = 0
    records_in_minable_groups: int = 0
    records_paired: int = 0
    # The same conversation_id on several input records (a duplicated dump, or a re-export): counted
    # and shown, since two such records can pair with each other and look like two conversations.
    records_sharing_conversation_id: int = 0
    pairs_within_one_conversation: int = 0
    pairs_formed: int = 0
    pairs_dropped: dict[str, int] = field(default_factory=dict)
    pairs_out: int = 0
    regenerated: dict[str, int] = field(default_factory=dict)
    per_model_pair: dict[str, int] = field(default_factory=dict)
    per_language: dict[str, int] = field(default_factory=dict)
    settings: dict[str, object] = field(default_factory=dict)
    seconds: dict[str, float] = field(default_factory=dict)

    @property
    def total_in(self) -> int:
        return sum(self.records_in.values())

    def to_dict(self) -> dict[str, object]:
        out = asdict(self)
        out["total_in"] = self.total_in
        return out

    def write_json(self, path: Path) -> Path:
        """Write the counts as JSON, atomically (complete or absent)."""
        return write_text(path, json.dumps(self.to_dict(), indent=2, ensure_ascii=False) + "\n")

    def _rows(self) -> list[tuple[str, str, str]]:
        """(step, count, note) rows shared by the Markdown and the terminal rendering."""
        rows = [(f"records in: {name}", f"{n:,}", "") for name, n in self.records_in.items()]
        rows += [
            (f"unreadable: {name}", f"{n:,}", "rows the reader rejected")
            for name, n in self.unreadable.items()
        ]
        rows += [
            (f"dropped: {reason}", f"{n:,}", REASON_HELP.get(reason, ""))
            for reason, n in self.dropped.items()
        ]
        if self.records_sharing_conversation_id:
            rows.append(
                (
                    "records repeating a conversation_id",
                    f"{self.records_sharing_conversation_id:,}",
                    "kept; the input holds one conversation_id on several records",
                )
            )
        rows.append(("prompt groups (after filters)", f"{self.groups:,}", ""))
        rows.append(("minable groups (>= 2 models)", f"{self.minable_groups:,}", ""))
        rows.append(("records in minable groups", f"{self.records_in_minable_groups:,}", ""))
        rows.append(("pairs formed", f"{self.pairs_formed:,}", ""))
        rows += [
            (f"pairs dropped: {reason}", f"{n:,}", REASON_HELP.get(reason, "leakage guard"))
            for reason, n in self.pairs_dropped.items()
        ]
        rows += [(f"regeneration: {k}", f"{n:,}", "") for k, n in self.regenerated.items()]
        rows.append(("pairs out", f"{self.pairs_out:,}", ""))
        if self.pairs_within_one_conversation:
            rows.append(
                (
                    "pairs out within one conversation_id",
                    f"{self.pairs_within_one_conversation:,}",
                    "both records carry the same conversation_id",
                )
            )
        rows.append(("records used in output pairs", f"{self.records_paired:,}", ""))
        return rows

    def to_markdown(self, top: int = 30) -> str:
        lines = ["# Mining funnel", "", "| step | count | note |", "| --- | ---: | --- |"]
        lines += [f"| {md_text(a)} | {b} | {md_text(c)} |" for a, b, c in self._rows()]
        for title, counts in (
            ("Pairs per model pair", self.per_model_pair),
            ("Pairs per language", self.per_language),
        ):
            lines += ["", f"## {title}", "", "| | pairs |", "| --- | ---: |"]
            items = list(counts.items())
            lines += [f"| {md_text(k)} | {v:,} |" for k, v in items[:top]]
            if len(items) > top:
                lines.append(f"| ({len(items) - top} more) | {sum(v for _, v in items[top:]):,} |")
        lines += [
            "",
            "## Settings",
            "",
            md_fence(json.dumps(self.settings, indent=2, default=str), "json"),
            "",
        ]
        return "\n".join(lines)

    def write_markdown(self, path: Path) -> Path:
        """Write the report as Markdown, atomically."""
        return write_text(path, self.to_markdown())

    def print(self, console: Console, top: int = 10) -> None:
        """The funnel as rich tables: steps, then the busiest model pairs and languages."""
        steps = Table(title="Mining funnel", show_lines=False)
        steps.add_column("step")
        steps.add_column("count", justify="right")
        steps.add_column("note", style="dim")
        for row in self._rows():
            steps.add_row(*row)
        console.print(steps)
        for title, counts in (
            ("pairs per model pair", self.per_model_pair),
            ("pairs per language", self.per_language),
        ):
            if not counts:
                continue
            t = Table(title=title)
            t.add_column(title.split(" per ")[1])
            t.add_column("pairs", justify="right")
            items = list(counts.items())
            for k, v in items[:top]:
                t.add_row(k, f"{v:,}")
            if len(items) > top:
                t.add_row(f"({len(items) - top} more)", f"{sum(v for _, v in items[top:]):,}")
            console.print(t)
