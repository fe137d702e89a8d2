"""``--executor`` and ``--address``: the two options every distributable command shares.

Kept free of heavy imports (only typer), so that ``arenapref.cli`` can use them without importing Ray.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Annotated

import typer

if TYPE_CHECKING:
    from arenapref.executors.base import Executor

ExecutorOption = Annotated[
    str,
    typer.Option(
        "--executor",
        help="Where the per-shard work runs: local (this process), threads or processes (a pool on this "
        "machine's cores), or ray (a Ray cluster; pip install 'arenapref[ray]').",
        envvar="ARENAPREF_EXECUTOR",
    ),
]
AddressOption = Annotated[
    str | None,
    typer.Option(
        "--address",
        help="Ray cluster to join with --executor ray (auto, or ray://HEAD:10001); default: start a local "
        "Ray instance.",
        envvar="ARENAPREF_RAY_ADDRESS",
    ),
]


@contextmanager
def executor_for(name: str, address: str | None) -> Iterator[Executor | None]:
    """The executor a command's options ask for; ``None`` for plain local runs, so a command keeps its
    own single-process code path there. A Ray instance this starts is stopped on leaving the block."""
    from arenapref.executors.registry import get_executor

    executor = get_executor(name, address)
    if executor.name == "local":
        yield None
        return
    with executor:
        yield executor
