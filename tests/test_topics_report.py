"""The run report's topic section: per topic, each source's share with its interval and 3 example prompts."""

from __future__ import annotations

import html
import json
import re
from pathlib import Path

import pyarrow as pa

from arenapref.records import Conversation, Turn, conversations_table
from arenapref.report import render_report
from arenapref.topics import FitSettings, fit_topics
from arenapref.topics.probe import probe
from topics_data import planted_table

MARKUP = "<script>alert('x')</script> & <b>bold</b>"


def _with_markup(table: pa.Table, n: int) -> pa.Table:
    """The planted prompts plus ``n`` cooking prompts that carry HTML markup (the report must escape it)."""
    extra = [
        Conversation(
            conversation_id=f"m{i}",
            model="model-x",
            turns=[
                Turn("user", f"Bake bread with flour, yeast and butter in the oven {MARKUP} {i}"),
                Turn("assistant", "Sure."),
            ],
            language="English",
        )
        for i in range(n)
    ]
    return pa.concat_tables([table, conversations_table(extra).cast(table.schema)])


def test_topic_section_shows_shares_with_intervals_and_three_examples(tmp_path: Path) -> None:
    table, _ = planted_table(30, seed=4)
    table = _with_markup(table, 12)
    model = fit_topics(table, FitSettings(k=5, seed=0, embedder="tfidf", examples=5))
    other, _ = planted_table(10, seed=8)
    report = probe(model, [table, other], names=["lmsys <all>", "test"])
    run = tmp_path / "run"
    (run / "topics").mkdir(parents=True)
    (run / "topics" / "manifest.json").write_text("{}", encoding="utf-8")
    report.write_json(run / "topics" / "probe.json")
    probe_json = json.loads((run / "topics" / "probe.json").read_text(encoding="utf-8"))
    assert all(len(t["examples"]) == 5 for t in probe_json["topics"])  # the probe carries the map's examples

    page = render_report(run)
    section = page[page.index('<section id="topics">') : page.index("</section>", page.index('id="topics"'))]
    # A column per source (names escaped), a row per topic.
    assert "lmsys &lt;all&gt; share (95% CI)" in section and "test share (95% CI)" in section
    rows = re.findall(r"<tr><td>(\d+)</td>(.*?)</tr>", section, flags=re.S)
    assert [int(t) for t, _ in rows] == list(range(5))
    for topic, row in rows:
        # Exactly the first 3 examples of the topic, in the map's order, each escaped.
        shown = re.findall(r"<li>(.*?)</li>", row, flags=re.S)
        expected = [html.escape(e) for e in model.topics[int(topic)].examples[:3]]
        assert shown == expected
        # Each source's share with its 95% interval, as the probe computed it.
        for source in probe_json["sources"]:
            r = source["topics"][int(topic)]
            assert f"{r['share']:.1%} ({r['ci_low']:.1%}-{r['ci_high']:.1%})" in row
    # The markup prompts are a topic of their own; their text is shown escaped, never as markup.
    assert "<script>" not in section and html.escape(MARKUP) in section
