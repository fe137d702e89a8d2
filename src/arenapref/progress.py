"""One progress convention for the Python API and the command line.

Every long-running function of the API takes ``progress=``:

- ``None`` (the default): a bar when someone is watching - in a Jupyter/Kaggle notebook, or when stderr
  is a terminal - and nothing otherwise (scripts, tests, CI logs stay clean);
- ``True`` / ``False``: always / never;
- a callable ``progress(stage: str, done: int, total: int | None) -> None``, called as work advances:
  ``stage`` names the step ("reading", "training", "labeling", ...), ``done`` counts its units so far
  and ``total`` is their number when known (None for a stream of unknown length).

The bar is tqdm's (``tqdm.auto``: a widget in notebooks) when tqdm is installed, otherwise plain lines.
Plain lines are what a log gets: one line per step, never carriage returns, so ``2>log`` reads as
``ablate: trained 1/9`` / ``ablate: trained 2/9`` on lines of their own (and at most one line a second
for fast counters, plus the last).
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from typing import Any, TextIO

ProgressFn = Callable[[str, int, "int | None"], None]
Progress = bool | ProgressFn | None
# Fast counters (records, requests) print at most one line per this many seconds, plus the last one.
LINE_INTERVAL_S = 1.0


def in_notebook() -> bool:
    """Whether this process is a Jupyter kernel (a notebook, Kaggle, Colab), without importing IPython."""
    ipython = sys.modules.get("IPython")
    get = getattr(ipython, "get_ipython", None)
    shell = get() if get is not None else None
    return shell is not None and hasattr(shell, "kernel")


class TextLines:
    """Progress as plain lines on a stream: ``prefix: stage done/total``, one per step.

    On a terminal the line is rewritten in place (``\\r``); anywhere else each step is its own line, so a
    log file never holds one endless line.
    """

    def __init__(self, prefix: str = "", stream: TextIO | None = None) -> None:
        self.prefix = prefix
        self.stream = stream if stream is not None else sys.stderr
        self._last = 0.0
        self._open = False

    def __call__(self, stage: str, done: int, total: int | None) -> None:
        last = total is not None and done >= total
        now = time.monotonic()
        fast = total is None or total > 100
        if fast and not last and done > 1 and now - self._last < LINE_INTERVAL_S:
            return
        self._last = now
        count = f"{done:,}/{total:,}" if total is not None else f"{done:,}"
        text = f"{self.prefix}: {stage} {count}" if self.prefix else f"{stage} {count}"
        if _is_tty(self.stream):
            self.stream.write("\r" + text + ("\n" if last else ""))
            self._open = not last
        else:
            self.stream.write(text + "\n")
        self.stream.flush()

    def close(self) -> None:
        """End an in-place line left open (a run stopped before its last step)."""
        if self._open:
            self.stream.write("\n")
            self.stream.flush()
            self._open = False


def _is_tty(stream: TextIO) -> bool:
    isatty = getattr(stream, "isatty", None)
    return bool(isatty and isatty())


class Bars:
    """One tqdm bar per stage (``tqdm.auto``: a widget in a notebook), closed when the stage changes."""

    def __init__(self, tqdm: Any) -> None:
        self._tqdm = tqdm
        self._bar: Any = None
        self._stage = ""

    def __call__(self, stage: str, done: int, total: int | None) -> None:
        if self._bar is None or stage != self._stage:
            self.close()
            self._stage = stage
            # Kept when done (tqdm's default): a notebook cell shows what ran and how long it took.
            self._bar = self._tqdm(total=total, desc=stage, leave=True)
        if total is not None and self._bar.total != total:
            self._bar.total = total
        self._bar.update(done - self._bar.n)

    def close(self) -> None:
        if self._bar is not None:
            self._bar.close()
            self._bar = None


class StageCounts:
    """Adapts a stage API's ``(stage, new records)`` calls to ``progress(stage, records so far, None)``."""

    def __init__(self, tell: ProgressFn) -> None:
        self.tell = tell
        self.done: dict[str, int] = {}

    def __call__(self, stage: str, records: int) -> None:
        self.done[stage] = self.done.get(stage, 0) + records
        self.tell(stage, self.done[stage], None)


def reporter(progress: Progress, prefix: str = "") -> ProgressFn | None:
    """The callable that ``progress=`` stands for (see the module docstring); None means silent."""
    if progress is None:
        progress = in_notebook() or _is_tty(sys.stderr)
    if progress is False:
        return None
    if progress is True:
        try:
            from tqdm.auto import tqdm
        except ImportError:
            return TextLines(prefix)
        return Bars(tqdm)
    if not callable(progress):
        raise TypeError(f"progress must be True, False, None or a callable, not {type(progress).__name__}")
    return progress


def close(fn: ProgressFn | None) -> None:
    """Finish a reporter's bar or open line (a no-op for a caller's own callable)."""
    if isinstance(fn, (Bars, TextLines)):
        fn.close()


__all__ = [
    "LINE_INTERVAL_S",
    "Bars",
    "Progress",
    "ProgressFn",
    "StageCounts",
    "TextLines",
    "close",
    "in_notebook",
    "reporter",
]
