"""Executors on this machine's cores: a pool of threads or of processes runs the blocks.

Threads suit steps whose block work releases the GIL (Arrow, Polars, NumPy and the Rust MinHash do most
of the work in native code); processes suit the rest (the regex passes of normalisation). Processes are
started with ``spawn``: forking a process that already runs Polars' and Arrow's thread pools can
deadlock. Like the Ray executor, at most twice the workers' blocks are in flight and results come back
in block order, so a driver that writes each result out holds only a few.
"""

from __future__ import annotations

import multiprocessing
import os
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Executor as FuturesExecutor
from concurrent.futures import Future, ProcessPoolExecutor, ThreadPoolExecutor
from typing import TypeVar

from arenapref.errors import ArenaprefError
from arenapref.executors.base import Executor

T = TypeVar("T")
R = TypeVar("R")


class PoolExecutor(Executor):
    """Blocks on a ``concurrent.futures`` pool of ``workers`` (this machine's cores by default)."""

    def __init__(self, workers: int | None = None) -> None:
        if workers is not None and workers < 1:
            raise ArenaprefError(f"`workers` must be at least 1, got {workers}")
        self._workers = workers or os.cpu_count() or 1
        self._pool: FuturesExecutor | None = None

    def _start(self) -> FuturesExecutor:
        raise NotImplementedError

    @property
    def workers(self) -> int:
        return self._workers

    def imap(self, fn: Callable[[T], R], items: Iterable[T]) -> Iterator[R]:
        if self._pool is None:
            self._pool = self._start()
        pool, limit = self._pool, 2 * self._workers
        pending: deque[Future[R]] = deque()
        it = iter(items)
        try:
            for item in it:
                pending.append(pool.submit(fn, item))
                if len(pending) >= limit:
                    break
            while pending:
                result = pending.popleft().result()
                for item in it:
                    pending.append(pool.submit(fn, item))
                    break
                yield result
        finally:
            for future in pending:  # a failed block or an abandoned stream: nothing left running
                future.cancel()

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
        self._pool = None


class ThreadExecutor(PoolExecutor):
    """Blocks on a pool of threads of this process."""

    name = "threads"

    def _start(self) -> FuturesExecutor:
        return ThreadPoolExecutor(self._workers, thread_name_prefix="arenapref-block")


class ProcessExecutor(PoolExecutor):
    """Blocks on a pool of worker processes (started with ``spawn``, each once per executor)."""

    name = "processes"

    def _start(self) -> FuturesExecutor:
        return ProcessPoolExecutor(self._workers, mp_context=multiprocessing.get_context("spawn"))
