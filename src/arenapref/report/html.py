"""One self-contained HTML page for a run folder: every stage's result a person needs to read.

No network, scripts or web fonts: figures are PNGs made with matplotlib's Agg backend and inlined as
base64, styles are inline CSS. Each section is built from its stage's files alone and says "not run"
(with the reason from run.json) when the stage was skipped by config or has no output, so a partial
run still gives a readable report.
"""

from __future__ import annotations

import base64
import html
import io
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

from arenapref.atomic import write_text
from arenapref.errors import ArenaprefError

SECTIONS = ("run", "profile", "compare", "topics", "mine", "label", "model", "ablate", "submission")
_STAGE_OF = {"model": "evaluate", "submission": "predict"}

_CSS = """
body{font-family:system-ui,-apple-system,'Segoe UI',sans-serif;max-width:1180px;margin:24px auto;
padding:0 16px;
color:#1d2330;background:#fff}
h1{font-size:26px}h2{font-size:20px;border-bottom:2px solid #dde3ee;padding-bottom:4px;margin-top:36px}
table{border-collapse:collapse;margin:8px 0;font-size:13px}td,th{border:1px solid #dde3ee;padding:3px 8px;
text-align:left;vertical-align:top}th{background:#f3f6fb}td.num{text-align:right;font-variant-numeric:tabular-nums}
.note{background:#fff7e0;border-left:4px solid #e0b000;padding:6px 10px}
.ok{color:#137333}.bad{color:#b3261e}img{max-width:100%;border:1px solid #eee}
.small{font-size:12px;color:#556}code{background:#f3f6fb;padding:1px 4px}
"""


def _esc(x: object) -> str:
    return html.escape(str(x))


def _num(x: Any, digits: int = 4) -> str:
    if x is None:
        return "n/a"
    if isinstance(x, bool):
        return str(x)
    if isinstance(x, int):
        return f"{x:,}"
    if isinstance(x, float):
        return f"{x:,.{digits}f}"
    return _esc(x)


def _table(header: list[str], rows: list[list[Any]]) -> str:
    head = "".join(f"<th>{_esc(h)}</th>" for h in header)
    body = "".join(
        "<tr>"
        + "".join(
            f'<td class="num">{_num(c)}</td>'
            if isinstance(c, int | float) or c is None
            else f"<td>{_esc(c)}</td>"
            for c in r
        )
        + "</tr>"
        for r in rows
    )
    return f"<table><tr>{head}</tr>{body}</table>"


def _img_file(path: Path, alt: str) -> str:
    if not path.is_file():
        return f'<p class="note">figure missing: {_esc(path.name)}</p>'
    data = base64.b64encode(path.read_bytes()).decode("ascii")
    return f'<img alt="{_esc(alt)}" src="data:image/png;base64,{data}">'


def _figure(draw: Callable[[Any], None], alt: str, size: tuple[float, float] = (8, 3.6)) -> str:
    """Draw with matplotlib (Agg) and inline the PNG."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=size)
    try:
        draw(ax)
        fig.tight_layout()
        buf = io.BytesIO()
        fig.savefig(buf, format="png", dpi=100)
    finally:
        plt.close(fig)
    data = base64.b64encode(buf.getvalue()).decode("ascii")
    return f'<img alt="{_esc(alt)}" src="data:image/png;base64,{data}">'


def _load(path: Path) -> Any:
    return json.loads(path.read_text(encoding="utf-8")) if path.is_file() else None


class _Run:
    def __init__(self, run_dir: Path) -> None:
        self.dir = run_dir
        run = _load(run_dir / "run.json") or {}
        self.status: dict[str, dict[str, Any]] = {s["name"]: s for s in run.get("stages", [])}
        self.run = run

    def done(self, stage: str) -> bool:
        st = self.status.get(stage, {}).get("status")
        ok = st in {"ran", "skipped", "kept"} or (
            not self.status and (self.dir / stage / "manifest.json").is_file()
        )
        return bool(ok) and (self.dir / stage / "manifest.json").is_file()

    def not_run(self, stage: str) -> str:
        st = self.status.get(stage)
        why = f"{st['status']}: {st['summary']}" if st else "no output in this run folder"
        return f'<p class="note">{_esc(stage)} stage not run ({_esc(why)}).</p>'

    def manifest(self, stage: str) -> dict[str, Any]:
        m: dict[str, Any] = _load(self.dir / stage / "manifest.json") or {}
        return m


def _section_run(r: _Run) -> str:
    rows = [[s["name"], s["status"], s.get("seconds", 0.0), s.get("summary", "")] for s in r.status.values()]
    cfg = r.run.get("config", "(unknown)")
    if not rows:
        return '<p class="note">no run.json: the pipeline has not been run into this folder.</p>'
    return f"<p>config <code>{_esc(cfg)}</code></p>" + _table(["stage", "status", "seconds", "summary"], rows)


def _section_profile(r: _Run) -> str:
    doc = _load(r.dir / "profile" / "profile.json") or {}
    paper = doc.get("paper_lmsys_chat_1m") or {}
    srcs = doc.get("sources", [])
    keys: list[tuple[str, str, Callable[[dict[str, Any]], Any]]] = [
        ("rows", "conversations / battles", lambda s: s["rows"]),
        ("models", "models", lambda s: s["models"]),
        ("users", "users", lambda s: s["users"]),
        ("languages", "languages", lambda s: s["languages"]),
        ("turns_per_sample", "turns per sample", lambda s: s["turns_per_sample"]),
        ("tokens_per_prompt", "tokens per prompt", lambda s: s["prompt"]["mean"]),
        ("tokens_per_response", "tokens per response", lambda s: s["response"]["mean"]),
    ]
    rows = [[label, *(get(s) for s in srcs), paper.get(key, "")] for key, label, get in keys]
    rejected = [sum(s.get("rejected", {}).values()) for s in srcs]
    rows.append(["rows rejected by the reader", *rejected, ""])
    header = ["", *(s["name"] for s in srcs), "paper (LMSYS-Chat-1M)"]
    return _table(header, rows) + _img_file(
        r.dir / "profile" / "profile.png", "length distributions and models"
    )


def _section_compare(r: _Run) -> str:
    rep = _load(r.dir / "compare" / "report.json") or {}
    lr = rep.get("left_in_right", {})
    kinds = ["exact", "placeholder", "near"]
    counts = [int(lr.get(k, 0)) for k in kinds]

    def draw(ax: Any) -> None:
        ax.barh(kinds, counts, color=["#3b6fd8", "#e08a00", "#2a9d6f"])
        ax.set_xlabel(f"{rep.get('left', {}).get('name', 'left')} prompts found in LMSYS")
        for i, c in enumerate(counts):
            ax.text(c, i, f" {c:,}", va="center")

    head = (
        f"<p>{_num(lr.get('matched'))} of {_num(lr.get('records'))} prompts "
        f"({100 * float(lr.get('share', 0.0)):.1f}%) appear in LMSYS; within LMSYS the duplicate rate is "
        f"{100 * float((rep.get('right', {}).get('within') or {}).get('duplicate_rate', 0.0)):.1f}%.</p>"
    )
    samples = [
        [
            s.get("kind"),
            s.get("similarity"),
            str(s.get("left_text", ""))[:200],
            str(s.get("right_text", ""))[:200],
        ]
        for s in rep.get("sample", [])[:9]
    ]
    return (
        head
        + _figure(draw, "overlap by kind", (8, 2.4))
        + "<h3>sample matches</h3>"
        + _table(["kind", "similarity", "competition prompt", "LMSYS prompt"], samples)
    )


# Example prompts shown per topic: enough to tell what a topic is about, few enough to scan 20 topics.
TOPIC_EXAMPLES = 3


def _share_cell(row: dict[str, Any]) -> str:
    """A source's share of a topic with its 95% interval, e.g. ``12.3% (11.0-13.6)``."""
    return f"{row['share']:.1%} ({row['ci_low']:.1%}-{row['ci_high']:.1%})"


def _section_topics(r: _Run) -> str:
    p = _load(r.dir / "topics" / "probe.json") or {}
    sources = p.get("sources", [])
    share_of = {(s["name"], t["topic"]): t for s in sources for t in s.get("topics", [])}
    head = ["topic", "label", "terms", "share of the fit"] + [f"{s['name']} share (95% CI)" for s in sources]
    head.append(f"{TOPIC_EXAMPLES} example prompts")
    body = ""
    for t in p.get("topics", []):
        cells = [
            _esc(t["topic"]),
            _esc(t["label"]),
            _esc(", ".join(t.get("terms", [])[:8])),
            f"{t.get('fit_share', 0.0):.1%}",
        ]
        cells += [
            _share_cell(share_of[(s["name"], t["topic"])]) if (s["name"], t["topic"]) in share_of else "n/a"
            for s in sources
        ]
        examples = "".join(f"<li>{_esc(e)}</li>" for e in t.get("examples", [])[:TOPIC_EXAMPLES])
        body += (
            "<tr>"
            + "".join(f"<td>{c}</td>" for c in cells)
            + f'<td class="small"><ul>{examples}</ul></td></tr>'
        )
    flags = [
        [c.get("source"), c.get("topic"), c.get("flag"), c.get("share"), c.get("target_share")]
        for c in p.get("coverage", [])
        if c.get("flag") in {"under", "missing", "over"}
    ]
    out = (
        "<h3>topic map</h3><table><tr>"
        + "".join(f"<th>{_esc(h)}</th>" for h in head)
        + f"</tr>{body}</table>"
    )
    out += "<h3>probe</h3>" + _img_file(r.dir / "topics" / "probe.png", "topic mix per source")
    out += f"<p>target: <b>{_esc(p.get('target', ''))}</b>; coverage flags:</p>"
    return out + (
        _table(["source", "topic", "flag", "share", "target share"], flags) if flags else "<p>none</p>"
    )


def _section_mine(r: _Run) -> str:
    f = _load(r.dir / "mine" / "pairs.funnel.json") or {}
    steps = [
        ("conversations in", f.get("total_in", 0)),
        ("prompt groups", f.get("groups", 0)),
        ("minable groups", f.get("minable_groups", 0)),
        ("records paired", f.get("records_paired", 0)),
        ("pairs formed", f.get("pairs_formed", 0)),
        ("pairs out", f.get("pairs_out", 0)),
    ]

    def draw(ax: Any) -> None:
        names = [s[0] for s in steps][::-1]
        vals = [int(s[1]) for s in steps][::-1]
        ax.barh(names, vals, color="#3b6fd8")
        for i, v in enumerate(vals):
            ax.text(v, i, f" {v:,}", va="center")
        ax.set_xlabel("count")

    drops = [["record", k, v] for k, v in (f.get("dropped") or {}).items()]
    drops += [["pair", k, v] for k, v in (f.get("pairs_dropped") or {}).items()]
    return (
        _figure(draw, "mining funnel", (8, 3))
        + "<h3>drop reasons</h3>"
        + _table(["level", "reason", "count"], drops)
    )


def _section_label(r: _Run) -> str:
    m = r.manifest("label")
    out = ""
    e = _load(r.dir / "label" / "judge-eval" / "report.json")
    if e:
        a, c = e["agreement"], e.get("calibration", {})
        rows = [
            ["human-labeled pairs judged", e["rows_judged"]],
            ["accuracy (ties counted)", a["accuracy"]],
            ["accuracy without ties", a["accuracy_without_ties"]],
            ["log loss against humans", a["log_loss"]],
            ["position-swap consistency", e["swap_consistency"]],
            ["cost of the labels ($)", e["cost"]],
            ["cost per pair ($)", e["cost_per_pair"]],
            ["HTTP requests this run", e["http_requests"]],
        ]
        if c.get("fitted"):
            rows += [
                [
                    "calibrated log loss (held out)",
                    f"{c['log_loss_before']:.4f} -> {c['log_loss_after']:.4f}",
                ],
            ]
        out += f"<h3>judge agreement with humans ({_esc(e['label_source'])})</h3>" + _table(["", ""], rows)
    else:
        out += '<p class="note">judge not evaluated against human labels in this run.</p>'
    counts = m.get("counts", {})
    # Nested counts (the judge's and the teacher's) become one row each: "judge: labeled", ...
    rows = []
    for k, v in counts.items():
        rows += [[f"{k}: {sub}", x] for sub, x in v.items()] if isinstance(v, dict) else [[k, v]]
    return out + "<h3>labels made</h3>" + _table(["", ""], rows) + _drops(m)


def _drops(m: dict[str, Any]) -> str:
    d = m.get("drops") or {}
    return "<h3>dropped</h3>" + _table(["reason", "count"], [[k, v] for k, v in d.items()]) if d else ""


def _section_model(r: _Run) -> str:
    t = r.manifest("train").get("counts", {})
    ev = _load(r.dir / "evaluate" / "metrics.json") or {}
    if t.get("task") == "binary":
        # WSDM Cup 2025: accuracy is the score; log loss (binary) beside it, ties left out of scoring.
        rows = [[name, x["n"], x["accuracy"], x["log_loss"]] for name, x in ev.items()]
        out = (
            f"<p>binary task: trained on {_num(t.get('labeled'))} labeled battles; out-of-fold accuracy "
            f"<b>{_num(t.get('oof_accuracy'))}</b> (log loss {_num(t.get('oof_log_loss'))}, class prior "
            f"{_num(t.get('prior_log_loss'))}); figures cross-fitted, human-labeled rows only.</p>"
        )
        out += _table(["scored on", "battles", "accuracy", "log loss"], rows)
    else:
        rows = [[name, x["n"], x["log_loss"], x["accuracy"], x["accuracy_no_ties"]] for name, x in ev.items()]
        out = (
            f"<p>trained on {_num(t.get('labeled'))} labeled battles; out-of-fold log loss "
            f"<b>{_num(t.get('oof_log_loss'))}</b> against the class prior's {_num(t.get('prior_log_loss'))} "
            f"(temperature {_num(t.get('temperature'), 3)}; figures cross-fitted, human-labeled rows "
            "only).</p>"
        )
        out += _table(["scored on", "battles", "log loss", "accuracy", "accuracy without ties"], rows)
    out += _img_file(r.dir / "evaluate" / "reliability.png", "reliability diagram")
    if (r.dir / "evaluate" / "holdout_reliability.png").is_file():
        out += _img_file(r.dir / "evaluate" / "holdout_reliability.png", "holdout reliability diagram")
    return out


def _section_ablate(r: _Run) -> str:
    a = _load(r.dir / "ablate" / "ablation.json") or {}
    o = a.get("overall", {})
    # The curve's arms at the overall weight, from no extra rows (difference 0 by definition) upwards.
    arms = [c for c in a.get("curve", []) if c.get("weight") == o.get("weight")]
    curve = [{"n_extra": 0, "diff": 0.0, "low": 0.0, "high": 0.0}, *arms] if arms else []
    verdict = (
        "extra data helps"
        if o.get("high", 0) < 0
        else "extra data hurts"
        if o.get("low", 0) > 0
        else "no clear difference"
    )
    cls = "ok" if verdict == "extra data helps" else "bad" if verdict == "extra data hurts" else ""
    metric = str(a.get("metric", "log loss"))
    base, extra = o.get("base_log_loss"), o.get("extra_log_loss")
    if o.get("base_accuracy") is not None:  # the binary task: accuracy is the score, the error rate compared
        metric, base, extra = "accuracy", o.get("base_accuracy"), o.get("extra_accuracy")
    out = (
        f"<p>held-out human battles: {_num(o.get('n'))}; {_esc(metric)} base only {_num(base)}, "
        f"with {_num(a.get('n_extra'))} extra rows {_num(extra)}; {_esc(str(a.get('metric', 'log loss')))} "
        "difference "
        f"<b>{_num(o.get('diff'))}</b>, {100 * float(a.get('confidence', 0.95)):.0f}% interval "
        f'[{_num(o.get("low"))}, {_num(o.get("high"))}]: <b class="{cls}">{verdict}</b> '
        f"(predictions averaged over {_num(a.get('repeats'))} trainings per arm).</p>"
    )

    def draw(ax: Any) -> None:
        xs = [c["n_extra"] for c in curve]
        ax.plot(xs, [c["diff"] for c in curve], "o-", color="#3b6fd8", label="difference")
        ax.fill_between(
            xs, [c["low"] for c in curve], [c["high"] for c in curve], alpha=0.25, color="#3b6fd8"
        )
        ax.axhline(0, color="#888", lw=1)
        ax.set_xlabel("extra (pseudo-labeled) rows added")
        ax.set_ylabel(f"{a.get('metric', 'log loss')} with - without")

    if curve:
        out += _figure(draw, "ablation curve", (8, 3.2))
    topics = [[t["topic"], t["n"], t["diff"], t["low"], t["high"]] for t in a.get("per_topic", [])]
    if topics:
        out += "<h3>per topic</h3>" + _table(["topic", "held out", "difference", "low", "high"], topics)
    return out


def _section_submission(r: _Run) -> str:
    m = r.manifest("predict")
    path = r.dir / "predict" / "submission.csv"
    n = _num(m.get("counts", {}).get("rows"))
    out = f"<p>submission: <code>{_esc(path.resolve())}</code> ({n} rows, format check passed).</p>"
    truth = _load(r.dir / "demo" / "truth.json")
    if truth:
        rows = [[k, v] for k, v in truth.items() if not isinstance(v, dict | list)]
        out += "<h3>against the synthetic ground truth (demo step)</h3>" + _table(["", ""], rows)
    return out


_BUILDERS: dict[str, tuple[str, Callable[[_Run], str]]] = {
    "run": ("Run", _section_run),
    "profile": ("Profile next to the LMSYS-Chat-1M paper", _section_profile),
    "compare": ("Overlap with LMSYS", _section_compare),
    "topics": ("Topic map and probe", _section_topics),
    "mine": ("Mining funnel", _section_mine),
    "label": ("Judge agreement and cost", _section_label),
    "model": ("Model validation", _section_model),
    "ablate": ("Does the extra data help?", _section_ablate),
    "submission": ("Submission", _section_submission),
}


def render_report(run_dir: str | Path) -> str:
    """The report's HTML text."""
    r = _Run(Path(run_dir))
    parts = [f'<h1>arenapref run report</h1><p class="small">{_esc(Path(run_dir).resolve())}</p>']
    for sid in SECTIONS:
        title, build = _BUILDERS[sid]
        stage = _STAGE_OF.get(sid, sid)
        if sid == "run" or r.done(stage):
            try:
                body = build(r)
            except (KeyError, TypeError, ValueError) as exc:
                body = f'<p class="note">could not read the {_esc(stage)} outputs: {_esc(exc)}</p>'
        else:
            body = r.not_run(stage)
        parts.append(f'<section id="{sid}"><h2>{_esc(title)}</h2>{body}</section>')
    return (
        '<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">'
        f"<title>arenapref report</title><style>{_CSS}</style></head><body>"
        + "\n".join(parts)
        + "</body></html>\n"
    )


def write_report(run_dir: str | Path, out: str | Path | None = None) -> Path:
    """Write the report (atomically) to ``out``, by default ``RUN_DIR/report.html``."""
    rd = Path(run_dir)
    if not rd.is_dir():
        raise ArenaprefError(f"{rd}: no such run folder")
    target = Path(out) if out is not None else rd / "report.html"
    return write_text(target, render_report(rd))


__all__ = ["SECTIONS", "render_report", "write_report"]
