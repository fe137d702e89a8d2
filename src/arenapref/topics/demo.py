"""Demo stage: fit the topic map on synthetic LMSYS prompts, probe train vs test, write a topic column."""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa

from arenapref.readers import open_source
from arenapref.topics.fit import FitSettings, fit_topics, topic_batches
from arenapref.topics.probe import probe, write_chart
from arenapref.writers import write_parquet


def demo_stage(synth_dir: Path, work_dir: Path) -> list[str]:
    """Fit 20 topics on ``synth_dir/lmsys``, probe LMSYS vs competition train vs test (target: test)."""
    out = work_dir / "topics"
    model = fit_topics(synth_dir / "lmsys", FitSettings(k=20, seed=0))
    model.save(out / "map")
    competition = synth_dir / "competition"
    sources = [synth_dir / "lmsys", competition / "train.csv", competition / "test.csv"]
    report = probe(model, list(sources), ["lmsys", "train", "test"])
    report.write_json(out / "probe.json")
    write_chart(report, out / "probe.png")
    train = open_source(competition / "train.csv")
    labelled = pa.concat_tables(topic_batches(model, train.batches()))
    write_parquet(labelled, out / "train_with_topics.parquet")
    lines = [
        f"fitted {model.k} topics on {model.stats['kept']:,} of {model.stats['sampled']:,} sampled "
        f"LMSYS prompts ({model.embedder.name} embedder): {out / 'map'}",
    ]
    for topic in model.topics[:5]:
        lines.append(f"  topic {topic.topic} ({topic.share:.1%}): {topic.label}")
    pairs = {(p.a, p.b): p for p in report.pairs}
    train_test = pairs[("train", "test")]
    lmsys_test = pairs[("lmsys", "test")]
    flagged = [c for c in report.coverage if c.source == "lmsys" and c.flag in {"under", "missing"}]
    lines += [
        f"train vs test: chi2 {train_test.chi2:.1f} (p={train_test.p_value:.3g}), JS distance "
        f"{train_test.js_distance:.3f}; lmsys vs test: JS distance {lmsys_test.js_distance:.3f}",
        f"LMSYS prompts the map cannot place (other languages): {report.mixes[0].unassigned:,}",
        f"topics LMSYS under-represents relative to test: {len(flagged)}; report {out / 'probe.json'}, "
        f"chart {out / 'probe.png'}",
        f"train battles with a topic column: {out / 'train_with_topics.parquet'}",
    ]
    return lines
