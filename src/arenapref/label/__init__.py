"""Pseudo-labels for battles: an LLM judge over any OpenAI-compatible API, teacher models, calibration.

Python API (the command line and the pipeline's label stage are thin layers over it)::

    # what `arenapref label` and the pipeline run: settings -> a judge with its budget and cache
    with open_judge(JudgeSettings(spec="default", base_url="offline", max_requests=1000)) as judge:
        result = judge(table)

    config = load_judge("default").with_overrides(base_url="http://localhost:8000/v1", model="m")
    with JudgeCache(default_cache_path()) as cache:
        result = judge_battles(table, config, api_key=resolve_api_key(config), cache=cache)
    write_outputs(result.table, result.failures, out, default_failures_path(out))
    # in a notebook cell, inside the running loop: result = await ajudge_battles(table, config, ...)

    result = teacher_battles(table, load_teacher("models/lgbm"), "lgbm")
    report = judge_eval(human_labeled_table, lambda t: judge_battles(t, config), "runs/eval")
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from arenapref.lazy import exports

if TYPE_CHECKING:
    from arenapref.label.calibration import CalibrationMap, fit_calibration, log_loss
    from arenapref.label.config import JudgeConfig, load_judge, render_messages
    from arenapref.label.evaluate import EvalReport, judge_eval
    from arenapref.label.judge import (
        LabelResult,
        LabelStats,
        ajudge_battles,
        api_key_from_env,
        judge_battles,
        resolve_api_key,
    )
    from arenapref.label.output import (
        Failure,
        default_failures_path,
        labeled_rows,
        write_labels,
        write_outputs,
    )
    from arenapref.label.parse import VerdictError, combine_orders, parse_verdict
    from arenapref.label.settings import JudgeSettings, LabelSettings, open_judge
    from arenapref.label.teacher import PreferenceModel, load_teacher, swap_battles, teacher_battles
    from arenapref.llmclient.cache import JudgeCache, OrderResult, default_cache_path
    from arenapref.llmclient.client import Budget, ChatClient
    from arenapref.llmclient.settings import default_base_url

__all__ = [
    "Budget",
    "CalibrationMap",
    "ChatClient",
    "EvalReport",
    "Failure",
    "JudgeCache",
    "JudgeConfig",
    "JudgeSettings",
    "LabelResult",
    "LabelSettings",
    "LabelStats",
    "OrderResult",
    "PreferenceModel",
    "VerdictError",
    "ajudge_battles",
    "api_key_from_env",
    "combine_orders",
    "default_base_url",
    "default_cache_path",
    "default_failures_path",
    "fit_calibration",
    "judge_battles",
    "judge_eval",
    "labeled_rows",
    "load_judge",
    "load_teacher",
    "log_loss",
    "open_judge",
    "parse_verdict",
    "render_messages",
    "resolve_api_key",
    "swap_battles",
    "teacher_battles",
    "write_labels",
    "write_outputs",
]
# Each name loads its module on first use, so the settings modules import light (arenapref.lazy).
_LLMCLIENT = "arenapref.llmclient.cache arenapref.llmclient.client arenapref.llmclient.settings"
__getattr__, __dir__ = exports(
    __name__, __all__, f"settings calibration config evaluate judge output parse teacher {_LLMCLIENT}"
)
