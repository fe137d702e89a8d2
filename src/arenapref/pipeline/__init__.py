"""One config-driven, resumable run of every stage (``arenapref run PIPELINE.toml``).

``config`` is the PIPELINE.toml schema, ``stage`` the protocol and registry, ``stages`` the nine
adapters to the stage packages, ``runner`` the skipping, atomic, manifest-writing loop, ``manifest`` the
keys and content hashes, ``runfolder`` the run folder's rules and lock, ``history`` the run history
(``arenapref runs``) and ``tracking`` its optional MLflow copy. Stage packages
never import this package; this package is the only place they meet.
"""

from __future__ import annotations

from arenapref.pipeline.config import CONFIG_NAME, PipelineConfig, load_config, parse_config, to_toml
from arenapref.pipeline.runner import RUN_FILE, RunSummary, StageStatus, run_pipeline, stage_names
from arenapref.pipeline.stage import REGISTRY, Stage, StageContext, StageOutcome, register

__all__ = [
    "CONFIG_NAME",
    "REGISTRY",
    "RUN_FILE",
    "PipelineConfig",
    "RunSummary",
    "Stage",
    "StageContext",
    "StageOutcome",
    "StageStatus",
    "load_config",
    "parse_config",
    "register",
    "run_pipeline",
    "stage_names",
    "to_toml",
]
