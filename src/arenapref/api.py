"""The notebook API: one function per job, each taking whatever a notebook holds.

``import arenapref as ap`` gives these names (and the estimator classes) lazily, so the import costs
nothing until a function is called. Every ``data`` argument takes a path (file or folder), a pyarrow
Table, a pandas or polars DataFrame or a Hugging Face ``Dataset`` (duck-typed: ``datasets`` need not
be installed). Every result has ``.to_pandas()``, ``.to_polars()``, a one-screen ``repr`` and an HTML
card in Jupyter (``arenapref.display``). Long jobs take ``progress=`` (``arenapref.progress``: a bar in
notebooks by default, ``False`` for silence, or a ``progress(stage, done, total)`` callable).

Why a facade: the same jobs live in a dozen modules, with internal signatures shaped for the command
line and the pipeline (settings objects, lists of paths, three progress shapes). Here each job has one
name and keyword arguments; the modules underneath stay the one definition of the work.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from arenapref.progress import Progress, ProgressFn, StageCounts, close, reporter

if TYPE_CHECKING:
    import pyarrow as pa

    from arenapref.compare.guard import GuardResult, Leaks
    from arenapref.compare.run import CompareResult
    from arenapref.compare.settings import CompareSettings, GuardSettings
    from arenapref.executors.base import Executor
    from arenapref.label.evaluate import EvalReport as JudgeEvalReport
    from arenapref.label.judge import LabelResult
    from arenapref.label.settings import JudgeSettings
    from arenapref.mine.miner import MineResult
    from arenapref.mine.regenerate import Regeneration
    from arenapref.mine.settings import MineSettings, RegenerateSettings
    from arenapref.model.ablate import AblationReport
    from arenapref.model.evaluate import EvalReport
    from arenapref.model.leaderboard import Leaderboard
    from arenapref.model.predict import PredictSummary
    from arenapref.model.settings import (
        AblateSettings,
        EvaluateSettings,
        LeaderboardSettings,
        PredictSettings,
        TrainSettings,
    )
    from arenapref.profile.core import Profile
    from arenapref.profile.settings import ProfileSettings
    from arenapref.rejects import RejectLog
    from arenapref.topics.fit import TopicModel
    from arenapref.topics.probe import ProbeReport


def _records(data: Any, what: str = "data") -> pa.Table:
    """Records in the shared schema (battles or conversations) from anything the readers read."""
    from arenapref.compare.sources import as_table

    return as_table(data, what)[0]


def _many(data: Any) -> list[Any]:
    """One source or a list of them (a DataFrame is one source, not a sequence of rows)."""
    return list(data) if isinstance(data, (list, tuple)) else [data]


def read(
    data: Any, kind: Literal["battles", "conversations"] | None = None, format: str | None = None
) -> pa.Table:
    """Read any supported source into a pyarrow Table in the shared schema (battles or conversations).

    ``kind`` insists on one record kind (a clear error otherwise); ``format`` skips detection. Rows that
    cannot be read are left out and counted (see ``arenapref.readers``).

    Example::

        >>> import arenapref as ap
        >>> battles = ap.read("train.csv")                    # Kaggle's competition layout
        >>> battles = ap.read(train_df, kind="battles")       # a pandas or polars DataFrame
        >>> battles.to_pandas().head()
    """
    from arenapref.readers import open_source

    src = open_source(data, format)
    if kind is not None and src.kind != kind:
        from arenapref.errors import InputFormatError

        raise InputFormatError(f"{src.path}: holds {src.kind} ({src.format}), not {kind}")
    return src.read_table()


def profile(
    data: Any,
    *,
    split: str | None = None,
    executor: Executor | None = None,
    settings: ProfileSettings | None = None,
    **fields: Any,
) -> Profile:
    """Rows, models, users, languages, token lengths and the label mix of one source.

    ``fields`` are ``profile.settings.ProfileSettings`` fields (``tokenizer``), or pass ``settings``;
    ``split`` picks one split of a folder or DatasetDict with several; ``executor`` profiles the
    source's files on it.

    Example::

        >>> p = ap.profile("lmsys-chat-1m/")
        >>> p                      # a short summary; p.to_pandas() is the per-model table
    """
    from arenapref.profile.core import profile_source
    from arenapref.profile.settings import ProfileSettings
    from arenapref.readers import open_source
    from arenapref.settings import settings_or_fields

    options = settings_or_fields(ProfileSettings, settings, fields)
    source = open_source(data, split=split)
    return profile_source(source, options.tokenizer, executor=executor)


def compare(
    left: Any,
    right: Any = None,
    *,
    format_left: str | None = None,
    format_right: str | None = None,
    split: str | None = None,
    executor: Executor | None = None,
    progress: Progress = None,
    left_name: str | None = None,
    right_name: str | None = None,
    settings: CompareSettings | None = None,
    **fields: Any,
) -> CompareResult:
    """Prompt overlap between two sources (or duplicates within one): exact, placeholder-masked and near.

    ``fields`` are ``compare.settings.CompareSettings`` fields (``threshold``, ``turns``, ``text``,
    ``mask_pii``, ``near``, ``sample``, ``seed``), or pass ``settings``; ``split`` picks one split of a
    folder or DatasetDict with several. Paths and opened reader ``Source``s are streamed, and a side may
    be a list of them (read in order as one side, named ``left_name``/``right_name``; with no ``right``
    that one set is searched for duplicates within it); ``executor``
    (streamed sides only) reads and matches on it (``arenapref.executors``); ``result.sources`` holds
    every source read, with its reject log.

    Example::

        >>> res = ap.compare(lmsys_df, train_df)
        >>> res                    # shares both ways; res.to_pandas() is one row per match
    """
    from arenapref.compare.run import compare as run
    from arenapref.compare.run import compare_paths
    from arenapref.compare.settings import CompareSettings
    from arenapref.readers import Source
    from arenapref.settings import settings_or_fields

    options = settings_or_fields(CompareSettings, settings, fields)
    tell = reporter(progress, "compare")
    counts = StageCounts(tell) if tell is not None else None
    try:
        given = [*_many(left), *([] if right is None else _many(right))]
        if not all(isinstance(x, (str, Path, Source)) for x in given):
            if executor is not None or format_left or format_right:
                from arenapref.errors import ArenaprefError

                raise ArenaprefError("`executor`, `format_left` and `format_right` apply to paths only")
            return run(left, right, options, split, left_name, right_name)
        sides = (left, left if right is None else right, options, format_left, format_right, counts)
        return compare_paths(
            *sides, split=split, executor=executor, left_name=left_name, right_name=right_name
        )
    finally:
        close(tell)


def _guard_options(settings: GuardSettings | None, fields: Mapping[str, Any]) -> GuardSettings:
    """The guard's settings: ``settings``, or ``compare.settings.GuardSettings`` built from ``fields``."""
    from arenapref.compare.settings import GuardSettings
    from arenapref.settings import settings_or_fields

    return settings_or_fields(GuardSettings, settings, fields)


def decontaminate(
    candidates: Any,
    protect: Any,
    *,
    split: str | None = None,
    protect_names: Sequence[str] | None = None,
    executor: Executor | None = None,
    settings: GuardSettings | None = None,
    **fields: Any,
) -> GuardResult:
    """Drop every candidate record whose prompt matches a protected source (exact, masked or near).

    ``protect``: one source or a list (the competition's train and test, say); ``fields`` are
    ``compare.settings.GuardSettings`` fields (``threshold``, ``turns``, ``min_chars``, ``mask_pii``,
    ``near``), or pass ``settings``; ``split`` picks one split of ``candidates``; ``executor`` runs the
    matching on it.

    Example::

        >>> clean = ap.decontaminate(mined_pairs, [train_df, test_df])
        >>> clean.counts, clean.to_pandas()      # kept rows; clean.dropped has the others and why
    """
    from arenapref.compare.guard import decontaminate as run

    options = _guard_options(settings, fields)
    table = _records(data=candidates if split is None else _split(candidates, split), what="candidates")
    return run(table, _many(protect), options, protect_names=protect_names, executor=executor)


def _split(data: Any, split: str) -> Any:
    from arenapref.readers import open_source

    return open_source(data, split=split)


def check_leakage(
    data: Any,
    protect: Any,
    *,
    split: str | None = None,
    protect_names: Sequence[str] | None = None,
    settings: GuardSettings | None = None,
    **fields: Any,
) -> Leaks:
    """Audit a set you will not filter: which of its records match a protected source, and how.

    The same matching rule and settings as ``decontaminate`` (one definition: ``compare.guard``).

    Example::

        >>> leaks = ap.check_leakage(external_df, [test_df])
        >>> leaks                 # "12 of 50,000 records match a protected record"; .to_pandas() lists them
    """
    from arenapref.compare.guard import Leaks, find_leaks

    options = _guard_options(settings, fields)
    table = _records(data if split is None else _split(data, split))
    return Leaks(find_leaks(table, _many(protect), options, protect_names=protect_names), table.num_rows)


def fit_topics(
    data: Any,
    progress: Progress = None,
    *,
    split: str | None = None,
    format: str | None = None,
    out: str | Path | None = None,
    rejects: RejectLog | None = None,
    **settings: Any,
) -> TopicModel:
    """Fit a topic map (the LMSYS-Chat-1M paper's recipe) on the first prompts of a source.

    ``settings`` are ``topics.settings.TopicFitSettings`` fields (``k``, ``sample``, ``map_sample``,
    ``embedder``: the best one installed by default, ``seed``, ``english_only``, ``assign``, ``threads``:
    0 uses every core) and, for experiments, further ``topics.settings.FitSettings`` fields (``n_init``,
    ``min_chars``, ...); ``split`` picks one split of a folder or DatasetDict with several; ``format``
    skips detection. A path, an opened ``Source`` or a list of them is streamed (a 1M-row source is never
    held whole). ``out`` saves the map there (atomically), with every prompt the recipe dropped and why
    in ``rejects.jsonl``; ``rejects`` collects those and the rows the reader dropped (by default an
    opened ``Source``'s own log).

    Example::

        >>> tm = ap.fit_topics(lmsys_df, k=20)
        >>> tm                    # one row per topic: size, share, label, top terms
        >>> tm.save("topics/")
    """
    from arenapref.readers import Source
    from arenapref.rejects import RejectLog
    from arenapref.settings import build
    from arenapref.topics.fit import fit_topics as run
    from arenapref.topics.settings import TopicFitSettings

    names = set(TopicFitSettings.model_fields)
    options = build(TopicFitSettings, **{k: v for k, v in settings.items() if k in names})
    fit = options.fit_settings(**{k: v for k, v in settings.items() if k not in names})
    source = _topic_source(data) if split is None else _split(data, split)
    if rejects is None:
        rejects = source.rejects if isinstance(source, Source) else RejectLog()
    tell = reporter(progress, "topics fit")
    try:
        model = run(source, fit, format, rejects, threads=options.threads, progress=tell)
    finally:
        close(tell)
    if out is not None:
        model.save(out, rejects=rejects)
    return model


def _topic_source(data: Any) -> Any:
    """Paths, opened sources and lists of them stay as they are (streamed: a 1M-row source is never held
    whole); anything else becomes a shared-schema table."""
    from arenapref.readers import Source

    streamed = (str, Path, Source)
    if isinstance(data, (list, tuple)) and data and all(isinstance(d, streamed) for d in data):
        return list(data)
    return data if isinstance(data, streamed) else _records(data)


def _topic_model(model: Any) -> TopicModel:
    from arenapref.topics.fit import load_model

    return load_model(model) if isinstance(model, (str, Path)) else model


def assign_topics(model: Any, data: Any, *, split: str | None = None) -> pa.Table:
    """``data`` in the shared schema with ``topic``, ``topic_label`` and ``topic_unassigned`` columns.

    ``model``: a fitted ``TopicModel`` or the folder one was saved to; ``split`` picks one split of a
    folder or DatasetDict with several.

    Example::

        >>> with_topics = ap.assign_topics(tm, train_df).to_pandas()
        >>> with_topics.topic_label.value_counts()
    """
    from arenapref.topics.fit import with_topic_columns

    return with_topic_columns(_topic_model(model), data if split is None else _split(data, split))


def probe(
    model: Any,
    sources: Mapping[str, Any] | Sequence[Any],
    target: str | None = None,
    *,
    split: str | None = None,
    executor: Executor | None = None,
    **settings: Any,
) -> ProbeReport:
    """Compare the topic mixes of several sources; flags topics a source under- or over-represents.

    ``sources``: a dict of name -> data, or a list (named by path); the target defaults to the last;
    ``settings`` are ``topics.settings.TopicProbeSettings`` fields (``probe_sample``,
    ``unique_prompts``); ``split`` picks one split of each source that is a folder or DatasetDict;
    ``executor`` counts sources' files on it where that gives the same figures (``model`` saved to a
    folder). Paths and opened ``Source``s are streamed; rows a reader drops land in the ``Source``'s log.

    Example::

        >>> rep = ap.probe(tm, {"lmsys": lmsys_df, "train": train_df})
        >>> rep.to_pandas()        # share of each topic in each source, with 95% intervals
    """
    from arenapref.settings import build
    from arenapref.topics.probe import probe as run
    from arenapref.topics.settings import TopicProbeSettings

    options = build(TopicProbeSettings, **settings)
    if isinstance(sources, Mapping):
        names: list[str] | None = [str(n) for n in sources]
        items = list(sources.values())
    else:
        names, items = None, list(sources)
    data = [_topic_source(s) if split is None else _split(s, split) for s in items]
    return run(
        _topic_model(model), data, names, target, options.unique_prompts, options.probe_sample, executor
    )


def mine(
    sources: Any,
    exclude: Any = (),
    *,
    split: str | None = None,
    topics: str | Path | None = None,
    regenerate: RegenerateSettings | Regeneration | None = None,
    work_dir: str | Path | None = None,
    executor: Executor | None = None,
    progress: Progress = None,
    settings: MineSettings | None = None,
    **fields: Any,
) -> MineResult:
    """Battle pairs from conversation logs: the same prompt answered by two different models.

    ``exclude``: sources whose prompts must not appear in the pairs (the competition's train and test);
    ``fields`` are ``mine.settings.MineSettings`` fields (``near``, ``languages``,
    ``max_pairs_per_prompt``, ...), or pass ``settings``; ``split`` picks one split of each source;
    ``topics`` a topic map folder (adds topic columns); ``regenerate`` asks a model for second answers
    (``mine.settings.RegenerateSettings``, answers kept in the per-user cache unless its ``cache`` says
    otherwise, or a ``mine.regenerate.Regeneration``);
    ``executor`` runs the scan and the grouping on it (``arenapref.executors``).

    Example::

        >>> pairs = ap.mine(lmsys_df, exclude=[train_df, test_df])
        >>> pairs                 # the funnel; pairs.to_pandas() is the mined battles
    """
    from arenapref.mine.miner import mine_pairs
    from arenapref.mine.regenerate import regeneration
    from arenapref.mine.settings import MineSettings, RegenerateSettings
    from arenapref.settings import settings_or_fields

    options = settings_or_fields(MineSettings, settings, fields)
    if isinstance(regenerate, RegenerateSettings):
        regenerate = regeneration(regenerate)
    opened = [_split(s, split) if split is not None else s for s in _many(sources)]
    tell = reporter(progress, "mine")
    try:
        counts = StageCounts(tell) if tell is not None else None
        return mine_pairs(
            opened,
            options,
            exclude=_many(exclude),
            topics=topics,
            regenerate=regenerate,
            work_dir=None if work_dir is None else Path(work_dir),
            progress=counts,
            executor=executor,
        )
    finally:
        close(tell)


def _judge(judge: Any, overrides: Mapping[str, Any]) -> Any:
    from arenapref.label import load_judge

    config = load_judge(judge) if isinstance(judge, (str, Path)) else judge
    return config.with_overrides(**overrides) if overrides else config


def label(
    battles: Any,
    judge: Any = "default",
    progress: Progress = None,
    *,
    split: str | None = None,
    settings: JudgeSettings | None = None,
    **overrides: Any,
) -> LabelResult:
    """Label battles with an LLM judge (an OpenAI-compatible server); answers are cached on disk.

    ``judge``: a shipped judge name, a TOML file or a ``JudgeConfig``; ``overrides`` are its
    ``with_overrides`` fields (``base_url``, ``model``, ``api_key_env``, ``concurrency``, ...); or pass
    ``settings`` (``label.settings.JudgeSettings``: the judge with budgets, price check and cache, as
    ``arenapref label`` and the pipeline's label stage run it); ``split`` picks one split of a folder or
    DatasetDict with several. Safe in a notebook's running event loop.

    Example::

        >>> labeled = ap.label(pairs.to_pandas().head(100), base_url="http://127.0.0.1:8000/v1", model="m")
        >>> labeled.to_pandas()[["winner_model_a", "winner_model_b", "winner_tie"]]
    """
    data = battles if split is None else read(_split(battles, split), "battles")
    tell = reporter(progress, "label")
    try:
        with _labeling(judge, settings, overrides, tell) as labeler:
            return labeler(data)
    finally:
        close(tell)


@contextmanager
def _labeling(
    judge: Any, settings: JudgeSettings | None, overrides: Mapping[str, Any], tell: ProgressFn | None
) -> Iterator[Callable[[pa.Table], LabelResult]]:
    """The labeling function ``label`` and ``judge_eval`` run: ``settings`` opened as the command line
    and the pipeline open them (``label.settings.open_judge``), or ``judge`` with ``overrides``."""
    from arenapref.label import judge_battles
    from arenapref.label.settings import JudgeSettings, open_judge
    from arenapref.settings import settings_or_fields

    if settings is None:
        config = _judge(judge, overrides)
        yield lambda t: judge_battles(t, config, progress=_requests(tell))
        return
    settings_or_fields(JudgeSettings, settings, overrides)  # settings and fields together: one sentence
    if judge != "default":
        from arenapref.errors import ArenaprefError

        raise ArenaprefError("give `settings` or `judge`, not both (the settings name the judge: `spec`)")
    with open_judge(settings, progress=_requests(tell)) as labeler:
        yield labeler


def _requests(tell: ProgressFn | None) -> Any:
    """Adapts the judge's ``(done, total, cost)`` calls to ``progress("labeling", done, total)``."""
    if tell is None:
        return None
    return lambda done, total, cost: tell("labeling", done, total)


def judge_eval(
    labeled: Any,
    judge: Any = "default",
    out_dir: str | Path = "judge-eval",
    holdout: float | None = None,
    seed: int = 0,
    progress: Progress = None,
    settings: JudgeSettings | None = None,
    **overrides: Any,
) -> JudgeEvalReport:
    """Measure a judge against human labels and fit a calibration map (saved under ``out_dir``).

    ``judge``, ``settings`` and ``overrides`` as ``label``'s; ``holdout``: the share of rows held out to
    test the calibration (``label.settings.JudgeEvalSettings``' default when None).

    Example::

        >>> rep = ap.judge_eval(train_df.head(200), base_url="http://127.0.0.1:8000/v1", model="m")
        >>> rep                   # accuracy, log loss, swap consistency, cost, calibration
    """
    from arenapref.label.evaluate import judge_eval as run
    from arenapref.label.settings import JudgeEvalSettings
    from arenapref.settings import build

    held = None if holdout is None else build(JudgeEvalSettings, holdout=holdout)
    tell = reporter(progress, "judge-eval")
    try:
        with _labeling(judge, settings, overrides, tell) as labeler:
            return run(read(labeled, "battles"), labeler, out_dir, settings=held, seed=seed)
    finally:
        close(tell)


def train(
    data: Any,
    out_dir: str | Path = "model",
    *,
    seed: int = 0,
    weights: Mapping[str, float] | None = None,
    format: str | None = None,
    split: str | None = None,
    progress: bool = False,
    settings: TrainSettings | None = None,
    **fields: Any,
) -> Any:
    """Train a preference model of any kind (``model``: lgbm, length, prior or llm) and save its folder.

    ``fields`` are ``TrainSettings`` fields (``model``, ``folds``, ``params``, ``seeds``, ``base``,
    ``task``, ...), or pass ``settings``; ``weights`` per-source or per-input sample weights; ``split``
    picks one split of a folder or DatasetDict. The same function runs ``arenapref train`` and the
    pipeline's train stage. Returns the kind's summary (``TrainSummary`` for the cross-validated models).

    Example::

        >>> summary = ap.train(train_df, "model/")
        >>> summary               # OOF log loss, per fold; summary.to_pandas() is the fold table
        >>> ap.train("train.csv", "llm-model/", model="llm", base="gemma-2-9b/")   # on a GPU
    """
    from arenapref.model.kinds import TrainRequest, kind
    from arenapref.model.settings import TrainSettings
    from arenapref.settings import settings_or_fields

    s = settings_or_fields(TrainSettings, settings, fields)
    request = TrainRequest(data, Path(out_dir), seed, dict(weights or {}), format, split, progress)
    return kind(s.model).train(request, s)


def evaluate(
    model: str | Path,
    data: Any,
    truth: str | Path | None = None,
    *,
    out_dir: str | Path | None = None,
    format: str | None = None,
    split: str | None = None,
    rejects: RejectLog | None = None,
    settings: EvaluateSettings | None = None,
    **fields: Any,
) -> EvalReport:
    """Score a saved model on labeled battles: log loss, accuracy, per-class loss, the class prior's.

    ``fields``: ``EvaluateSettings`` fields (``task``, ``bins``). Writes the reliability diagram and
    metrics.json under ``out_dir`` (default: the model folder's ``eval/``).

    Example::

        >>> ap.evaluate("model/", valid_df)
    """
    from arenapref.model.evaluate import evaluate_model
    from arenapref.model.settings import EvaluateSettings
    from arenapref.settings import settings_or_fields

    s = settings_or_fields(EvaluateSettings, settings, fields)
    sources = [data] if isinstance(data, (str, Path)) else data
    return evaluate_model(
        model, sources, truth, out_dir, rejects, format=format, task=s.task, split=split, bins=s.bins
    )


def ablate(
    base: Any,
    extra: Any,
    holdout: Any = None,
    *,
    progress: Progress = None,
    settings: AblateSettings | None = None,
    **options: Any,
) -> AblationReport:
    """Does the extra data help? Trains with and without it on the same held-out rows, with an interval.

    Give ``holdout`` (human-labeled battles), or ``holdout_frac`` of ``base``'s prompts is held out;
    ``options`` are ``AblateSettings`` fields (``repeats``, ``n_boot``, ``curve``, ``extra_weight``,
    ``model``, ``params``, ...) and ``model.ablate.ablate``'s own (``topics``, ``seed``, ``task``, ...).

    Example::

        >>> rep = ap.ablate(train_df, pairs_df, holdout_frac=0.3)
        >>> rep                   # the difference in log loss and its 95% interval, with a verdict
    """
    from arenapref.model.ablate import ablate as run

    tell = reporter(progress, "ablate")

    def trained(done: int, total: int) -> None:
        if tell is not None:
            tell("training", done, total)

    try:
        return run(base, extra, holdout, settings, on_trained=trained, **options)
    finally:
        close(tell)


def predict(
    model: Any,
    data: Any,
    out: str | Path = "submission.csv",
    *,
    format: str | None = None,
    split: str | None = None,
    executor: Executor | None = None,
    settings: PredictSettings | None = None,
    **fields: Any,
) -> PredictSummary:
    """Write the competition's submission CSV for ``data`` (ids in its order); ``.to_pandas()`` reads it.

    ``model``: a saved model folder (any kind) or a fitted estimator; ``fields``: ``PredictSettings``
    fields (``clip``); ``executor`` predicts row blocks on its workers (a model folder only).

    Example::

        >>> sub = ap.predict("model/", test_df)                   # writes submission.csv
        >>> sub.to_pandas().head()
    """
    from arenapref.model.predict import predict_submission
    from arenapref.model.settings import PredictSettings
    from arenapref.settings import settings_or_fields

    s = settings_or_fields(PredictSettings, settings, fields)
    return predict_submission(model, data, out, clip=s.clip, format=format, split=split, executor=executor)


def leaderboard(
    data: Any,
    *,
    seed: int = 0,
    format: str | None = None,
    split: str | None = None,
    settings: LeaderboardSettings | None = None,
    **fields: Any,
) -> Leaderboard:
    """Bradley-Terry ratings of the models in labeled battles (or a votes file), with intervals.

    ``data``: one source or a list; ``fields``: ``LeaderboardSettings`` fields (``n_boot``).

    Example::

        >>> ap.leaderboard(labeled.to_pandas())
    """
    from arenapref.model.leaderboard import merge_pairs, pairs_from_battles, ratings, read_pairs
    from arenapref.model.settings import LeaderboardSettings
    from arenapref.readers import read_battles
    from arenapref.settings import settings_or_fields

    s = settings_or_fields(LeaderboardSettings, settings, fields)
    parts = [
        read_pairs(d, format, split)
        if isinstance(d, (str, Path))
        else pairs_from_battles(read_battles(d, format, split=split))
        for d in _many(data)
    ]
    return ratings(merge_pairs(parts), n_boot=s.n_boot, seed=seed)


__all__ = [
    "ablate",
    "assign_topics",
    "check_leakage",
    "compare",
    "decontaminate",
    "evaluate",
    "fit_topics",
    "judge_eval",
    "label",
    "leaderboard",
    "mine",
    "predict",
    "probe",
    "profile",
    "read",
    "train",
]
