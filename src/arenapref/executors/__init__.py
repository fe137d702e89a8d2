"""Where stage code runs, kept apart from what it computes (as in datatrove).

A stage is written as a per-block function (one shard or one slice of a table in, a small mergeable
partial result out) plus a merge on the driver. ``LocalExecutor`` runs the blocks one after another in
this process; ``RayExecutor`` runs them as Ray tasks on a local Ray instance or an existing cluster.
Both run the same functions, so their results are equal (see each stage module for the one float
tolerance that applies).

Notebook use::

    from arenapref.executors import get_executor
    from arenapref.executors.profile import profile_paths_with
    with get_executor("ray", address="auto") as ex:
        profiles = profile_paths_with(ex, ["data/lmsys"])
"""

from __future__ import annotations

from arenapref.executors.base import Executor, LocalExecutor
from arenapref.executors.registry import EXECUTORS, get_executor

# Stage functions live in their modules (``arenapref.executors.profile`` ...), not here, so that the
# command line can import the options without importing polars, scipy or ray.
__all__ = ["EXECUTORS", "Executor", "LocalExecutor", "get_executor"]
