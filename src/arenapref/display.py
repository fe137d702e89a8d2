"""How every result object looks in a notebook: a table, a one-screen ``repr`` and an HTML card.

Why one mixin: a competitor ends a cell with whatever a function returned. Without this, a dataclass
holding an Arrow table prints the whole table (``compare(train, train)`` printed 68k characters), and
each result had its own idea of what ``to_pandas()`` meant, if it had one at all. A result class says
what its natural table is (``to_arrow``) and which few lines summarise it (``summary_lines``); the rest
- ``to_pandas``, ``to_polars``, ``__repr__``, ``_repr_html_`` - is defined once, here.

Dataclasses that use it are declared with ``repr=False`` so the generated field-by-field repr does not
replace the short one.
"""

from __future__ import annotations

import html
from typing import Any

import pyarrow as pa

# One screen: a few summary lines and the head of the table, each cell cut to a readable width.
MAX_SUMMARY_LINES = 12
MAX_ROWS = 8
MAX_CELL = 40
MAX_COLUMNS = 8


def _cell(value: object) -> str:
    text = f"{value:.5g}" if isinstance(value, float) else " ".join(str(value).split())
    return text if len(text) <= MAX_CELL else text[: MAX_CELL - 1] + "…"


def _head(table: pa.Table) -> tuple[list[str], list[list[str]]]:
    """Column names and the first rows as short strings (at most ``MAX_COLUMNS`` columns)."""
    names = table.column_names[:MAX_COLUMNS]
    rows = table.select(names).slice(0, MAX_ROWS).to_pylist()
    return names, [[_cell(r[n]) for n in names] for r in rows]


def _table_note(table: pa.Table) -> str:
    more = f", first {MAX_ROWS} shown" if table.num_rows > MAX_ROWS else ""
    cols = f", first {MAX_COLUMNS} of {table.num_columns} columns" if table.num_columns > MAX_COLUMNS else ""
    return f"{table.num_rows} rows{more}{cols}; .to_pandas() / .to_polars() for all of it"


class NotebookResult:
    """Mixin for result objects: ``to_arrow`` and ``summary_lines`` in, notebook display out."""

    __slots__ = ()

    def to_arrow(self) -> pa.Table:
        """The result's natural table (each class says which in its docstring)."""
        raise NotImplementedError(f"{type(self).__name__} does not define to_arrow")

    def summary_lines(self) -> list[str]:
        """A few human-readable lines about the result (the repr's body)."""
        return []

    def to_pandas(self) -> Any:
        """``to_arrow()`` as a pandas DataFrame (pandas must be installed)."""
        return self.to_arrow().to_pandas()

    def to_polars(self) -> Any:
        """``to_arrow()`` as a polars DataFrame."""
        import polars as pl

        return pl.from_arrow(self.to_arrow())

    def __repr__(self) -> str:
        lines = [f"<{type(self).__name__}>"]
        lines += ["  " + _cell_line(s) for s in self.summary_lines()[:MAX_SUMMARY_LINES]]
        table = self.to_arrow()
        names, rows = _head(table)
        if names and rows:
            widths = [max(len(n), *(len(r[i]) for r in rows)) for i, n in enumerate(names)]
            lines.append("  " + "  ".join(n.ljust(w) for n, w in zip(names, widths, strict=True)))
            lines += ["  " + "  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)) for r in rows]
        lines.append(f"  ({_table_note(table)})")
        return "\n".join(lines)

    def _repr_html_(self) -> str:
        """What Jupyter renders: the summary lines and an HTML table of the first rows."""
        parts = [f"<div><strong>{html.escape(type(self).__name__)}</strong>"]
        summary = self.summary_lines()[:MAX_SUMMARY_LINES]
        if summary:
            parts.append("<ul>" + "".join(f"<li>{html.escape(s)}</li>" for s in summary) + "</ul>")
        table = self.to_arrow()
        names, rows = _head(table)
        if names:
            head = "".join(f"<th>{html.escape(n)}</th>" for n in names)
            body = "".join("<tr>" + "".join(f"<td>{html.escape(c)}</td>" for c in r) + "</tr>" for r in rows)
            parts.append(f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>")
        parts.append(f"<small>{html.escape(_table_note(table))}</small></div>")
        return "".join(parts)


def _cell_line(text: str, width: int = 160) -> str:
    return text if len(text) <= width else text[: width - 1] + "…"


__all__ = ["NotebookResult"]
