"""A small error hierarchy: what the command line turns into one sentence and a non-zero exit."""

from __future__ import annotations


class ArenaprefError(Exception):
    """A problem the user can act on; the CLI prints the message without a traceback."""


class InputFormatError(ArenaprefError):
    """A file is not the format it was read as (wrong columns, not JSON, not Parquet, ...)."""


class MissingDependencyError(ArenaprefError):
    """An optional dependency is needed for the requested feature."""

    def __init__(self, package: str, feature: str, extra: str) -> None:
        super().__init__(f"install {package} to use {feature} (pip install 'arenapref[{extra}]')")
