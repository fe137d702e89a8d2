"""Reading training data, saving and loading models (with a version check), and submission files.

A model directory holds ``model.pkl`` (the fitted estimator, pickled), ``meta.json`` (format and feature
versions, library versions, a sha256 of the pickle, what it was trained on) and, after training,
``oof.parquet``. ``load_model`` refuses a directory whose format or feature version differs from this
arenapref's, because a pickle of an older feature layout would load fine and then predict garbage.
Only load model directories you trust: unpickling runs code.
"""

from __future__ import annotations

import csv
import hashlib
import json
import pickle
import platform
import sys
import warnings
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import lru_cache, partial
from importlib import metadata
from pathlib import Path
from typing import Any, Protocol

import numpy as np
import pyarrow as pa
import pyarrow.csv as pa_csv

from arenapref.atomic import atomic_dir, atomic_path
from arenapref.display import NotebookResult
from arenapref.errors import ArenaprefError, InputFormatError
from arenapref.executors.base import BlockStep, Executor, run_step
from arenapref.executors.shards import table_blocks
from arenapref.model.features import FEATURE_VERSION
from arenapref.model.task import check_task
from arenapref.readers import open_source
from arenapref.readers.jsoncells import CellError, decode_turns
from arenapref.records import BATTLE_SCHEMA, conform
from arenapref.rejects import RejectLog
from arenapref.version import __version__
from arenapref.writers import (
    BINARY_SUBMISSION_COLUMNS,
    SUBMISSION_COLUMNS,
    WINNER_VALUES,
    write_binary_submission_csv,
    write_submission_csv,
)

csv.field_size_limit(sys.maxsize)

FORMAT = "arenapref-preference-model"
#: Bumped when the layout of a model directory or of the pickled classes changes incompatibly
#: (2: the LightGBM estimator holds a seed ensemble of boosters).
FORMAT_VERSION = 2
MODEL_FILE = "model.pkl"
META_FILE = "meta.json"
_LIBRARIES = ("lightgbm", "scikit-learn", "numpy", "pyarrow", "polars")


class PreferencePredictor(Protocol):
    """What ``load_model`` returns: anything with ``predict_proba(table) -> (n, 3)`` (A, B, tie)."""

    def predict_proba(self, table: pa.Table) -> np.ndarray: ...


def read_battles(
    paths: Sequence[str | Path], rejects: RejectLog | None = None, format: str | None = None
) -> pa.Table:
    """Read battle sources (competition CSV, pairwise JSON/CSV, native Parquet, ...) into one table.

    The format of each path is detected unless ``format`` is given (then it applies to all of them).
    Adds an ``input`` column with each row's source path (per-input sample weights key on it). A source
    holding conversations instead of battles is a user mistake and raises ``ArenaprefError``.
    """
    if not paths:
        raise ArenaprefError("no input data given")
    tables = []
    for path in paths:
        source = open_source(path, format=format, rejects=rejects)
        if source.kind != "battles":
            raise ArenaprefError(f"{path}: holds {source.kind}, but a preference model needs battles")
        t = conform(source.read_table(), "battles")
        tables.append(t.append_column("input", pa.array([str(path)] * t.num_rows, pa.string())))
    return pa.concat_tables(tables, promote_options="permissive")


_TEXT_COLUMNS = ("prompt", "response_a", "response_b")
_WINNER_COLUMNS = {"winner_model_a": "p_a", "winner_model_b": "p_b", "winner_tie": "p_tie"}


def _turn_column(values: list[Any], column: str) -> pa.Array:
    """A list<string> column from list cells or the competition's JSON-string cells."""
    out: list[list[str | None] | None] = []
    for row, cell in enumerate(values):
        if cell is None or isinstance(cell, list):
            out.append(cell)
        elif isinstance(cell, str):
            try:
                out.append(decode_turns(cell)[0])
            except CellError as exc:
                raise InputFormatError(f"row {row}, column {column}: {exc}") from exc
        elif hasattr(cell, "tolist"):  # a numpy array cell from pandas
            out.append(list(cell.tolist()))
        else:
            raise InputFormatError(
                f"row {row}, column {column}: expected a list of turns or a JSON list, "
                f"got {type(cell).__name__}"
            )
    return pa.array(out, pa.list_(pa.string()))


def as_battles(data: Any) -> pa.Table:
    """A battle table (``BATTLE_SCHEMA``) from a pyarrow Table, a pandas or polars DataFrame, a Hugging
    Face ``Dataset``, or a path / list of paths (read with ``read_battles``).

    Why: the estimators are scikit-learn estimators, and their users hand them DataFrames in the
    competition's layout (JSON-string cells, winner_model_a/b/tie columns) as often as our own tables.
    Label columns come from p_a/p_b/p_tie or from the competition's winner columns.
    """
    if isinstance(data, (str, Path)):
        return read_battles([data])
    if isinstance(data, (list, tuple)) and all(isinstance(d, (str, Path)) for d in data):
        return read_battles(list(data))
    if isinstance(data, pa.Table):
        table = data
    elif hasattr(data, "to_arrow") and callable(data.to_arrow):  # polars
        table = data.to_arrow()
    elif hasattr(data, "data") and hasattr(data, "features") and hasattr(data.data, "table"):  # HF Dataset
        table = data.data.table
    elif hasattr(data, "columns") and hasattr(data, "iloc"):  # pandas
        table = pa.Table.from_pandas(data.reset_index(drop=True), preserve_index=False)
    else:
        raise ArenaprefError(
            f"cannot read battles from a {type(data).__name__}; give a path, a pyarrow Table or a DataFrame"
        )
    missing = [c for c in _TEXT_COLUMNS if c not in table.column_names]
    if missing:
        raise InputFormatError(f"the data has no {', '.join(missing)} column; battles are needed")
    cols: dict[str, pa.Array | pa.ChunkedArray] = {}
    for name in table.column_names:
        col = table.column(name)
        if name in _TEXT_COLUMNS and col.type != pa.list_(pa.string()):
            cols[name] = _turn_column(col.to_pylist(), name)
        elif name in _WINNER_COLUMNS and _WINNER_COLUMNS[name] not in table.column_names:
            cols[_WINNER_COLUMNS[name]] = col.cast(pa.float64())
        else:
            cols[name] = col
    if "id" not in cols:
        cols["id"] = pa.array([str(i) for i in range(table.num_rows)], pa.string())
    elif cols["id"].type != pa.string():
        cols["id"] = cols["id"].cast(pa.string())
    ordered = {f.name: cols.pop(f.name) for f in BATTLE_SCHEMA if f.name in cols} | cols
    return conform(pa.table(ordered), "battles")


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def _library_versions() -> dict[str, str]:
    out = {"python": platform.python_version()}
    for name in _LIBRARIES:
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            out[name] = "absent"
    return out


def save_model(model: PreferencePredictor, model_dir: str | Path, info: dict[str, Any] | None = None) -> Path:
    """Write a fitted model to ``model_dir`` (created if needed): model.pkl and meta.json."""
    if not callable(getattr(model, "predict_proba", None)):
        raise ArenaprefError(f"{type(model).__name__} has no predict_proba; it is not a preference model")
    out = Path(model_dir)
    with atomic_dir(out) as tmp:
        write_model_files(model, tmp, info)
    return out


def write_model_files(model: PreferencePredictor, folder: Path, info: dict[str, Any] | None = None) -> None:
    """model.pkl and meta.json into an existing (temporary) folder; ``save_model`` renames it into place."""
    pkl = folder / MODEL_FILE
    with pkl.open("wb") as fh:
        pickle.dump(model, fh, protocol=pickle.HIGHEST_PROTOCOL)
    meta = {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "feature_version": FEATURE_VERSION,
        "arenapref_version": __version__,
        "class": f"{type(model).__module__}.{type(model).__qualname__}",
        "created": datetime.now(UTC).isoformat(timespec="seconds"),
        "sha256": _sha256(pkl),
        "libraries": _library_versions(),
        "info": info or {},
    }
    (folder / META_FILE).write_text(json.dumps(meta, indent=2, default=str) + "\n", encoding="utf-8")


def read_meta(model_dir: str | Path) -> dict[str, Any]:
    """meta.json of a model directory, checked for format and versions (raises ArenaprefError)."""
    d = Path(model_dir)
    meta_path = d / META_FILE
    if not meta_path.is_file() or not (d / MODEL_FILE).is_file():
        raise ArenaprefError(f"{d}: not a model directory (expected {META_FILE} and {MODEL_FILE})")
    try:
        meta = json.loads(meta_path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise ArenaprefError(f"{meta_path}: not valid JSON ({exc})") from exc
    if not isinstance(meta, dict) or meta.get("format") != FORMAT:
        raise ArenaprefError(f"{meta_path}: not an arenapref preference model")
    fv, feat = meta.get("format_version"), meta.get("feature_version")
    if fv != FORMAT_VERSION or feat != FEATURE_VERSION:
        raise ArenaprefError(
            f"{d}: saved by arenapref {meta.get('arenapref_version')} with model format {fv} "
            f"and features {feat}; "
            f"this arenapref ({__version__}) needs format {FORMAT_VERSION} and features "
            f"{FEATURE_VERSION}, so retrain the model"
        )
    return meta


def load_model(model_dir: str | Path) -> PreferencePredictor:
    """Load a model saved by ``save_model`` after checking versions and the pickle's checksum.

    Library versions that differ from the saving machine's only warn: LightGBM and scikit-learn read
    their own older pickles, but the predictions may shift slightly.
    """
    d = Path(model_dir)
    from arenapref.model.llm import is_llm_model_dir

    if is_llm_model_dir(d):
        return LLMPredictor(d)
    meta = read_meta(d)
    pkl = d / MODEL_FILE
    if meta.get("sha256") != _sha256(pkl):
        raise ArenaprefError(f"{pkl}: checksum differs from {META_FILE}; the file was changed or truncated")
    now = _library_versions()
    changed = {k: (v, now.get(k)) for k, v in dict(meta.get("libraries", {})).items() if now.get(k) != v}
    if changed:
        detail = ", ".join(f"{k} {a} -> {b}" for k, (a, b) in sorted(changed.items()))
        warnings.warn(f"{d}: library versions differ from training ({detail})", stacklevel=2)
    with pkl.open("rb") as fh:
        model = pickle.load(fh)
    if not callable(getattr(model, "predict_proba", None)):
        raise ArenaprefError(f"{pkl}: holds a {type(model).__name__}, not a preference model")
    loaded: PreferencePredictor = model
    return loaded


@dataclass
class LLMPredictor:
    """A model folder written by ``train --model llm``: predictions come from ``model.llm.predict_llm``.

    So ``predict``, ``evaluate`` and a teacher labeler treat both kinds of model folder alike.
    """

    model_dir: Path

    def predict_proba(self, table: pa.Table) -> np.ndarray:
        from arenapref.model.llm import predict_llm

        return np.asarray(predict_llm(self.model_dir, table))


def _csv_ids(path: Path, keep_blank: bool = False) -> list[str] | None:
    """The id column of a CSV file in file order (None when the file is not a CSV with an id column).

    Rows without an id (a blank line, a row of empty cells) are left out unless ``keep_blank``: no
    submission row can name them, so they are not rows of the test.
    """
    if path.suffix.lower() not in {".csv", ".tsv"}:
        return None
    with path.open(newline="", encoding="utf-8", errors="replace") as fh:
        reader = csv.reader(fh)
        header = next(reader, [])
        if "id" not in header:
            return None
        k = header.index("id")
        ids = [row[k] if k < len(row) else "" for row in reader]
        return ids if keep_blank else [i for i in ids if i.strip()]


@dataclass(repr=False)
class PredictSummary(NotebookResult):
    """What ``predict_submission`` wrote (``to_arrow`` reads it back), and how many rows got the prior."""

    path: Path
    n_rows: int
    n_fallback: int
    rejects: RejectLog = field(default_factory=RejectLog)
    n_without_id: int = 0

    def lines(self) -> list[str]:
        out = [f"wrote {self.n_rows} predictions to {self.path}"]
        if self.n_without_id:
            n = self.n_without_id
            rows = "1 test row without an id was" if n == 1 else f"{n} test rows without an id were"
            out.append(f"{rows} skipped (no submission row can name them)")
        if self.n_fallback:
            out.append(
                f"{self.n_fallback} rows the reader rejected got the class prior ({self.rejects.summary()})"
            )
        return out

    def to_arrow(self) -> pa.Table:
        return pa_csv.read_csv(
            self.path, convert_options=pa_csv.ConvertOptions(column_types={"id": pa.string()})
        )

    def summary_lines(self) -> list[str]:
        return self.lines()


#: Rows per prediction block (at least): a LightGBM call on fewer rows is dominated by overhead.
MIN_BLOCK_ROWS = 4096


@lru_cache(maxsize=4)
def _cached_model(model_dir: str) -> PreferencePredictor:
    """One model per worker process and folder (loading checks the checksum; it costs more than a block)."""
    return load_model(model_dir)


def predict_block(table: pa.Table, model: str | PreferencePredictor) -> np.ndarray:
    """The per-block work of ``predict``: (rows, 3) probabilities of one slice of battles."""
    fitted = _cached_model(model) if isinstance(model, str) else model
    return np.asarray(fitted.predict_proba(table))


class PredictStep(BlockStep[pa.Table, np.ndarray, np.ndarray]):
    """``predict_proba`` of a table, one row slice per block.

    A preference model's probabilities are a function of each row alone (features of that battle, the
    fitted trees, the A/B swap average), so slices predict independently and stack in order. ``model``:
    a model folder (each worker process loads it once) or a fitted model (shipped with every block);
    ``loaded``: the model already loaded here, for the single-process path.
    """

    def __init__(
        self,
        model: str | PreferencePredictor,
        table: pa.Table,
        min_rows: int = MIN_BLOCK_ROWS,
        loaded: PreferencePredictor | None = None,
    ) -> None:
        self.model, self.table, self.min_rows, self.loaded = model, table, min_rows, loaded

    def blocks(self, workers: int) -> list[pa.Table]:
        return table_blocks(self.table, 2 * workers, self.min_rows)

    @property
    def work(self) -> Callable[[pa.Table], np.ndarray]:
        return partial(predict_block, model=self.model)

    def merge(self, parts: Iterator[np.ndarray]) -> np.ndarray:
        done = list(parts)
        return np.vstack(done) if done else np.zeros((0, 3))

    def whole(self) -> np.ndarray:
        model = self.loaded or (_cached_model(self.model) if isinstance(self.model, str) else self.model)
        return model.predict_proba(self.table)


def predict_proba(
    model: str | Path | PreferencePredictor,
    table: pa.Table,
    executor: Executor | None = None,
    min_rows: int = MIN_BLOCK_ROWS,
    loaded: PreferencePredictor | None = None,
) -> np.ndarray:
    """(rows, 3) probabilities of ``table`` by ``model`` (a folder or a fitted model), in row slices of at
    least ``min_rows`` on ``executor`` when one is given (``PredictStep``)."""
    named = str(model) if isinstance(model, (str, Path)) else model
    return run_step(PredictStep(named, table, min_rows, loaded), executor)


def predict_submission(
    model_dir: str | Path | PreferencePredictor,
    test_path: str | Path | Any,
    out: str | Path,
    clip: float = 1e-4,
    format: str | None = None,
    executor: Executor | None = None,
) -> PredictSummary:
    """Predict every battle of a test file and write the competition's submission CSV in input order.

    Rows the reader could not parse still get a line (the class prior, counted in the summary): a
    submission missing an id scores nothing. Rows without an id are skipped and counted; duplicate ids
    are an error. The submission is checked (``check_submission``) before it is renamed into place, so
    a file that fails the check is never written. ``executor``: predict row slices of the battles
    there (``PredictStep``); the same probabilities up to floating-point rounding. A model trained for
    the binary task (``model.task``) writes WSDM Cup's ``id,winner`` layout instead. ``model_dir`` may
    also be a fitted estimator, and ``test_path`` a table or DataFrame (read with ``as_battles``; its
    row order is the submission's).
    """
    model = load_model(model_dir) if isinstance(model_dir, (str, Path)) else model_dir
    rejects = RejectLog()
    is_path = isinstance(test_path, (str, Path))
    test = Path(test_path) if is_path else Path("<test table>")
    table = read_battles([test], rejects, format) if is_path else as_battles(test_path)
    keep = [i is not None and str(i).strip() != "" for i in table.column("id").to_pylist()]
    if not all(keep):
        table = table.filter(pa.array(keep))
    ids = [str(i) for i in table.column("id").to_pylist()]
    every = _csv_ids(test, keep_blank=True) if is_path else None
    order: list[str] | None = None
    n_without_id = len(keep) - len(ids)
    if every is not None:  # a CSV: its blank rows never reached the table, so count them here
        order = [i for i in every if i.strip()]
        n_without_id = len(every) - len(order)
    _refuse_duplicate_ids(test, order if order is not None else ids)
    named = str(model_dir) if isinstance(model_dir, (str, Path)) else model
    proba = predict_proba(named, table, executor, loaded=model)
    n_fallback = 0
    if order is not None and order != ids:
        prior = getattr(model, "class_prior_", np.full(3, 1.0 / 3.0))
        where = {i: k for k, i in enumerate(ids)}
        rows = [proba[where[i]] if i in where else prior for i in order]
        n_fallback = sum(1 for i in order if i not in where)
        if n_fallback > len(rejects):
            raise ArenaprefError(
                f"{test}: {n_fallback} ids of the file are missing from what was read, but only "
                f"{len(rejects)} rows were rejected; the ids do not match (e.g. {order[0]!r})"
            )
        proba = np.vstack(rows) if rows else np.zeros((0, 3))
        ids = order
    with atomic_path(out) as tmp:
        if getattr(model, "task_", "three-way") == "binary":
            write_binary_submission_csv(ids, proba, tmp)
        else:
            write_submission_csv(ids, proba, tmp, clip=clip)
        # A table has no file to check against; its ids were checked above (blank and duplicate).
        check = check_submission(tmp, test, format=format) if is_path else None
        if check is not None and not check.ok:
            raise ArenaprefError(
                f"{out} was not written: it failed the format check: {'; '.join(check.problems)}"
            )
    return PredictSummary(Path(out), len(ids), n_fallback, rejects, n_without_id)


def _refuse_duplicate_ids(test: Path, ids: Sequence[str]) -> None:
    """A test file naming one id twice cannot get a valid submission: say so before predicting."""
    seen: set[str] = set()
    for i in ids:
        if i in seen:
            dups = len(ids) - len(set(ids))
            raise ArenaprefError(
                f"{test}: id {i!r} appears more than once ({dups} duplicate id{'s' if dups > 1 else ''}); "
                "a submission needs one row per id, so nothing was written"
            )
        seen.add(i)


@dataclass(repr=False)
class SubmissionCheck(NotebookResult):
    """The result of ``check_submission``: problems found (empty when the file is fine; ``to_arrow``), and
    the task its header is in (``three-way`` or ``binary``; None when the header is neither)."""

    path: Path
    n_rows: int
    problems: list[str]
    task: str | None = None

    @property
    def ok(self) -> bool:
        return not self.problems

    def to_arrow(self) -> pa.Table:
        return pa.table({"problem": pa.array(self.problems, pa.string())})

    def summary_lines(self) -> list[str]:
        verdict = "ok" if self.ok else f"{len(self.problems)} problems"
        return [f"{self.path}: {self.n_rows:,} rows, {verdict}"]


_HEADERS = {SUBMISSION_COLUMNS: "three-way", BINARY_SUBMISSION_COLUMNS: "binary"}


def _row_problem(row: list[str], task: str, tolerance: float) -> str | None:
    """What is wrong with one submission row's cells (after the id), or None."""
    if len(row) != (4 if task == "three-way" else 2):
        return "wrong number of cells"
    if task == "binary":
        return None if row[1].strip() in WINNER_VALUES else f"winner not one of {', '.join(WINNER_VALUES)}"
    try:
        p = [float(v) for v in row[1:]]
    except ValueError:
        return "not a number"
    if not all(np.isfinite(v) and 0.0 < v < 1.0 for v in p):
        return "probability not strictly between 0 and 1"
    return "row does not sum to 1" if abs(sum(p) - 1.0) > tolerance else None


def _examples(ids: list[str]) -> str:
    return ", ".join(repr(i) for i in ids[:3]) + (", ..." if len(ids) > 3 else "")


def check_submission(
    path: str | Path,
    test_path: str | Path,
    tolerance: float = 1e-4,
    format: str | None = None,
    task: str | None = None,
) -> SubmissionCheck:
    """Check a submission against its test file as Kaggle would: the header, exactly one row per test id
    (any order: missing, extra, duplicate and blank ids are reported), and each row's cells — three
    finite probabilities strictly between 0 and 1 summing to 1 within ``tolerance`` (three-way), or a
    winner of ``model_a``/``model_b`` (binary, WSDM Cup).

    The task is read from the header unless ``task`` is given. Reports at most a few examples per kind of
    problem, so a broken 25k-row file gives a readable list. A missing or unreadable file is one sentence
    (``InputFormatError``).
    """
    sub, test = Path(path), Path(test_path)
    if not sub.is_file():
        raise InputFormatError(f"{sub}: no such submission" + (" (it is a folder)" if sub.is_dir() else ""))
    if not test.exists():
        raise InputFormatError(f"{test}: no such test file or folder")
    want = check_task(task)
    expected = _csv_ids(test)
    if expected is None:
        expected = [str(i) for i in read_battles([test], format=format).column("id").to_pylist()]
    expected = [i for i in expected if i.strip()]
    try:
        with sub.open(newline="", encoding="utf-8") as fh:
            rows = list(csv.reader(fh))
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        raise InputFormatError(f"{sub}: cannot read the submission ({exc})") from exc
    header = tuple(c.strip() for c in rows[0]) if rows else ()
    found = _HEADERS.get(header)
    if found is None or (want is not None and found != want):
        allowed = [h for h, t in _HEADERS.items() if want is None or t == want]
        return SubmissionCheck(
            sub,
            max(len(rows) - 1, 0),
            [
                f"header must be {' or '.join(','.join(h) for h in allowed)}, "
                f"got {','.join(rows[0]) if rows else 'nothing'}"
            ],
        )
    body = [r for r in rows[1:] if r]
    bad: dict[str, list[str]] = {}
    for k, row in enumerate(rows[1:], start=2):
        if not row:
            continue
        if not row[0].strip():
            bad.setdefault("blank id", []).append(f"line {k}")
        reason = _row_problem(row, found, tolerance)
        if reason is not None:
            bad.setdefault(reason, []).append(f"line {k}")
    problems: list[str] = []
    ids = [r[0] for r in body if r[0].strip()]
    dups = sorted(i for i, n in Counter(ids).items() if n > 1)
    want_set, got = set(expected), set(ids)
    missing = [i for i in expected if i not in got]
    extra = sorted(got - want_set)
    if missing:
        problems.append(f"{len(missing)} test ids have no row, e.g. {_examples(missing)}")
    if extra:
        problems.append(f"{len(extra)} ids are not in the test file, e.g. {_examples(extra)}")
    if dups:
        problems.append(f"{len(dups)} ids appear more than once, e.g. {_examples(dups)}")
    for reason, where in bad.items():
        problems.append(f"{reason}: {len(where)} rows, e.g. {', '.join(where[:3])}")
    return SubmissionCheck(sub, len(body), problems, found)


__all__ = [
    "FORMAT_VERSION",
    "LLMPredictor",
    "PredictSummary",
    "PreferencePredictor",
    "SubmissionCheck",
    "as_battles",
    "check_submission",
    "load_model",
    "predict_submission",
    "read_battles",
    "read_meta",
    "save_model",
    "write_model_files",
]
