"""arenapref: Arena-style preference data from chatbot logs, and the models that predict it.

In a notebook::

    import arenapref as ap
    battles = ap.read(train_df)             # or a path, an Arrow table, a polars frame, a HF Dataset
    summary = ap.train(train_df, "model/")
    ap.predict("model/", test_df)           # writes submission.csv

Every name of ``__all__`` is one job (``help(ap.mine)`` has an example). They are loaded on first use,
so ``import arenapref`` stays fast: the command line and the names a script never touches do not pay
for pyarrow, LightGBM or scikit-learn.
"""

from __future__ import annotations

import sys
from importlib import import_module
from types import ModuleType
from typing import TYPE_CHECKING, Any

from arenapref.api import __all__ as _API_FUNCTIONS
from arenapref.version import __version__

# One job per name: the functions of arenapref.api (a light module: it imports its work on first call)
# and the scikit-learn estimators.
__all__ = [
    "CalibratedPreferenceModel",
    "LGBMPreferenceModel",
    "LengthLogisticModel",
    "PriorModel",
    "__version__",
    *_API_FUNCTIONS,
]
# name -> the module that defines it, imported by __getattr__ on first use.
_LAZY = {
    "CalibratedPreferenceModel": "arenapref.model.training",
    "LGBMPreferenceModel": "arenapref.model.estimators",
    "LengthLogisticModel": "arenapref.model.estimators",
    "PriorModel": "arenapref.model.estimators",
} | dict.fromkeys(_API_FUNCTIONS, "arenapref.api")

if TYPE_CHECKING:
    from arenapref.api import *  # noqa: F403 (api.__all__, for type checkers)
    from arenapref.model.estimators import LengthLogisticModel, LGBMPreferenceModel, PriorModel
    from arenapref.model.training import CalibratedPreferenceModel


class _Package(ModuleType):
    """arenapref's own module type: each API name is a property that imports its definition on use.

    Why a property and not a module ``__getattr__``: ``compare``, ``label``, ``mine`` and ``profile``
    are also subpackages, and importing ``arenapref.compare.run`` makes the import system set the
    attribute ``arenapref.compare`` to the subpackage, which would replace the function ``ap.compare``.
    A property on the module's type wins over that instance attribute, so ``ap.compare`` is always the
    function; the subpackages stay importable by their dotted names (``from arenapref.compare import``).
    """


def _api_property(name: str, module: str) -> property:
    def get(self: ModuleType) -> Any:
        return getattr(import_module(module), name)

    def record(self: ModuleType, value: Any) -> None:
        self.__dict__[name] = value  # the import system recording a subpackage of the same name

    return property(get, record, doc=f"{module}.{name}")


for _name, _module in _LAZY.items():
    setattr(_Package, _name, _api_property(_name, _module))
sys.modules[__name__].__class__ = _Package


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
