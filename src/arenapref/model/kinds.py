"""Model kinds: what ``train`` builds for ``model = NAME`` and how a saved model folder is loaded.

``KINDS`` is the one list of model names (the command line's ``--model`` choices, the pipeline's
``[train] model``, the API's ``model=``). A kind checks its settings before any data is read, trains, and
recognises its own folders by their metadata file (``meta.json`` of a pickled scikit-learn-style estimator,
``llm_config.json`` of a fine-tuned LLM), so ``predict``, ``evaluate``, ``label --teacher`` and the
pipeline load any folder through ``load_model`` without knowing which kind wrote it.

Adding a kind: a ``ModelKind`` subclass (or an ``EstimatorKind`` naming a new class in
``model.estimators``) and one line in ``KINDS``. Everything heavy (LightGBM, torch) is imported inside the
methods, so the command line can list the names without paying for them.
"""

from __future__ import annotations

import json
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from arenapref.display import NotebookResult
from arenapref.errors import ArenaprefError
from arenapref.rejects import RejectLog

if TYPE_CHECKING:
    import pyarrow as pa

    from arenapref.model.io import PreferencePredictor


@dataclass(frozen=True)
class TrainRequest:
    """What one training run needs besides the settings: where the data is, seed, weights, reading options."""

    data: Any
    out: Path
    seed: int = 0
    weights: Mapping[str, float] = field(default_factory=dict)
    format: str | None = None
    split: str | None = None
    progress: bool = False


class ModelKind:
    """One kind of preference model: its settings check, training, and the folders it writes and loads.

    ``repeatable``: cheap enough to train many times over (``ablate`` trains each arm ``repeats`` times).
    ``default_folds``: the folds of ``train`` when ``folds`` is not set.
    """

    name = ""
    help = ""
    repeatable = True
    default_folds = 5

    def check_params(self, params: Mapping[str, Any]) -> None:
        """Raise ``ArenaprefError`` naming the hyper-parameter in ``params`` this kind cannot take."""
        raise NotImplementedError

    def check(self, folds: int, base: str | None, embeddings: bool, group_column: str | None) -> None:
        """Raise ``ArenaprefError`` naming the parameter when a setting does not fit this kind."""
        raise NotImplementedError

    def train(self, request: TrainRequest, settings: Any) -> Any:
        """Train on ``request.data`` with ``settings`` (a ``model.settings.TrainSettings``), write the
        folder; returns a summary with ``lines()``, ``as_dict()``, ``brief()``, ``counts()``, ``rejects``."""
        raise NotImplementedError

    def owns(self, folder: Path) -> bool:
        """Whether ``folder``'s metadata says this kind wrote it."""
        raise NotImplementedError

    def load(self, folder: Path) -> PreferencePredictor:
        """The saved model, ready to ``predict_proba`` battles (both A/B orders averaged)."""
        raise NotImplementedError

    def teacher(self, folder: Path) -> PreferencePredictor:
        """The saved model as a teacher labeler (``label --teacher``), which scores both orders itself."""
        return self.load(folder)


def _meta_model(folder: Path) -> str | None:
    """The estimator name ``meta.json`` records (``info.model``); None when the file says nothing usable."""
    from arenapref.model.io import META_FILE

    try:
        meta = json.loads((folder / META_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    info = meta.get("info") if isinstance(meta, dict) else None
    name = info.get("model") if isinstance(info, dict) else None
    return name if isinstance(name, str) else None


class EstimatorKind(ModelKind):
    """A scikit-learn-style estimator of ``model.estimators`` (``class_name``), cross-validated and calibrated
    by ``CalibratedPreferenceModel`` and pickled with ``meta.json``."""

    def __init__(self, name: str, class_name: str, help: str) -> None:
        self.name, self.class_name, self.help = name, class_name, help

    def estimator_params(
        self, params: Mapping[str, Any], seeds: int = 3, embeddings: bool = False
    ) -> dict[str, Any]:
        """The estimator's hyper-parameters: ``params``, with lgbm's seed ensemble and embedding switch."""
        out = dict(params)
        if self.name == "lgbm":
            out.setdefault("n_seeds", seeds)
            if embeddings:
                out["embeddings"] = True
        return out

    def check_params(self, params: Mapping[str, Any]) -> None:
        make_estimator(self.name, **self.estimator_params(params))

    def check(self, folds: int, base: str | None, embeddings: bool, group_column: str | None) -> None:
        if base is not None:
            raise ArenaprefError("`base` is for `model`=llm only")
        if embeddings and self.name != "lgbm":
            raise ArenaprefError("`embeddings` needs `model`=lgbm")
        if folds < 2:
            raise ArenaprefError(f"`folds`={folds}: cross-validation needs at least 2 folds")

    def train(self, request: TrainRequest, settings: Any) -> Any:
        from arenapref.model.training import fit_and_save, read_labeled

        started = time.perf_counter()
        params = self.estimator_params(settings.params, settings.seeds, settings.embeddings)
        if self.name == "lgbm":
            params.setdefault("random_state", request.seed)
        # Built first: a bad hyper-parameter is one sentence before the data is read, not after.
        estimator = make_estimator(self.name, **params)
        rejects = RejectLog()
        table, described = read_labeled(request.data, rejects, request.format, request.split)
        return fit_and_save(
            table,
            request.out,
            estimator,
            model=self.name,
            described=described,
            n_folds=settings.folds,
            weights=request.weights,
            seed=request.seed,
            group_column=settings.group_column,
            task=settings.task,
            ties=settings.ties,
            rejects=rejects,
            started=started,
        )

    def owns(self, folder: Path) -> bool:
        from arenapref.model.io import META_FILE

        return (folder / META_FILE).is_file() and (_meta_model(folder) or "lgbm") == self.name

    def load(self, folder: Path) -> PreferencePredictor:
        from arenapref.model.io import load_estimator

        return load_estimator(folder)


@dataclass(repr=False)
class LLMTrainSummary(NotebookResult):
    """What ``train`` with ``model = "llm"`` did: ``train_llm``'s figures (validation log loss, timings)."""

    out: Path
    figures: dict[str, Any]
    rejects: RejectLog = field(default_factory=RejectLog)

    def lines(self) -> list[str]:
        return [f"trained an LLM preference model in {self.out}"]

    def summary_lines(self) -> list[str]:
        return self.lines()

    def to_arrow(self) -> pa.Table:
        import pyarrow as pa

        losses = self.figures.get("fold_log_loss") or []
        return pa.table({"fold": list(range(1, len(losses) + 1)), "valid_log_loss": losses})

    def as_dict(self) -> dict[str, Any]:
        return {"out": str(self.out), **self.figures}

    def brief(self) -> str:
        f = self.figures
        loss = f.get("oof_log_loss")
        score = "no validation rows" if loss is None else f"validation log loss {loss:.4f}"
        prior = f.get("prior_log_loss")
        return f"LLM on {f.get('n_labeled', 0):,} labeled battles, {score}" + (
            "" if prior is None else f" (class prior {prior:.4f})"
        )

    def counts(self) -> dict[str, Any]:
        keys = ("n_labeled", "n_validation", "oof_log_loss", "prior_log_loss", "temperature")
        return {k: self.figures.get(k) for k in keys}


class _LLMPredictor:
    """A fine-tuned LLM folder as a predictor, loaded (torch and all) on first use.

    ``swap_average``: average both A/B orders inside the model (``predict``, ``evaluate``); a teacher scores
    both orders itself and keeps them apart (``p_ab``, ``p_ba``, ``order_consistent``), so averaging inside
    would hide its position bias and double the work.
    """

    def __init__(self, model_dir: Path, swap_average: bool) -> None:
        self.model_dir = model_dir
        self.swap_average = swap_average
        self._model: PreferencePredictor | None = None

    def predict_proba(self, table: pa.Table) -> np.ndarray:
        if self._model is None:
            from arenapref.model.llm import load_llm

            self._model = load_llm(self.model_dir, swap_average=self.swap_average)
        return np.asarray(self._model.predict_proba(table))


class LLMKind(ModelKind):
    """A causal LM fine-tuned with LoRA as a three-way classifier (``arenapref.model.llm``), from ``base``."""

    name = "llm"
    help = "a local LLM fine-tuned with LoRA (needs base; GPU)"
    repeatable = False
    default_folds = 0

    def check_params(self, params: Mapping[str, Any]) -> None:
        from arenapref.model.llm import parse_llm_params

        parse_llm_params(params)

    def check(self, folds: int, base: str | None, embeddings: bool, group_column: str | None) -> None:
        if base is None:
            raise ArenaprefError("`model`=llm needs `base`, a local model folder or GGUF file")
        if embeddings:
            raise ArenaprefError("`embeddings` needs `model`=lgbm")
        if group_column is not None:
            raise ArenaprefError("`group_column` is for the cross-validated models, not `model`=llm")
        if folds == 1 or folds < 0:
            raise ArenaprefError(f"`folds`={folds}: expected 0 (one grouped hold-out) or at least 2")

    def train(self, request: TrainRequest, settings: Any) -> Any:
        from arenapref.model.llm import train_llm
        from arenapref.model.training import read_labeled

        rejects = RejectLog()
        table, _ = read_labeled(request.data, rejects, request.format, request.split)
        figures = train_llm(
            table,
            request.out,
            Path(settings.base),
            dict(settings.params),
            seed=request.seed,
            folds=settings.folds,
            progress=request.progress,
            weights=dict(request.weights),
        )
        return LLMTrainSummary(request.out, figures, rejects)

    def owns(self, folder: Path) -> bool:
        from arenapref.model.llm import is_llm_model_dir

        return bool(is_llm_model_dir(folder))

    def load(self, folder: Path) -> PreferencePredictor:
        return _LLMPredictor(folder, swap_average=True)

    def teacher(self, folder: Path) -> PreferencePredictor:
        return _LLMPredictor(folder, swap_average=False)


KINDS: dict[str, ModelKind] = {
    k.name: k
    for k in (
        EstimatorKind("lgbm", "LGBMPreferenceModel", "LightGBM on answer features (default)"),
        EstimatorKind("length", "LengthLogisticModel", "logistic regression on answer lengths (baseline)"),
        EstimatorKind("prior", "PriorModel", "the class prior (baseline)"),
        LLMKind(),
    )
}
DEFAULT_KIND = "lgbm"


def kind(name: str) -> ModelKind:
    """The kind called ``name``; an unknown name is one sentence listing them."""
    if name not in KINDS:
        raise ArenaprefError(f"unknown model {name!r}; expected one of {', '.join(KINDS)}")
    return KINDS[name]


def make_estimator(name: str, **params: Any) -> Any:
    """An unfitted estimator of an estimator kind (``prior``, ``length``, ``lgbm``) with these parameters."""
    import arenapref.model.estimators as estimators

    k = kind(name)
    if not isinstance(k, EstimatorKind):
        raise ArenaprefError(f"`model`={name} is not a scikit-learn-style estimator")
    try:
        est = getattr(estimators, k.class_name)(**params)
    except TypeError as exc:
        raise ArenaprefError(f"bad parameters for model {name!r}: {exc}") from exc
    est.check_params()
    return est


def folder_kind(model_dir: str | Path) -> ModelKind:
    """The kind whose metadata ``model_dir`` holds (the default kind's loader explains a folder of none)."""
    folder = Path(model_dir)
    return next((k for k in KINDS.values() if k.owns(folder)), KINDS[DEFAULT_KIND])


def load_model(model_dir: str | Path) -> PreferencePredictor:
    """Load any model folder ``train`` writes, of whichever kind (checked: format, versions, checksum)."""
    return folder_kind(model_dir).load(Path(model_dir))


def load_teacher(model_dir: str | Path) -> PreferencePredictor:
    """A model folder as a teacher labeler (``label --teacher``); see ``ModelKind.teacher``."""
    path = Path(model_dir)
    if not path.is_dir():
        raise ArenaprefError(f"{path}: no such model directory")
    return folder_kind(path).teacher(path)


__all__ = [
    "DEFAULT_KIND",
    "KINDS",
    "EstimatorKind",
    "LLMKind",
    "LLMTrainSummary",
    "ModelKind",
    "TrainRequest",
    "folder_kind",
    "kind",
    "load_model",
    "load_teacher",
    "make_estimator",
]
