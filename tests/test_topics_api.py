"""One topics stage behind three faces: ``ap.fit_topics`` / ``ap.probe``, ``arenapref topics fit/probe``
and the pipeline's ``[topics]`` stage write the same map and the same probe for the same settings; and
the probe does not embed again the prompts the map already embedded (the 1M-row pipeline's topics time).

Real components throughout: the MiniLM embedder (the default), real files, the real pipeline runner.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pytest

import arenapref as ap
from arenapref import topics
from arenapref.executors.pool import ThreadExecutor
from arenapref.pipeline import run_pipeline
from arenapref.records import Conversation, Turn, conversations_table
from arenapref.synth import generate
from arenapref.topics import FitSettings, MiniLMEmbedder, fit_topics, load_model
from arenapref.topics.fit import TopicModel
from arenapref.topics.probe import probe
from arenapref.topics.static import embed_extra_installed
from cli_helpers import run_cli
from topics_data import planted_prompts, planted_table

pytestmark = pytest.mark.skipif(not embed_extra_installed(), reason="the embed extra is not installed")

# The same settings on every face: a map sample below the kept prompts and a probe sample below the
# sources' rows, so both samples (and the probe's reuse of the map's vectors) are exercised.
FIT = {"k": 4, "map_sample": 200, "seed": 1, "threads": 1}
PROBE = {"probe_sample": 150}
MAP_FILES = ("topics.json", "centroids.npy", "embedder.json", "rejects.jsonl")


def _config(synth: Path) -> str:
    off = "\n".join(f"[{s}]\nenabled = false" for s in ("profile", "compare", "mine", "label", "train"))
    return f"""
[run]
dir = "run"
seed = {FIT["seed"]}
[sources]
lmsys = ["{synth / "lmsys"}"]
train = "{synth / "competition" / "train.csv"}"
test = "{synth / "competition" / "test.csv"}"
[topics]
k = {FIT["k"]}
map_sample = {FIT["map_sample"]}
threads = {FIT["threads"]}
probe_sample = {PROBE["probe_sample"]}
{off}
"""


@pytest.fixture(scope="module")
def synth(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("topics-api") / "synth"
    generate(root, conversations=600, battles=300, seed=1)
    return root


def _sources(synth: Path) -> dict[str, Path]:
    return {
        "lmsys": synth / "lmsys",
        "train": synth / "competition" / "train.csv",
        "test": synth / "competition" / "test.csv",
    }


def _probe_json(path: Path, names: dict[str, str] | None = None) -> Any:
    """The probe's JSON with the CLI's file-named sources renamed to the pipeline's names."""
    text = path.read_text(encoding="utf-8")
    for old, new in (names or {}).items():
        text = text.replace(json.dumps(old), json.dumps(new))
    return json.loads(text)


@pytest.mark.slow
def test_cli_pipeline_and_api_write_the_same_map_and_probe(
    synth: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    sources = _sources(synth)
    # The API.
    model = ap.fit_topics(sources["lmsys"], False, out=tmp_path / "api" / "map", **FIT)
    ap.probe(model, sources, **PROBE).write_json(tmp_path / "api" / "probe.json")
    # The command line.
    cli = tmp_path / "cli"
    flags = [f"--{k.replace('_', '-')}={v}" for k, v in FIT.items()]
    fit_argv = ["topics", "fit", str(sources["lmsys"]), "-o", str(cli / "map"), *flags, "-q"]
    assert run_cli(fit_argv, capsys)[0] == 0
    probe_argv = [
        "topics",
        "probe",
        str(cli / "map"),
        *map(str, sources.values()),
        "-o",
        str(cli / "probe.json"),
    ]
    assert run_cli([*probe_argv, f"--sample={PROBE['probe_sample']}", "-q"], capsys)[0] == 0
    # The pipeline.
    config = tmp_path / "pipe" / "PIPELINE.toml"
    config.parent.mkdir()
    config.write_text(_config(synth), encoding="utf-8")
    run_pipeline(config, progress=False)
    (pipe_map,) = (tmp_path / "pipe" / "run").rglob("map")

    api_map, cli_map = tmp_path / "api" / "map", cli / "map"
    for name in MAP_FILES:
        reference = (api_map / name).read_bytes()
        assert (cli_map / name).read_bytes() == reference, name
        assert (pipe_map / name).read_bytes() == reference, name
    meta = json.loads((api_map / "model.json").read_text())
    assert meta["settings"]["map_sample"] == FIT["map_sample"] and meta["stats"]["kept"] == FIT["map_sample"]
    for other in (cli_map, pipe_map):
        assert json.loads((other / "model.json").read_text()) == meta
    # Every prompt the recipe dropped is written out with the map, on every face.
    assert sum(meta["stats"][k] for k in meta["stats"] if k.startswith("dropped: ")) > 0
    assert (api_map / "rejects.jsonl").stat().st_size > 0

    reference = _probe_json(tmp_path / "api" / "probe.json")
    assert reference["sources"][0]["sampled_from"] == 600
    assert _probe_json(cli / "probe.json", {"train.csv": "train", "test.csv": "test"}) == reference
    assert _probe_json(pipe_map.parent / "probe.json") == reference


def _counting(model: TopicModel, monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """How many texts each call of the map's real embedder embeds (the embedder still does the work)."""
    calls: list[int] = []
    real = model.embedder.embed

    def embed(texts: pa.Array) -> np.ndarray:
        calls.append(len(texts))
        return real(texts)

    monkeypatch.setattr(model.embedder, "embed", embed)
    return calls


@pytest.fixture(scope="module")
def planted_map() -> tuple[TopicModel, pa.Table]:
    table, _ = planted_table(60, seed=2)  # 300 prompts, each distinct
    return fit_topics(table, FitSettings(k=5, seed=0, map_sample=240)), table


@pytest.mark.slow
def test_the_probe_embeds_only_what_the_map_did_not(
    planted_map: tuple[TopicModel, pa.Table], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    model, table = planted_map
    assert len(model.embedded) == 240  # the map's sample, kept in memory for the probe
    others, _ = planted_prompts(10, seed=9)  # 50 prompts the map never saw, each given twice below
    new_table = conversations_table(
        [
            Conversation(
                f"n{i}", "model-x", [Turn("user", p), Turn("assistant", "Sure.")], language="English"
            )
            for i, p in enumerate(others + others)
        ]
    )
    calls = _counting(model, monkeypatch)
    report = probe(model, [table, new_table], ["fit source", "new"], sample=1_000)
    # The fit source: only the 60 prompts outside the map's sample are embedded; the new source's 50
    # distinct prompts once each (they appear twice).
    assert calls == [60, 50]
    # The figures are those of the same map loaded from disk, which has no vectors to reuse.
    model.save(tmp_path / "m")
    loaded = load_model(tmp_path / "m")
    assert not loaded.embedded
    again = probe(loaded, [table, new_table], ["fit source", "new"], sample=1_000)
    assert again.to_json() == report.to_json()
    assert report.mixes[0].n == 300 and report.mixes[1].n == 100


@pytest.mark.slow
def test_minilm_vectors_do_not_depend_on_the_batch() -> None:
    """What the reuse rests on: a prompt's MiniLM vector is the same bit for bit alone, in a batch of
    others (other padding widths) and with another thread count."""
    prompts, _ = planted_prompts(8, seed=4)
    prompts += ["a much longer prompt about " + " ".join(prompts[:5]), "hi there, short one"]
    together = MiniLMEmbedder(threads=2).embed(pa.array(prompts))
    alone = np.vstack([MiniLMEmbedder(threads=1).embed(pa.array([p])) for p in prompts])
    reversed_ = MiniLMEmbedder(threads=1).embed(pa.array(prompts[::-1]))[::-1]
    assert np.array_equal(together, alone) and np.array_equal(together, reversed_)


@pytest.mark.slow
def test_an_executor_does_not_change_a_sampled_probe(
    planted_map: tuple[TopicModel, pa.Table], synth: Path, tmp_path: Path
) -> None:
    """A transformer sample is one seeded draw over the whole source, so it is counted in this process
    whatever the executor: the figures are the local run's (a per-file count would place every row by
    the student instead)."""
    model, _ = planted_map
    model.save(tmp_path / "m")
    lmsys = synth / "lmsys"
    local = probe(model, [lmsys], ["lmsys"], sample=100)
    with ThreadExecutor(2) as ex:
        threaded = probe(model, [lmsys], ["lmsys"], sample=100, executor=ex)
    assert threaded.to_json() == local.to_json() and local.mixes[0].sampled_from == 600


def test_help_shows_the_settings_models_defaults(capsys: pytest.CaptureFixture[str]) -> None:
    """The options' defaults are read from the settings models, and ``--help`` still shows them."""
    from arenapref.topics.settings import TopicFitSettings, TopicProbeSettings

    assert TopicProbeSettings().probe_sample == topics.probe.PROBE_SAMPLE == 5_000
    code, out, _ = run_cli(["topics", "probe", "--help"], capsys)
    assert code == 0 and "5000" in out and "+-1.4 points" in out
    code, out, _ = run_cli(["topics", "fit", "--help"], capsys)
    assert code == 0 and str(TopicFitSettings().map_sample) in out
