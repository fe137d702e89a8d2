"""The run history: one record per ``arenapref run``, appended to ``RUN_DIR/history.jsonl``, never rewritten.

A run folder holds only the latest output of each stage; the history is what lets two runs be compared
after the second replaced the first's outputs. Each record holds the run's whole config (every setting,
defaults spelled out), each stage's status and why it ran, every stage's figures (its manifest's counts,
for the stages whose output the run ended with) and the key figures a competitor compares first.

Records are appended under the run folder's lock as one line each (one ``write``, flushed and synced),
so no record is ever overwritten; a line cut short by a kill is reported and skipped, never trusted.
"""

from __future__ import annotations

import json
import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from arenapref.errors import ArenaprefError
from arenapref.pipeline.config import CONFIG_NAME, PipelineConfig, load_config
from arenapref.pipeline.manifest import read_manifest
from arenapref.pipeline.runfolder import HISTORY, MARKER

# The figures compared first: name -> (stage, path inside that stage's manifest counts).
KEY_FIGURES: dict[str, tuple[str, tuple[str, ...]]] = {
    "oof_log_loss": ("train", ("oof_log_loss",)),
    "ablation_diff": ("ablate", ("diff",)),
    "ablation_low": ("ablate", ("low",)),
    "ablation_high": ("ablate", ("high",)),
    "pairs_mined": ("mine", ("pairs",)),
    "judge_cost": ("label", ("judge", "cost_this_run")),
}
# Stage statuses whose output is the run's result (figures are read from their manifests).
CURRENT = ("ran", "skipped", "kept")


def _dig(data: Any, path: tuple[str, ...]) -> Any:
    for part in path:
        if not isinstance(data, dict):
            return None
        data = data.get(part)
    return data


def build_record(
    config_path: Path,
    config: PipelineConfig,
    run_dir: Path,
    stages: list[dict[str, Any]],
    started: str,
    seconds: float,
    outcome: str,
) -> dict[str, Any]:
    """One run's record: settings, per-stage status and figures, key figures (no id yet)."""
    figures: dict[str, Any] = {}
    for st in stages:
        manifest = read_manifest(run_dir / st["name"]) if st["status"] in CURRENT else None
        if manifest is not None:
            figures[st["name"]] = manifest.get("counts", {})
    key = {name: _dig(figures.get(stage), path) for name, (stage, path) in KEY_FIGURES.items()}
    return {
        "started": started,
        "seconds": round(seconds, 3),
        "outcome": outcome,
        "config": str(config_path),
        "settings": config.model_dump(mode="json"),
        "stages": {
            st["name"]: {k: st[k] for k in ("status", "reason", "seconds", "summary")} for st in stages
        },
        "figures": figures,
        "key_figures": {k: v for k, v in key.items() if v is not None},
    }


def append_record(run_dir: Path, record: dict[str, Any]) -> dict[str, Any]:
    """Append ``record`` with the next id (call with the run folder locked); return it with its id."""
    path = run_dir / HISTORY
    ids = [r["id"] for r in read_history(run_dir).records]
    stored = {"id": max(ids, default=0) + 1, **record}
    line = json.dumps(stored, ensure_ascii=False, default=str, separators=(",", ":")) + "\n"
    with path.open("a", encoding="utf-8") as fh:
        if fh.tell() and not path.read_bytes().endswith(b"\n"):
            fh.write("\n")  # a line cut short by a kill stays on its own line, reported by read_history
        fh.write(line)
        fh.flush()
        os.fsync(fh.fileno())
    return stored


@dataclass
class History:
    """The complete records, oldest first, and the numbers of lines that are not complete records."""

    records: list[dict[str, Any]]
    damaged: list[int]

    def note(self, run_dir: Path) -> str | None:
        """One sentence about damaged lines (a run killed while writing its record), or None."""
        if not self.damaged:
            return None
        lines = ", ".join(str(n) for n in self.damaged)
        return (
            f"{run_dir / HISTORY}: line(s) {lines} are not complete run records "
            "(a run killed while writing?); skipped"
        )


def read_history(run_dir: Path) -> History:
    """Every complete record of the run folder's history, and where the damaged lines are."""
    path = run_dir / HISTORY
    history = History([], [])
    if not path.is_file():
        return history
    for i, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        try:
            rec = json.loads(line)
        except ValueError:
            rec = None
        if isinstance(rec, dict) and isinstance(rec.get("id"), int):
            history.records.append(rec)
        else:
            history.damaged.append(i)
    return history


def history_dir(where: str | Path) -> Path:
    """The run folder a user points at: a PIPELINE.toml, the workspace holding one, or the run folder."""
    p = Path(where)
    if p.is_dir() and ((p / MARKER).is_file() or (p / HISTORY).is_file()):
        return p
    cfg = p / CONFIG_NAME if p.is_dir() else p
    if cfg.is_file():
        run_dir = Path(load_config(cfg).run.dir).expanduser()
        return run_dir if run_dir.is_absolute() else cfg.resolve().parent / run_dir
    raise ArenaprefError(
        f"{p}: neither a pipeline config, a workspace holding {CONFIG_NAME}, nor a run folder"
    )


def find_record(records: list[dict[str, Any]], ref: str) -> dict[str, Any]:
    """The record a user names: its id, or ``last``."""
    if not records:
        raise ArenaprefError("the run history is empty: no run has finished in this run folder yet")
    if ref == "last":
        return records[-1]
    if ref.isdigit():
        for rec in records:
            if rec["id"] == int(ref):
                return rec
    ids = ", ".join(str(r["id"]) for r in records)
    raise ArenaprefError(f"run {ref!r}: no such run in the history (the runs are {ids}, or 'last')")


def flatten(data: Any, prefix: str = "") -> dict[str, Any]:
    """Nested dicts as dotted keys (lists stay values), so two records compare key by key."""
    if not isinstance(data, dict):
        return {prefix: data}
    out: dict[str, Any] = {}
    for k, v in data.items():
        out.update(flatten(v, f"{prefix}.{k}" if prefix else str(k)))
    return out


@dataclass
class Change:
    """One setting or figure that differs between two runs (None: absent in that run)."""

    key: str
    a: Any
    b: Any

    def line(self) -> str:
        delta = ""
        if (
            isinstance(self.a, int | float)
            and isinstance(self.b, int | float)
            and not isinstance(self.a, bool)
        ):
            delta = f"  ({self.b - self.a:+.4g})"
        return f"  {self.key}: {_shown(self.a)} -> {_shown(self.b)}{delta}"


def _shown(v: Any) -> str:
    if v is None:
        return "(absent)"
    return f"{v:.6g}" if isinstance(v, float) else json.dumps(v, ensure_ascii=False)


def diff_records(a: dict[str, Any], b: dict[str, Any]) -> dict[str, list[Change]]:
    """What changed from run ``a`` to run ``b``: settings and figures (key figures first)."""
    out: dict[str, list[Change]] = {}
    for part in ("key_figures", "settings", "figures"):
        fa, fb = flatten(a.get(part, {})), flatten(b.get(part, {}))
        out[part] = [Change(k, fa.get(k), fb.get(k)) for k in sorted(fa | fb) if fa.get(k) != fb.get(k)]
    return out


def now() -> str:
    """UTC time as records write it."""
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())


__all__ = [
    "KEY_FIGURES",
    "Change",
    "History",
    "append_record",
    "build_record",
    "diff_records",
    "find_record",
    "flatten",
    "history_dir",
    "now",
    "read_history",
]
