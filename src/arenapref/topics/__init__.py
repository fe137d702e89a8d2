"""Topic map: the LMSYS-Chat-1M paper's 20-topic clustering, assignment of other data, and the mix probe.

Notebook use::

    from arenapref.topics import FitSettings, fit_topics, load_model, probe, with_topic_columns
    model = fit_topics("lmsys/", FitSettings(k=20, seed=0)); model.save("topics/")
    report = probe(load_model("topics/"), ["lmsys/", "train.csv", "test.csv"])
"""

from arenapref.topics.embedders import (
    DEFAULT_EMBEDDER,
    EMBEDDERS,
    HybridEmbedder,
    MiniLMEmbedder,
    TfidfSvdEmbedder,
    make_embedder,
    resolve_embedder,
)
from arenapref.topics.fit import (
    FitSettings,
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
    probe,
    probe_mixes,
    source_mix,
    wilson_interval,
    write_chart,
)
from arenapref.topics.static import StaticEmbedder, distill_vectors

__all__ = [
    "DEFAULT_EMBEDDER",
    "EMBEDDERS",
    "FitSettings",
    "HybridEmbedder",
    "MiniLMEmbedder",
    "ProbeReport",
    "SourceMix",
    "StaticEmbedder",
    "TfidfSvdEmbedder",
    "Topic",
    "TopicModel",
    "assign_topics",
    "distill_vectors",
    "fit_topics",
    "load_model",
    "make_embedder",
    "probe",
    "probe_mixes",
    "resolve_embedder",
    "source_mix",
    "topic_batches",
    "wilson_interval",
    "with_topic_columns",
    "write_chart",
]
