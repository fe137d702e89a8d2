"""The Ray executor: blocks as Ray tasks, on a local Ray instance or an existing cluster.

``ray`` is imported only here, and this module only when ``--executor ray`` is asked for. Tasks are
submitted with a bounded number in flight (twice the cluster's CPUs), and results are fetched in block
order, so the driver holds a few blocks' results at a time.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Iterable, Iterator
from typing import Any, TypeVar

import ray

from arenapref.errors import ArenaprefError
from arenapref.executors.base import Executor

T = TypeVar("T")
R = TypeVar("R")

#: Object store of a Ray instance this executor starts itself (small: blocks are a few MB each).
LOCAL_OBJECT_STORE_BYTES = 256 * 1024 * 1024


def _apply(fn: Callable[[Any], Any], item: Any) -> Any:
    return fn(item)


class RayExecutor(Executor):
    """Runs blocks as Ray tasks; starts (and later stops) a local Ray instance when none is running.

    With ``address`` it joins that cluster instead, and never shuts the cluster down.
    """

    name = "ray"

    def __init__(self, address: str | None = None, num_cpus: int | None = None) -> None:
        self._owns = False
        if not ray.is_initialized():
            try:
                if address is None:
                    ray.init(
                        num_cpus=num_cpus,
                        include_dashboard=False,
                        object_store_memory=LOCAL_OBJECT_STORE_BYTES,
                        log_to_driver=False,
                    )
                else:
                    ray.init(address=address, include_dashboard=False, log_to_driver=False)
            except (ConnectionError, ValueError, RuntimeError) as exc:
                where = address or "a local Ray instance"
                raise ArenaprefError(f"`address`={where}: could not connect to Ray ({exc})") from exc
            self._owns = True
        self._task = ray.remote(_apply)

    @property
    def workers(self) -> int:
        resources: dict[str, float] = ray.cluster_resources()  # type: ignore[no-untyped-call]
        return max(1, int(resources.get("CPU", 1)))

    def imap(self, fn: Callable[[T], R], items: Iterable[T]) -> Iterator[R]:
        limit = 2 * self.workers
        fn_ref = ray.put(fn)
        pending: deque[Any] = deque()
        it = iter(items)
        for item in it:
            pending.append(self._task.remote(fn_ref, item))
            if len(pending) >= limit:
                break
        while pending:
            result: R = get_result(pending.popleft())
            nxt = next(it, _END)
            if nxt is not _END:
                pending.append(self._task.remote(fn_ref, nxt))
            yield result

    def close(self) -> None:
        if self._owns and ray.is_initialized():
            ray.shutdown()
        self._owns = False


_END: Any = object()


def get_result(ref: Any) -> Any:
    """A task's result; a user error raised on a worker is raised here as itself (one sentence, no
    remote traceback), anything else as Ray's error."""
    try:
        return ray.get(ref)
    except ray.exceptions.RayTaskError as exc:
        if isinstance(exc.cause, ArenaprefError):
            raise exc.cause from None
        raise
