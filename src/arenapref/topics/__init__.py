"""Topic map: the LMSYS-Chat-1M paper's 20-topic clustering, assignment of other data, and the mix probe.

Notebook use::

    from arenapref.topics import FitSettings, fit_topics, load_model, with_topic_columns
    from arenapref.topics.probe import probe
    model = fit_topics("lmsys/", FitSettings(k=20, seed=0)); model.save("topics/")
    report = probe(load_model("topics/"), ["lmsys/", "train.csv", "test.csv"])

The names below are imported on first use (PEP 562), so the command line and the pipeline's config read
the settings models (``topics.settings``, pydantic only) without loading scikit-learn or onnxruntime.
``probe`` is the submodule here; its function is ``topics.probe.probe`` (or ``arenapref.probe``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from arenapref.lazy import exports

if TYPE_CHECKING:
    from arenapref.topics.embedders import (
        EMBEDDERS,
        HybridEmbedder,
        MiniLMEmbedder,
        TfidfSvdEmbedder,
        make_embedder,
        resolve_embedder,
    )
    from arenapref.topics.fit import (
        Topic,
        TopicModel,
        assign_topics,
        fit_topics,
        load_model,
        topic_batches,
        with_topic_columns,
    )
    from arenapref.topics.probe import (
        ProbeReport,
        SourceMix,
        probe_mixes,
        source_mix,
        wilson_interval,
        write_chart,
    )
    from arenapref.topics.settings import FitSettings, TopicFitSettings, TopicProbeSettings
    from arenapref.topics.static import StaticEmbedder, distill_vectors


__all__ = [
    "EMBEDDERS",
    "FitSettings",
    "HybridEmbedder",
    "MiniLMEmbedder",
    "ProbeReport",
    "SourceMix",
    "StaticEmbedder",
    "TfidfSvdEmbedder",
    "Topic",
    "TopicFitSettings",
    "TopicModel",
    "TopicProbeSettings",
    "assign_topics",
    "distill_vectors",
    "fit_topics",
    "load_model",
    "make_embedder",
    "probe_mixes",
    "resolve_embedder",
    "source_mix",
    "topic_batches",
    "wilson_interval",
    "with_topic_columns",
    "write_chart",
]
# Each name loads its module on first use, so the settings modules import light (arenapref.lazy).
__getattr__, __dir__ = exports(__name__, __all__, "settings embedders fit probe static")
