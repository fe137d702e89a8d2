"""Saving and loading pickled estimators (with a version check), and checking submission files.

A model directory holds ``model.pkl`` (the fitted estimator, pickled), ``meta.json`` (format and feature
versions, library versions, a sha256 of the pickle, what it was trained on) and, after training,
``oof.parquet``. ``load_estimator`` refuses a directory whose format or feature version differs from this
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
from dataclasses import dataclass
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path
from typing import Any, Protocol

import numpy as np
import pyarrow as pa

from arenapref.atomic import atomic_dir
from arenapref.display import NotebookResult
from arenapref.errors import ArenaprefError, InputFormatError
from arenapref.model.features import FEATURE_VERSION
from arenapref.model.task import check_task
from arenapref.readers import read_battles
from arenapref.version import __version__
from arenapref.writers import (
    BINARY_SUBMISSION_COLUMNS,
    SUBMISSION_COLUMNS,
    WINNER_VALUES,
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
    """What ``kinds.load_model`` returns: anything with ``predict_proba(table) -> (n, 3)`` (A, B, tie)."""

    def predict_proba(self, table: pa.Table) -> np.ndarray: ...


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


def load_estimator(model_dir: str | Path) -> PreferencePredictor:
    """Load an estimator saved by ``save_model`` after checking versions and the pickle's checksum.

    ``arenapref.model.kinds.load_model`` loads a folder of any kind (this one, or a fine-tuned LLM's).

    Library versions that differ from the saving machine's only warn: LightGBM and scikit-learn read
    their own older pickles, but the predictions may shift slightly.
    """
    d = Path(model_dir)
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


def csv_ids(path: Path, keep_blank: bool = False) -> list[str] | None:
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
    split: str | None = None,
) -> SubmissionCheck:
    """Check a submission against its test file as Kaggle would: the header, exactly one row per test id
    (any order: missing, extra, duplicate and blank ids are reported), and each row's cells — three
    finite probabilities strictly between 0 and 1 summing to 1 within ``tolerance`` (three-way), or a
    winner of ``model_a``/``model_b`` (binary, WSDM Cup).

    The task is read from the header unless ``task`` is given; ``split`` picks one split of a test folder.
    Reports at most a few examples per kind of problem, so a broken 25k-row file gives a readable list. A
    missing or unreadable file is one sentence (``InputFormatError``).
    """
    sub, test = Path(path), Path(test_path)
    if not sub.is_file():
        raise InputFormatError(f"{sub}: no such submission" + (" (it is a folder)" if sub.is_dir() else ""))
    if not test.exists():
        raise InputFormatError(f"{test}: no such test file or folder")
    want = check_task(task)
    expected = csv_ids(test)
    if expected is None:
        expected = [str(i) for i in read_battles(test, format, split=split).column("id").to_pylist()]
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
    "META_FILE",
    "PreferencePredictor",
    "SubmissionCheck",
    "check_submission",
    "csv_ids",
    "load_estimator",
    "read_meta",
    "save_model",
    "write_model_files",
]
