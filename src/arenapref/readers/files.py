"""Which files a reader reads: a path may be one file or a folder of shards (searched recursively).

Folders come in the shapes users download them in: a folder of shards, a Hugging Face dataset repo
(``README.md`` + ``data/train-00000-of-00002.parquet``), or a ``datasets`` ``save_to_disk`` folder
(``data-00000-of-00001.arrow`` + ``dataset_info.json`` + ``state.json``). Metadata files those layouts
carry are not data; any other file whose suffix no reader knows is named in an error rather than skipped,
so nothing is ever left out silently.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pyarrow as pa
import pyarrow.ipc as ipc
import pyarrow.parquet as pq

from arenapref.atomic import TMP_MARK
from arenapref.errors import InputFormatError

TABLE_SUFFIXES = (".parquet", ".arrow")
JSON_SUFFIXES = (".jsonl", ".json", ".ndjson")
CSV_SUFFIXES = (".csv", ".tsv")
DATA_SUFFIXES = TABLE_SUFFIXES + JSON_SUFFIXES + CSV_SUFFIXES
# Files that travel with datasets but hold no records: HF repo cards, `datasets` metadata, licences.
METADATA_NAMES = frozenset({"dataset_info.json", "state.json", "dataset_dict.json", "dataset_infos.json"})
METADATA_SUFFIXES = frozenset({".md", ".txt", ".lock", ".gitattributes", ".gitignore", ".license", ".cff"})


def _is_metadata(p: Path) -> bool:
    return p.name in METADATA_NAMES or p.suffix.lower() in METADATA_SUFFIXES or p.suffix == ""


def _save_to_disk_files(folder: Path) -> list[Path] | None:
    """The Arrow files a ``save_to_disk`` folder lists in its state.json, in order; None when not one."""
    state = folder / "state.json"
    if not state.is_file():
        return None
    try:
        listed = json.loads(state.read_text(encoding="utf-8")).get("_data_files")
    except (json.JSONDecodeError, UnicodeDecodeError, AttributeError) as exc:
        raise InputFormatError(f"{state}: not a datasets state.json ({exc})") from exc
    if not isinstance(listed, list):
        return None
    files = [folder / str(item.get("filename", "")) for item in listed if isinstance(item, dict)]
    missing = [f.name for f in files if not f.is_file()]
    if missing:
        raise InputFormatError(f"{state}: lists data file(s) {', '.join(missing)} that are not in the folder")
    return files


def data_files(folder: Path) -> list[Path]:
    """Every data file under a folder, recursively, sorted; unknown non-metadata files are an error."""
    listed = _save_to_disk_files(folder)
    if listed is not None:
        return listed
    found: list[Path] = []
    unknown: list[str] = []
    for p in sorted(folder.rglob("*")):
        rel = p.relative_to(folder)
        if any(part.startswith(".") for part in rel.parts) or TMP_MARK in p.name or not p.is_file():
            continue
        if p.suffix.lower() in DATA_SUFFIXES and p.name not in METADATA_NAMES:
            found.append(p)
        elif not _is_metadata(p):
            unknown.append(str(rel))
    if unknown:
        raise InputFormatError(
            f"{folder}: cannot read {', '.join(unknown[:5])}{' ...' if len(unknown) > 5 else ''} "
            f"(supported: {', '.join(DATA_SUFFIXES)}); move such files out or point at the data files"
        )
    return found


def files_of(path: Path, suffixes: tuple[str, ...]) -> list[Path]:
    """The data files of a path: the file itself, or a folder's files with the given suffixes, sorted."""
    if path.is_file():
        return [path]
    files = [p for p in data_files(path) if p.suffix.lower() in suffixes]
    if not files:
        raise InputFormatError(f"{path}: folder holds no {' or '.join(suffixes)} files")
    return files


def table_schema(path: Path) -> pa.Schema:
    """The schema of a Parquet or Arrow file, or one sentence saying it is not one."""
    try:
        schema = _open_arrow(path).schema if path.suffix.lower() == ".arrow" else pq.read_schema(path)
        schema.names  # noqa: B018 -- names decode lazily; a damaged footer fails here, not in a caller
        return schema
    except (pa.ArrowException, OSError, ValueError) as exc:
        kind = "Arrow" if path.suffix.lower() == ".arrow" else "Parquet"
        raise InputFormatError(f"{path}: not a readable {kind} file ({_short(exc)})") from exc


def _short(exc: BaseException) -> str:
    return str(exc).splitlines()[0][:200] if str(exc) else type(exc).__name__


def _open_arrow(path: Path) -> ipc.RecordBatchStreamReader | ipc.RecordBatchFileReader:
    """``datasets`` writes its cache and save_to_disk files as Arrow IPC streams; others write files."""
    try:
        return ipc.open_stream(pa.memory_map(str(path)))
    except pa.ArrowInvalid:
        return ipc.open_file(pa.memory_map(str(path)))


def iter_table_file(
    path: Path, batch_size: int, columns: list[str] | None = None
) -> Iterator[pa.RecordBatch]:
    """Stream a Parquet or Arrow file in batches; a damaged page is one sentence naming the file and row."""
    schema = table_schema(path)
    done = 0
    is_arrow = path.suffix.lower() == ".arrow"
    try:
        if is_arrow:
            reader = _open_arrow(path)
            batches: Iterator[pa.RecordBatch] = (
                b
                for big in _arrow_batches(reader)
                for b in pa.Table.from_batches([big]).to_batches(batch_size)
            )
        else:
            batches = pq.ParquetFile(path).iter_batches(batch_size=batch_size, columns=columns)
        for batch in batches:
            if is_arrow:
                # IPC data is mapped, not decoded: a damaged file would reach Python as broken arrays.
                batch.validate(full=True)
            done += batch.num_rows
            yield batch.select(columns) if columns and path.suffix.lower() == ".arrow" else batch
    except (pa.ArrowException, OSError) as exc:
        raise InputFormatError(
            f"{path}: damaged data after row {done} of {len(schema)} column(s) ({_short(exc)})"
        ) from exc


def _arrow_batches(
    reader: ipc.RecordBatchStreamReader | ipc.RecordBatchFileReader,
) -> Iterator[pa.RecordBatch]:
    if isinstance(reader, ipc.RecordBatchFileReader):
        for i in range(reader.num_record_batches):
            yield reader.get_batch(i)
    else:
        yield from reader
