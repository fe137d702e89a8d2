"""Where stage steps run, kept apart from what they compute (as in datatrove).

A stage step that can run in parallel is a ``BlockStep`` (``executors.base``): its blocks, the work
on one block, and the merge on the driver. ``run_step`` runs any step on any executor:
``LocalExecutor`` runs the blocks one after another in this process, ``RayExecutor`` as Ray tasks on a
local Ray instance or an existing cluster; without an executor a step takes its single-process path.
The steps live in their stage packages (``profile.core.ProfileStep``, ``compare.overlap.KeyCodeStep``,
``mine.grouping.GroupStep``, ...); this package knows none of them.

Notebook use::

    from arenapref.executors import get_executor
    from arenapref.profile import profile_paths
    with get_executor("ray", address="auto") as ex:
        profiles = profile_paths(["data/lmsys"], executor=ex)
"""

from __future__ import annotations

from arenapref.executors.base import BlockStep, Executor, LocalExecutor, run_step
from arenapref.executors.registry import EXECUTORS, get_executor

__all__ = ["EXECUTORS", "BlockStep", "Executor", "LocalExecutor", "get_executor", "run_step"]
