"""A small error hierarchy: what the command line turns into one sentence and a documented exit code.

Exit codes (one table, also in the README):

==== =================================================================================
code meaning
==== =================================================================================
0    done: every requested output is complete
1    user error: bad input, bad option value, a file that is not what it claims to be
2    usage: unknown command or option (click's own code)
3    check failed: a check looked and found a problem (leakage, an invalid submission)
4    incomplete: the command ran but some work remains (pairs left unlabeled, budget hit)
130  interrupted (Ctrl-C); outputs are left complete or absent
==== =================================================================================
"""

from __future__ import annotations

EXIT_OK = 0
EXIT_USER_ERROR = 1
EXIT_USAGE = 2
EXIT_CHECK_FAILED = 3
EXIT_INCOMPLETE = 4
EXIT_INTERRUPTED = 130


class ArenaprefError(Exception):
    """A problem the user can act on; the CLI prints the message without a traceback."""

    exit_code: int = EXIT_USER_ERROR


class InputFormatError(ArenaprefError):
    """A file is not the format it was read as (wrong columns, not JSON, not Parquet, ...)."""


class CheckFailed(ArenaprefError):
    """A check ran, looked at everything it was asked to, and found a problem (exit code 3)."""

    exit_code = EXIT_CHECK_FAILED


class Incomplete(ArenaprefError):
    """The command finished what it could, but work remains, e.g. pairs in the failures file (exit 4)."""

    exit_code = EXIT_INCOMPLETE


class MissingDependencyError(ArenaprefError):
    """An optional dependency is needed for the requested feature."""

    def __init__(self, package: str, feature: str, extra: str) -> None:
        super().__init__(f"install {package} to use {feature} (pip install 'arenapref[{extra}]')")
