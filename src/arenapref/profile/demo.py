"""The profile stage of ``arenapref demo``: the synthetic LMSYS shards and train.csv, side by side."""

from __future__ import annotations

from pathlib import Path

from arenapref.profile.core import profile_paths
from arenapref.profile.plot import plot_profiles
from arenapref.profile.render import write_json


def demo_stage(synth_dir: Path, work_dir: Path) -> list[str]:
    """Profile the workspace's LMSYS-shaped shards and competition train.csv; write JSON and a chart."""
    paths = [p for p in (synth_dir / "lmsys", synth_dir / "competition" / "train.csv") if p.exists()]
    profiles = profile_paths(paths)
    out = work_dir / "profile"
    json_path = write_json(profiles, out / "profile.json")
    chart_path = plot_profiles(profiles, out / "profile.png")
    lines = []
    for p in profiles:
        line = (
            f"{p.name}: {p.rows:,} {p.kind}, {p.models} models, {p.user_turns:,} user turns, "
            f"{p.prompt.mean or 0:.1f} tokens per prompt, {p.response.mean or 0:.1f} per response"
        )
        if p.label_mix is not None and p.label_mix.labeled:
            mix = p.label_mix
            line += f", labels A/B/tie {mix.a or 0:.0%}/{mix.b or 0:.0%}/{mix.tie or 0:.0%}"
        if p.rejected:
            line += f" ({p.rejects_summary})"
        lines.append(line)
    lines += [f"profile JSON: {json_path}", f"profile chart: {chart_path}"]
    return lines
