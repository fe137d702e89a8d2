"""``arenapref init FILES...``: a commented PIPELINE.toml for the user's own files.

Why: the only example config was the demo's, written for a synthetic workspace; a competitor pointing
the pipeline at Kaggle's train.csv and an LMSYS download had to learn the schema first. ``init`` opens
each file with the readers (the same detection ``arenapref run`` uses), files it under ``[sources]``
by what it holds - conversations go to ``lmsys``, labeled battles to ``train``, unlabeled battles to
``test`` - writes the detected format beside it, and spells out every stage's settings with a comment
saying what they do. Labels come from a teacher trained on the train file, and the judge is off: the
written config runs offline, where a judge needs a server and a key (the comment says how to switch).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from arenapref.errors import ArenaprefError
from arenapref.pipeline.config import CONFIG_NAME, PipelineConfig, parse_config, to_toml
from arenapref.readers import open_source

# The comment above each section of the written file.
NOTES: dict[str, str] = {
    "run": "Where the run folder goes (relative to this file), the seed of every stage, and where the\n"
    'distributable stages run: "local", or "ray" (pip install "arenapref[ray]").',
    "sources": "Your files, as `arenapref init` detected them. lmsys: conversation logs (one model per\n"
    "conversation) to mine pairs from; train: labeled battles; test: battles to predict. A *_format key\n"
    "forces a reader (see `arenapref convert --help`); remove it to detect again.",
    "profile": "Rows, models, token lengths and label mix of every source.",
    "compare": "Prompt overlap between the logs and train/test (exact, placeholder-masked, near).",
    "topics": "A topic map of the logs' first prompts and each source's mix on it. threads = 0: every core.",
    "mine": "Battle pairs from the logs: one prompt answered by two models. exclude_train also drops pairs\n"
    "whose prompt is in train (test prompts are always excluded).",
    "mine.regenerate": "Second answers for prompts only one model answered: set model (and base_url) to ask\n"
    "an OpenAI-compatible server; budgets and cache as the judge's. No model: no regeneration.",
    "label": 'Who labels the mined pairs. use = "teacher": a model trained on train (offline, no server).\n'
    'For an LLM judge: use = "judge", and in [label.judge] enabled = true, base_url, model and\n'
    "api_key_env (the name of the environment variable holding the key); it is also measured on\n"
    "eval_rows train rows. max_pairs caps the pairs labeled (cost).",
    "label.judge": "The judge's server and rubric (spec: a shipped judge name or a TOML file).",
    "label.teacher": "The teacher: model_dir of a trained model, or one trained here on train.",
    "train": "The preference model (lgbm, length or prior); extra = true adds the labeled pairs.",
    "evaluate": "Score the model on labeled battles (data: a file; default: the OOF predictions).",
    "ablate": "Does the extra data help? Base vs base + extra on the same held-out rows, with an interval.",
    "predict": "The submission CSV for the test file.",
}


@dataclass(frozen=True)
class Detected:
    """One file as the readers see it, and where it goes in ``[sources]``."""

    path: Path
    format: str
    role: str  # lmsys, train or test


def detect(path: Path) -> Detected:
    """Open ``path`` with the readers and decide its role from its record kind and labels."""
    src = open_source(path)
    if src.kind == "conversations":
        return Detected(path, src.format, "lmsys")
    first = next(iter(src.batches(256)), None)
    labeled = (
        first is not None and "p_a" in first.schema.names and first.column("p_a").null_count < len(first)
    )
    return Detected(path, src.format, "train" if labeled else "test")


def _relative(path: Path, base: Path) -> str:
    """Relative to the config's folder when inside it (the workspace moves as a whole), else absolute."""
    full, root = path.resolve(), base.resolve()
    return full.relative_to(root).as_posix() if full.is_relative_to(root) else full.as_posix()


def init_config(files: list[Path], out: Path) -> tuple[str, list[Detected]]:
    """The commented PIPELINE.toml for ``files`` (paths relative to ``out``'s folder), and what was found.

    Raises ``ArenaprefError`` for two files competing for the single train or test slot.
    """
    if not files:
        raise ArenaprefError("give at least one data file or folder")
    found = [detect(p) for p in files]
    sources: dict[str, object] = {}
    base = out.parent
    for role in ("train", "test"):
        hits = [d for d in found if d.role == role]
        if len(hits) > 1:
            names = ", ".join(str(d.path) for d in hits)
            kind = "labeled" if role == "train" else "unlabeled"
            raise ArenaprefError(
                f"{names}: more than one file of {kind} battles; the pipeline takes one {role} file"
            )
        if hits:
            sources[role] = _relative(hits[0].path, base)
            sources[f"{role}_format"] = hits[0].format
    logs = [d for d in found if d.role == "lmsys"]
    if logs:
        sources["lmsys"] = [_relative(d.path, base) for d in logs]
        if len({d.format for d in logs}) == 1:
            sources["lmsys_format"] = logs[0].format
    config = parse_config(
        {"sources": sources, "label": {"use": "teacher", "judge": {"enabled": False}}}, str(out)
    )
    return _commented(config, found), found


def _commented(config: PipelineConfig, found: list[Detected]) -> str:
    header = ["Written by `arenapref init`; run it with `arenapref run " + CONFIG_NAME + "`.", "Detected:"]
    header += [f"  {d.path}: {d.format} ({d.role})" for d in found]
    lines = []
    for line in to_toml(config, "\n".join(header)).splitlines():
        if line.startswith("[") and line.endswith("]"):
            note = NOTES.get(line[1:-1])
            if note:
                lines += [f"# {n}" for n in note.splitlines()]
        lines.append(line)
    return "\n".join(lines) + "\n"


__all__ = ["NOTES", "Detected", "detect", "init_config"]
