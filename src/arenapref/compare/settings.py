"""The settings of ``compare`` and of the leakage guard (``decontaminate``, ``check-leakage``).

One model each behind the command's options, the pipeline's ``[compare]`` section and the Python API's
keywords (tests/test_data_settings.py proves they are one set with one default each). Pydantic only, so
the command line and the pipeline's config import it without loading the matching code.
"""

from __future__ import annotations

from functools import cached_property
from typing import TYPE_CHECKING, Annotated, Literal

from pydantic import Field

from arenapref.settings import StageSettings

if TYPE_CHECKING:
    from arenapref.compare.near import NearDupSettings

#: Compare the whole list of user turns, or the first user turn only.
TurnsMode = Literal["all", "first"]
#: Compare prompts, or the answers of conversation sources.
TextField = Literal["prompt", "response"]
#: A Jaccard similarity at or above which two texts are near-duplicates (0 and 1 would match all or none).
Threshold = Annotated[float, Field(gt=0, lt=1)]
#: Characters a partial match must share (the LMSYS-Chat-1M paper's minimum prompt length), so that "hi"
#: does not match every conversation opening with "hi" (a Han, kana or Hangul character counts as several:
#: ``normalize.text_sizes``).
MIN_SHARED_CHARS = 32


class CompareSettings(StageSettings):
    """How two sources' prompts are matched: exactly, after masking, and (``near``) as near-duplicates.

    ``sample``: matched pairs per kind shown side by side in the report, drawn with ``seed``.
    """

    threshold: Threshold = 0.8
    turns: TurnsMode = "all"
    text: TextField = "prompt"
    mask_pii: bool = True
    near: bool = True
    sample: int = Field(default=5, ge=0)
    seed: int = Field(default=0, ge=0)

    @cached_property
    def near_settings(self) -> NearDupSettings:
        """The MinHash settings at ``threshold`` (the rest are ``NearDupSettings``' defaults)."""
        from arenapref.compare.near import NearDupSettings

        return NearDupSettings(threshold=self.threshold)


class GuardSettings(StageSettings):
    """When a record leaks a protected record's prompt (see ``compare.guard``): the matching rule's knobs."""

    threshold: Threshold = 0.8
    turns: TurnsMode = "all"
    min_chars: int = Field(default=MIN_SHARED_CHARS, ge=0)
    mask_pii: bool = True
    near: bool = True


__all__ = ["MIN_SHARED_CHARS", "CompareSettings", "GuardSettings", "TextField", "Threshold", "TurnsMode"]
