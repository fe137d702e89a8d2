"""Seeded synthetic stand-ins for LMSYS-Chat-1M and the competition CSVs, with documented ground truth.

``generate(out_dir, conversations=N, battles=M, seed=S)`` writes, in the RAW published layouts so the real
readers are exercised:

* ``out_dir/lmsys/part-XXXXX.parquet``: the LMSYS-Chat-1M schema;
* ``out_dir/competition/{train,test,sample_submission}.csv``: the Kaggle layout;
* ``out_dir/truth/``: what later stages are scored against (topics, prompt groups, planted near-duplicates,
  overlaps, true label probabilities), described in ``truth/README.md``;
* ``out_dir/manifest.json``: paths, counts and headline figures (also returned as ``SynthManifest``).

Same arguments, same bytes: every random choice derives from the seed.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field, fields
from pathlib import Path

import pyarrow.parquet as pq

from arenapref.atomic import atomic_dir
from arenapref.errors import ArenaprefError
from arenapref.synth.competition import write_competition
from arenapref.synth.lmsys import minable_groups_table, plan_lmsys, write_lmsys
from arenapref.synth.readme import TRUTH_README
from arenapref.synth.text import TextBank
from arenapref.synth.topics import TOPICS

__all__ = ["GENERATOR_VERSION", "SynthManifest", "generate"]

GENERATOR_VERSION = "2"
MAX_SHARD_ROWS = 500_000


@dataclass
class SynthManifest:
    """Where generate() put everything, and the headline figures of what it made.

    In ``manifest.json`` paths are relative to the workspace folder (so two workspaces made with the same
    seed are byte-identical); in this object they are full paths.
    """

    out_dir: Path
    seed: int
    generator_version: str
    conversations: int
    battles: int
    lmsys_dir: Path
    lmsys_shards: list[Path]
    train_csv: Path
    test_csv: Path
    sample_submission_csv: Path
    truth_dir: Path
    truth_conversations: Path
    truth_battles: Path
    truth_minable_groups: Path
    truth_topics: Path
    n_train: int
    n_test: int
    prompt_groups: int
    minable_groups: int
    near_dup_variant_groups: int
    overlap_counts: dict[str, int]
    malformed_counts: dict[str, int]
    label_mix: dict[str, float]
    expected_log_loss: float
    realized_log_loss: float
    uniform_log_loss: float
    params: dict[str, float] = field(default_factory=dict)

    def to_json(self) -> str:
        """The manifest as JSON, paths relative to ``out_dir``."""
        data: dict[str, object] = {}
        for f in fields(self):
            v = getattr(self, f.name)
            if f.name == "out_dir":
                continue
            if isinstance(v, Path):
                v = v.relative_to(self.out_dir).as_posix()
            elif isinstance(v, list) and v and isinstance(v[0], Path):
                v = [p.relative_to(self.out_dir).as_posix() for p in v]
            data[f.name] = v
        return json.dumps(data, indent=2, sort_keys=True) + "\n"

    @classmethod
    def load(cls, path: str | Path) -> SynthManifest:
        """Read ``manifest.json`` (the file, or the workspace folder holding it)."""
        p = Path(path)
        if p.is_dir():
            p = p / "manifest.json"
        if not p.is_file():
            raise ArenaprefError(f"{p} is not a synth manifest (run 'arenapref synth --out DIR' first)")
        root = p.parent
        data = json.loads(p.read_text(encoding="utf-8"))
        for f in fields(cls):
            if f.name in data and f.type in ("Path", Path):
                data[f.name] = root / data[f.name]
        data["lmsys_shards"] = [root / x for x in data.get("lmsys_shards", [])]
        return cls(out_dir=root, **data)


def generate(
    out_dir: str | Path,
    conversations: int = 20_000,
    battles: int = 3_000,
    seed: int = 0,
    malformed_share: float = 0.0,
    test_share: float = 0.3,
    shard_rows: int = 100_000,
    overlap_share: float = 0.15,
) -> SynthManifest:
    """Write a synthetic workspace under ``out_dir`` and return its manifest."""
    if conversations < 0 or battles < 0:
        raise ArenaprefError("conversations and battles must be zero or more")
    if not 1 <= shard_rows <= MAX_SHARD_ROWS:
        raise ArenaprefError(
            f"shard_rows must be between 1 and {MAX_SHARD_ROWS} (one shard's text must fit 2 GB)"
        )
    for name, v in (
        ("malformed_share", malformed_share),
        ("test_share", test_share),
        ("overlap_share", overlap_share),
    ):
        if not 0.0 <= v <= 1.0:
            raise ArenaprefError(f"{name} must be between 0 and 1, got {v}")
    target = Path(out_dir)
    if target.is_dir() and any(target.iterdir()) and not (target / "manifest.json").is_file():
        # The workspace replaces the folder as a whole; a folder of other files is not ours to replace.
        raise ArenaprefError(f"{target} holds files that are not a synth workspace; choose an empty folder")
    # Written under a temporary name and renamed into place: a killed run leaves the previous workspace
    # or none, never shards of one run beside the CSVs of another.
    with atomic_dir(target) as out:
        _generate_into(
            out, conversations, battles, seed, malformed_share, test_share, shard_rows, overlap_share
        )
    return SynthManifest.load(target)


def _generate_into(
    out: Path,
    conversations: int,
    battles: int,
    seed: int,
    malformed_share: float,
    test_share: float,
    shard_rows: int,
    overlap_share: float,
) -> None:
    lmsys_dir, comp_dir, truth_dir = out / "lmsys", out / "competition", out / "truth"
    for d in (lmsys_dir, comp_dir, truth_dir):
        d.mkdir(parents=True, exist_ok=True)

    bank = TextBank(seed)
    plan = plan_lmsys(bank, conversations, seed)
    lm = write_lmsys(bank, plan, lmsys_dir, truth_dir / "conversations.parquet", shard_rows)
    minable = minable_groups_table(plan, lm.keepable_codes)
    pq.write_table(minable, truth_dir / "minable_groups.parquet", compression="zstd")
    comp = write_competition(
        bank,
        plan,
        comp_dir,
        truth_dir / "battles.parquet",
        battles,
        seed,
        test_share,
        overlap_share,
        malformed_share,
    )
    topics_path = truth_dir / "topics.json"
    topics_path.write_text(
        json.dumps(
            [
                {"topic_id": i, "topic_name": t.name, "sample_words": list(t.nouns[:8])}
                for i, t in enumerate(TOPICS)
            ],
            indent=2,
        )
        + "\n",
        encoding="utf-8",
    )
    (truth_dir / "README.md").write_text(TRUTH_README, encoding="utf-8")

    manifest = SynthManifest(
        out_dir=out,
        seed=seed,
        generator_version=GENERATOR_VERSION,
        conversations=conversations,
        battles=battles,
        lmsys_dir=lmsys_dir,
        lmsys_shards=list(lm.shards),
        train_csv=comp_dir / "train.csv",
        test_csv=comp_dir / "test.csv",
        sample_submission_csv=comp_dir / "sample_submission.csv",
        truth_dir=truth_dir,
        truth_conversations=truth_dir / "conversations.parquet",
        truth_battles=truth_dir / "battles.parquet",
        truth_minable_groups=truth_dir / "minable_groups.parquet",
        truth_topics=topics_path,
        n_train=comp.n_train,
        n_test=comp.n_test,
        prompt_groups=plan.n_groups,
        minable_groups=int(minable.column("minable").to_numpy().sum()),
        near_dup_variant_groups=int(plan.g_variant.sum()),
        overlap_counts=comp.overlap_counts,
        malformed_counts=comp.malformed_counts,
        label_mix=comp.label_mix,
        expected_log_loss=comp.expected_log_loss,
        realized_log_loss=comp.realized_log_loss,
        uniform_log_loss=comp.uniform_log_loss,
        params={
            "malformed_share": malformed_share,
            "test_share": test_share,
            "overlap_share": overlap_share,
            "shard_rows": shard_rows,
        },
    )
    (out / "manifest.json").write_text(manifest.to_json(), encoding="utf-8")
