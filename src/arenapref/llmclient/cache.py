"""A persistent SQLite cache of completed requests, so no paid request is ever sent twice.

Two record types, one table each: ``judgements`` (a judge's answer for one (pair, order): probabilities,
verdict, raw text) and ``completions`` (a plain text answer: a regeneration, a topic title, with its
``kind``), so no use has to pass its answers off as another's.

The key is a hash of the judge's fingerprint (model, sampling settings, prompt template, verdict table)
and the exact messages sent, which already hold the pair's content and its presentation order. Each
result is committed as soon as it arrives (WAL mode, ``synchronous=NORMAL``: a commit costs tens of
microseconds and survives the process being killed), so a run killed half-way resumes without resending
any (pair, order) whose answer had been stored. Writes go through one background thread that commits
whatever has queued up in one transaction: the event loop never waits on the disk (SQLite releases the
GIL while it writes), and the window in which an arrived answer is not yet on disk is a few
milliseconds (``BATCH_WAIT_S`` plus one commit): a process killed inside it resends only those
answers. Only successful results are stored: failures are retried on the next run. The API key is never
part of a key or a value (the client removes it from answers before they get here).

By default there is one cache per user (``default_cache_path()``, under ``arenapref.paths.user_cache_dir()``)
shared by ``label``, ``judge-eval``, topic titles and regeneration: the key holds no output name, so a
rerun with any ``--out`` never pays twice. Several processes may share it (WAL mode, a busy timeout).
"""

from __future__ import annotations

import hashlib
import queue
import sqlite3
import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from arenapref.errors import ArenaprefError
from arenapref.llmclient.offline import Probs
from arenapref.paths import user_cache_dir

BATCH_WAIT_S = 0.005
BUSY_TIMEOUT_MS = 30_000
COLUMNS = (
    "key", "judge", "p_a", "p_b", "p_tie", "verdict", "soft", "raw", "prompt_tokens", "completion_tokens",
    "cost", "n_requests", "created",
)  # fmt: skip
SCHEMA = """
CREATE TABLE IF NOT EXISTS judgements (
    key TEXT PRIMARY KEY,
    judge TEXT NOT NULL,
    p_a REAL NOT NULL, p_b REAL NOT NULL, p_tie REAL NOT NULL,
    verdict TEXT NOT NULL,
    soft TEXT NOT NULL,
    raw TEXT NOT NULL,
    prompt_tokens INTEGER NOT NULL,
    completion_tokens INTEGER NOT NULL,
    cost REAL NOT NULL,
    n_requests INTEGER NOT NULL,
    created REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS completions (
    key TEXT PRIMARY KEY,
    kind TEXT NOT NULL,
    text TEXT NOT NULL,
    prompt_tokens INTEGER NOT NULL,
    completion_tokens INTEGER NOT NULL,
    cost REAL NOT NULL,
    n_requests INTEGER NOT NULL,
    created REAL NOT NULL
)
"""
INSERT = {
    "judgements": "INSERT OR REPLACE INTO judgements VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?)",
    "completions": "INSERT OR REPLACE INTO completions VALUES (?,?,?,?,?,?,?,?)",
}


@dataclass(frozen=True, slots=True)
class OrderResult:
    """The judge's answer for one (pair, order), in the order the answers were shown."""

    probs: Probs
    verdict: str
    soft: str
    raw: str
    prompt_tokens: int
    completion_tokens: int
    cost: float
    n_requests: int


@dataclass(frozen=True, slots=True)
class TextResult:
    """A plain text answer (a regeneration, a topic title) and what it cost."""

    text: str
    prompt_tokens: int
    completion_tokens: int
    cost: float
    n_requests: int


def request_key(fingerprint: str, messages_json: str) -> str:
    """Cache key of one request: judge settings + the exact messages sent (pair content and order)."""
    return hashlib.sha256(f"{fingerprint}\n{messages_json}".encode()).hexdigest()


def default_cache_path() -> Path:
    """The per-user cache every judge, title and regeneration request goes through by default."""
    return user_cache_dir() / "judge.sqlite"


class JudgeCache:
    """SQLite-backed map from request key to OrderResult; a ``None`` path keeps it in memory."""

    def __init__(self, path: str | Path | None) -> None:
        self.path = Path(path) if path is not None else None
        if self.path is not None:
            if self.path.is_dir():
                raise ArenaprefError(f"the cache {self.path} is a folder; `cache` names a database file")
            try:
                self.path.parent.mkdir(parents=True, exist_ok=True)
            except OSError as exc:
                raise ArenaprefError(f"cannot create the cache folder {self.path.parent}: {exc}") from exc
        target = str(self.path) if self.path is not None else ":memory:"
        self._lock = threading.Lock()
        try:
            self._db = sqlite3.connect(target, check_same_thread=False, timeout=BUSY_TIMEOUT_MS / 1000)
            with self._lock:
                self._db.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
                self._db.execute("PRAGMA journal_mode=WAL")
                self._db.execute("PRAGMA synchronous=NORMAL")
                self._db.executescript(SCHEMA)
                self._db.commit()
                found = tuple(r[1] for r in self._db.execute("PRAGMA table_info(judgements)"))
        except sqlite3.Error as exc:
            raise self._bad(exc) from None
        if found != COLUMNS:
            self._db.close()
            raise ArenaprefError(
                f"{self.path} holds a 'judgements' table that is not arenapref's judge cache; "
                "pass another `cache` path"
            )
        self._queue: queue.Queue[tuple[str, tuple[object, ...]] | None] = queue.Queue()
        self._writer: threading.Thread | None = None
        self._failed: BaseException | None = None

    def _bad(self, exc: BaseException) -> ArenaprefError:
        """One sentence for a cache file that cannot be used."""
        if isinstance(exc, sqlite3.DatabaseError) and "not a database" in str(exc):
            return ArenaprefError(
                f"the cache {self.path} is not an SQLite database (it may be another file or damaged); "
                "pass another `cache` path or delete it to start a new cache"
            )
        return ArenaprefError(f"the judge cache {self.path or '(memory)'} cannot be used: {exc}")

    def _check(self) -> None:
        if self._failed is not None:
            raise self._bad(self._failed)

    def _select(self, table: str, columns: str, keys: Iterable[str]) -> list[tuple[Any, ...]]:
        """``key, columns`` of the rows of ``table`` among ``keys`` (in chunks: SQLite limits parameters)."""
        wanted = list(keys)
        rows: list[tuple[Any, ...]] = []
        try:
            with self._lock:
                for i in range(0, len(wanted), 500):
                    chunk = wanted[i : i + 500]
                    marks = ",".join("?" * len(chunk))
                    rows += self._db.execute(
                        f"SELECT key, {columns} FROM {table} WHERE key IN ({marks})", chunk
                    )
        except sqlite3.Error as exc:
            raise self._bad(exc) from None
        return rows

    def get_many(self, keys: Iterable[str]) -> dict[str, OrderResult]:
        """The cached judgements among ``keys``."""
        columns = "p_a, p_b, p_tie, verdict, soft, raw, prompt_tokens, completion_tokens, cost, n_requests"
        return {
            r[0]: OrderResult((r[1], r[2], r[3]), *r[4:]) for r in self._select("judgements", columns, keys)
        }

    def put(self, key: str, judge: str, result: OrderResult) -> None:
        """Queue one completed result; the writer thread commits it within milliseconds."""
        self._check()
        r = result
        row = (
            key, judge, r.probs[0], r.probs[1], r.probs[2], r.verdict, r.soft, r.raw,
            r.prompt_tokens, r.completion_tokens, r.cost, r.n_requests, time.time(),
        )  # fmt: skip
        self._enqueue("judgements", row)

    def put_text(self, key: str, kind: str, result: TextResult) -> None:
        """Queue one text answer of ``kind`` (``regenerate:MODEL``, ``topic-title:MODEL``)."""
        self._check()
        r = result
        row = (key, kind, r.text, r.prompt_tokens, r.completion_tokens, r.cost, r.n_requests, time.time())
        self._enqueue("completions", row)

    def get_texts(self, keys: Iterable[str]) -> dict[str, TextResult]:
        """The cached text answers among ``keys``."""
        columns = "text, prompt_tokens, completion_tokens, cost, n_requests"
        return {r[0]: TextResult(*r[1:]) for r in self._select("completions", columns, keys)}

    def _enqueue(self, table: str, row: tuple[object, ...]) -> None:
        if self._writer is None:
            self._writer = threading.Thread(
                target=self._write_loop, name="arenapref-judge-cache", daemon=True
            )
            self._writer.start()
        self._queue.put((table, row))

    def _write_loop(self) -> None:
        stop = False
        while not stop:
            batch = [self._queue.get()]
            if batch[0] is not None:
                # Let a few results gather: one transaction per wake-up instead of one per result, and
                # far fewer GIL hand-overs with the event loop thread.
                time.sleep(BATCH_WAIT_S)
            while True:
                try:
                    batch.append(self._queue.get_nowait())
                except queue.Empty:
                    break
            items = [r for r in batch if r is not None]
            stop = len(items) < len(batch)
            try:
                if items and self._failed is None:
                    with self._lock:
                        try:
                            for table, sql in INSERT.items():
                                rows = [row for t, row in items if t == table]
                                if rows:
                                    self._db.executemany(sql, rows)
                            self._db.commit()
                        except BaseException:
                            self._db.rollback()
                            raise
            except Exception as exc:  # kept for flush()/put() to raise in the caller's thread
                self._failed = exc
            finally:
                # Always mark the batch done, even after a failure: flush() must never wait forever.
                for _ in batch:
                    self._queue.task_done()

    def flush(self) -> None:
        """Wait until every queued result is committed; raise if the writer could not commit them."""
        self._queue.join()
        self._check()

    def keys(self) -> set[str]:
        """Every stored judgement's key (after committing what is queued)."""
        self.flush()
        try:
            with self._lock:
                return {row[0] for row in self._db.execute("SELECT key FROM judgements")}
        except sqlite3.Error as exc:
            raise self._bad(exc) from None

    def __len__(self) -> int:
        self.flush()
        try:
            with self._lock:
                return int(self._db.execute("SELECT COUNT(*) FROM judgements").fetchone()[0])
        except sqlite3.Error as exc:
            raise self._bad(exc) from None

    def close(self) -> None:
        """Commit what is queued, stop the writer and close the database (raise if a write failed)."""
        if self._writer is not None:
            self._queue.put(None)
            self._writer.join()
            self._writer = None
        self._db.close()
        self._check()

    def __enter__(self) -> JudgeCache:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
