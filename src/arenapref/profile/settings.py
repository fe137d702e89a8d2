"""The profile stage's settings: one model behind ``arenapref profile``, the pipeline's ``[profile]`` and
``ap.profile`` (tests/test_data_settings.py proves they are one set with one default each).

Pydantic only, so the command line and the pipeline's config import it without the profiling code.
"""

from __future__ import annotations

from typing import Literal, get_args

from arenapref.settings import StageSettings

#: The bundled quicktok encodings token counts can use.
Tokenizer = Literal["cl100k_base", "o200k_base", "o200k_harmony", "llama3", "qwen3"]
TOKENIZERS: tuple[str, ...] = get_args(Tokenizer)
DEFAULT_TOKENIZER: Tokenizer = "cl100k_base"


class ProfileSettings(StageSettings):
    """How a source is profiled: the encoding its token counts use."""

    tokenizer: Tokenizer = DEFAULT_TOKENIZER


__all__ = ["DEFAULT_TOKENIZER", "TOKENIZERS", "ProfileSettings", "Tokenizer"]
