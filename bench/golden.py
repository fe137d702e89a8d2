"""Golden outputs: record what the demo and the CLI write over ../shared/data, then compare two records.

Why: the redesign (issue #20) may change no output except where a fix means to. Run ``record`` on the old
code (``PYTHONPATH=OLD/src``) and on the new, then ``compare``. Every output file is hashed; JSON files are
hashed after dropping what legitimately changes between runs (times, dates, paths, versions), and a JSON
that still differs is listed with the keys that differ, so a changed figure is named, not just noticed.

    PYTHONPATH=/old/src python bench/golden.py record old.json --work /tmp/g-old
    python bench/golden.py record new.json --work /tmp/g-new
    python bench/golden.py compare old.json new.json
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

DATA = Path(__file__).resolve().parents[2] / "shared" / "data"
# Keys whose values differ between two runs of the same code (clocks, paths, versions, host facts).
VOLATILE_PARTS = (
    "time",
    "seconds",
    "elapsed",
    "duration",
    "date",
    "created",
    "started",
    "finished",
    "path",
    "version",
    "host",
    "platform",
    "pid",
    "per_s",
    "workspace",
    "cache",
    "mtime",
    "ctime",
    "inode",
    "commit",
    "hash",
    "fingerprint",
    "python",
)
VOLATILE_SUFFIXES = ("_s", "_dir", "_key", "_at")
# Files that are reports for people (HTML with clocks, logs) or locks: not compared byte for byte.
SKIP_SUFFIXES = (".html", ".log", ".lock")


def _volatile(key: str) -> bool:
    k = key.lower()
    return any(v in k for v in VOLATILE_PARTS) or k.endswith(VOLATILE_SUFFIXES) or k in ("key", "dir", "s")


def _clean(obj: Any) -> Any:
    if isinstance(obj, dict):
        return {k: _clean(v) for k, v in sorted(obj.items()) if not _volatile(str(k))}
    if isinstance(obj, list):
        return [_clean(v) for v in obj]
    if isinstance(obj, float):
        return round(obj, 9)
    return obj


def _flatten(obj: Any, prefix: str = "") -> dict[str, Any]:
    if isinstance(obj, dict):
        out: dict[str, Any] = {}
        for k, v in obj.items():
            out.update(_flatten(v, f"{prefix}.{k}" if prefix else str(k)))
        return out
    if isinstance(obj, list) and len(obj) <= 50:
        out = {}
        for i, v in enumerate(obj):
            out.update(_flatten(v, f"{prefix}[{i}]"))
        return out
    return {prefix: obj}


def _digest(path: Path) -> dict[str, Any]:
    if path.suffix == ".json":
        try:
            data = _clean(json.loads(path.read_text(encoding="utf-8")))
        except (ValueError, UnicodeDecodeError):
            pass
        else:
            blob = json.dumps(data, sort_keys=True).encode()
            return {"sha": hashlib.sha256(blob).hexdigest()[:16], "json": _flatten(data)}
    if path.suffix == ".parquet":
        import pyarrow.parquet as pq

        table = pq.read_table(path)
        h = hashlib.sha256(str(table.schema).encode())
        for col in table.columns:
            h.update(str(col.to_pylist()).encode())
        return {"sha": h.hexdigest()[:16], "rows": table.num_rows}
    return {"sha": hashlib.sha256(path.read_bytes()).hexdigest()[:16]}


def _run(args: list[str], cwd: Path) -> int:
    cmd = [sys.executable, "-c", "import sys; from arenapref.cli import main; sys.exit(main())", *args]
    t0 = time.perf_counter()
    rc = subprocess.run(
        cmd, cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=os.environ
    ).returncode
    print(f"  rc {rc} in {time.perf_counter() - t0:5.1f} s: arenapref {' '.join(args)}", file=sys.stderr)
    return rc


def _cli_runs(work: Path) -> dict[str, int]:
    """The CLI runs over ../shared/data the issue names (profile, compare, mine, label --teacher, train,
    predict, ablate), each writing into ``work``."""
    d = DATA
    train = str(d / "competition_train_999")
    runs = {
        "profile": ["profile", train, str(d / "lmsys_chat_1m_sample"), "--json", "-o", "profile.json"],
        "compare": ["compare", train, str(d / "arena_hard_34_models"), "-o", "compare.json"],
        "mine": ["mine", str(d / "arena_prompts_1135"), "-o", "mined.parquet", "--seed", "0"],
        "train": ["train", train, "-o", "model", "--seed", "0"],
        "label": ["label", "mined.parquet", "--teacher", "model", "-o", "labeled.parquet"],
        "predict": ["predict", "model", train, "-o", "submission.csv"],
        "ablate": [
            "ablate",
            "--base",
            train,
            "--extra",
            "labeled.parquet",
            "--repeats",
            "2",
            "--holdout-frac",
            "0.3",
            "-o",
            "ablate.json",
            "--seed",
            "0",
        ],
    }
    return {name: _run(args, work) for name, args in runs.items()}


def record(out: Path, work: Path, demo: Path | None, run: bool = True) -> None:
    """Run the demo (unless ``demo`` names a finished one) and the CLI runs; write every output's digest.

    ``run=False`` digests the outputs already in ``work`` (to re-digest after changing the rules here)."""
    work.mkdir(parents=True, exist_ok=True)
    result: dict[str, Any] = {"rc": {}, "files": {}}
    if demo is None:
        demo = work / "demo"
        if run:
            result["rc"]["demo"] = _run(["demo", "-o", str(demo), "-q"], work)
    if DATA.is_dir() and run:
        result["rc"].update(_cli_runs(work))
    for root in (demo / "run", work):
        for path in sorted(p for p in root.rglob("*") if p.is_file()):
            rel = path.relative_to(root)
            if path.suffix in SKIP_SUFFIXES or ("demo" in rel.parts[:1] and root == work):
                continue
            name = f"{'demo' if root != work else 'cli'}/{rel.as_posix()}"
            result["files"][name] = _digest(path)
    out.write_text(json.dumps(result, indent=1, sort_keys=True, default=str), encoding="utf-8")
    print(f"{len(result['files'])} files recorded in {out}", file=sys.stderr)


def compare(old_path: Path, new_path: Path) -> int:
    """Print identical / changed / missing / new outputs; for a changed JSON, the keys that changed."""
    old, new = (json.loads(p.read_text(encoding="utf-8")) for p in (old_path, new_path))
    print(f"return codes: old {old['rc']}\n              new {new['rc']}")
    same = changed = 0
    for name in sorted(set(old["files"]) | set(new["files"])):
        a, b = old["files"].get(name), new["files"].get(name)
        if a is None or b is None:
            print(f"{'NEW    ' if a is None else 'MISSING'} {name}")
            changed += 1
        elif a["sha"] == b["sha"]:
            same += 1
        else:
            changed += 1
            print(f"CHANGED {name}")
            ja, jb = a.get("json"), b.get("json")
            if ja is not None and jb is not None:
                for key in sorted(set(ja) | set(jb)):
                    if ja.get(key) != jb.get(key):
                        print(f"    {key}: {str(ja.get(key))[:80]} -> {str(jb.get(key))[:80]}")
            elif "rows" in a:
                print(f"    rows {a['rows']} -> {b.get('rows')}")
    print(f"{same} identical, {changed} changed/missing/new")
    return 0 if changed == 0 else 1


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="cmd", required=True)
    rec = sub.add_parser("record")
    rec.add_argument("out", type=Path)
    rec.add_argument("--work", type=Path, required=True, help="empty folder for the runs' outputs")
    rec.add_argument("--demo", type=Path, help="a finished demo workspace to record instead of running one")
    rec.add_argument("--no-run", action="store_true", help="digest the outputs already in --work")
    cmp_ = sub.add_parser("compare")
    cmp_.add_argument("old", type=Path)
    cmp_.add_argument("new", type=Path)
    args = parser.parse_args()
    if args.cmd == "record":
        record(args.out, args.work, args.demo, run=not args.no_run)
        return 0
    return compare(args.old, args.new)


if __name__ == "__main__":
    raise SystemExit(main())
