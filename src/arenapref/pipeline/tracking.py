"""``[run] track = "mlflow"``: each run's history record logged to an MLflow store as well.

The same record ``history`` appends: every setting as a param (dotted keys), every numeric figure as a
metric (the key figures under their own names, the rest as ``STAGE.COUNT``), the HTML report and the
record itself as artifacts. The run is FINISHED when the pipeline completed, FAILED otherwise. MLflow is
an optional extra (``arenapref[mlflow]``) imported only here, and only when tracking is asked for.
"""

from __future__ import annotations

import importlib.util
import json
import os
import re
import tempfile
import time
from pathlib import Path
from typing import Any

from arenapref.errors import ArenaprefError, MissingDependencyError
from arenapref.pipeline.config import RunSettings

# MLflow's limits: 100 params and 1000 metrics per batch call; names of letters, digits and _-./ space.
PARAMS_PER_BATCH = 100
_UNSAFE = re.compile(r"[^A-Za-z0-9_\-./ ]")


def require_mlflow() -> None:
    """Stop before the run starts when tracking is asked for but MLflow is not installed."""
    if importlib.util.find_spec("mlflow") is None:
        raise MissingDependencyError("mlflow", 'run.track = "mlflow"', "mlflow")


def tracking_uri(run_dir: Path, run: RunSettings) -> str:
    """``run.mlflow_uri``, or the local file store RUN_DIR/mlruns.

    MLflow 3 keeps its file store in maintenance mode and refuses it unless MLFLOW_ALLOW_FILE_STORE is
    set; a file store is what needs no server and no database, so the default sets it (a user who sets
    the variable themselves, or names another store, decides otherwise).
    """
    if run.mlflow_uri:
        return run.mlflow_uri
    os.environ.setdefault("MLFLOW_ALLOW_FILE_STORE", "true")
    return (run_dir / "mlruns").resolve().as_uri()


def _name(key: str) -> str:
    return _UNSAFE.sub("_", key)


def params_and_metrics(record: dict[str, Any]) -> tuple[dict[str, str], dict[str, float]]:
    """The record as MLflow params (settings) and metrics (numeric figures, key figures by name)."""
    from arenapref.pipeline.history import flatten

    params = {
        _name(k): json.dumps(v) if not isinstance(v, str) else v
        for k, v in flatten(record["settings"]).items()
    }
    numbers = {**flatten(record["figures"]), **record["key_figures"]}
    metrics = {
        _name(k): float(v)
        for k, v in numbers.items()
        if isinstance(v, int | float) and not isinstance(v, bool)
    }
    return params, metrics


def log_run(run_dir: Path, run: RunSettings, record: dict[str, Any]) -> str:
    """Log one history record as an MLflow run; return the MLflow run id.

    The record is already in the history when this runs, so a store that cannot be written is one
    sentence naming the store, not a traceback.
    """
    from mlflow.exceptions import MlflowException

    uri = tracking_uri(run_dir, run)
    try:
        return _log(uri, run_dir, run.mlflow_experiment, record)
    except (MlflowException, OSError) as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise ArenaprefError(
            f"run {record['id']} is in the history, but logging it to MLflow at {uri} failed: {first}"
        ) from exc


def _log(uri: str, run_dir: Path, experiment: str, record: dict[str, Any]) -> str:
    from mlflow.entities import Metric, Param
    from mlflow.tracking import MlflowClient

    from arenapref.report import write_report

    client = MlflowClient(tracking_uri=uri)
    found = client.get_experiment_by_name(experiment)
    exp_id = found.experiment_id if found is not None else client.create_experiment(experiment)
    tags = {"arenapref.history_id": str(record["id"]), "arenapref.outcome": record["outcome"]}
    run_id: str = client.create_run(exp_id, run_name=f"arenapref run {record['id']}", tags=tags).info.run_id
    params, metrics = params_and_metrics(record)
    items = [Param(k, v) for k, v in params.items()]
    for i in range(0, len(items), PARAMS_PER_BATCH):
        client.log_batch(run_id, params=items[i : i + PARAMS_PER_BATCH])
    stamp = int(time.time() * 1000)
    client.log_batch(run_id, metrics=[Metric(k, v, stamp, 0) for k, v in metrics.items()])
    with tempfile.TemporaryDirectory(prefix="arenapref-mlflow-") as tmp:
        (Path(tmp) / "record.json").write_text(json.dumps(record, indent=2, default=str), encoding="utf-8")
        client.log_artifact(run_id, str(Path(tmp) / "record.json"))
        client.log_artifact(run_id, str(write_report(run_dir, Path(tmp) / "report.html")))
    client.set_terminated(run_id, status="FINISHED" if record["outcome"] == "completed" else "FAILED")
    return run_id


__all__ = ["log_run", "params_and_metrics", "require_mlflow", "tracking_uri"]
