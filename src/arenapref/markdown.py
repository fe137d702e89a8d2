"""User text inside the Markdown reports (compare's report.md, mine's funnel): shown, never interpreted.

Prompts, answers, model names and file names come from the data. Written raw, a ``<script>`` would run
in a renderer that passes HTML through, a ``|`` would split a table cell and a ``*`` would start
emphasis; so every piece of user text goes through ``md_text`` (or ``md_fence`` for a block).
"""

from __future__ import annotations

import re

_HTML = {"&": "&amp;", "<": "&lt;", ">": "&gt;"}
_MARKDOWN = re.compile(r"([\\`*_\[\]|#~])")


def md_text(value: object, limit: int | None = None) -> str:
    """VALUE as literal Markdown text on one line: HTML escaped, Markdown punctuation backslashed.

    ``limit`` cuts the text (in characters of the original) before escaping, so no escape is split.
    """
    s = str(value if value is not None else "")
    if limit is not None:
        s = s[:limit]
    s = "".join(_HTML.get(c, c) for c in s)
    return _MARKDOWN.sub(r"\\\1", s).replace("\r\n", "\n").replace("\n", " ⏎ ")


def md_fence(text: str, lang: str = "") -> str:
    """TEXT as a fenced code block whose fence is longer than any backtick run inside it."""
    longest = max((len(m) for m in re.findall(r"`+", text)), default=0)
    fence = "`" * max(3, longest + 1)
    return f"{fence}{lang}\n{text}\n{fence}"


__all__ = ["md_fence", "md_text"]
