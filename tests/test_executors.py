"""The step contract and the local executors: every stage's blocks merge into its single-process result.

``run_step`` without an executor takes a step's single-process path; with one it cuts blocks, runs the
block work and merges. These tests run the block path of every parallel stage in this process
(``LocalExecutor``) and on a thread pool, and the mining stage on a process pool, on generated data cut
into several shards, and compare with the single-process result. (tests/test_ray_executors.py runs the
same blocks on Ray; it is slow.)
"""

from __future__ import annotations

import ast
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, get_args

import numpy as np
import pyarrow as pa
import pytest

from arenapref.errors import ArenaprefError
from arenapref.executors import BlockStep, Executor, LocalExecutor, get_executor, run_step
from arenapref.executors.pool import ProcessExecutor, ThreadExecutor
from arenapref.executors.registry import EXECUTORS
from arenapref.pipeline.config import RunSettings
from arenapref.synth import SynthManifest, generate

SRC = Path(__file__).resolve().parents[1] / "src" / "arenapref"


@pytest.fixture(scope="module")
def workspace(tmp_path_factory: pytest.TempPathFactory) -> SynthManifest:
    """1,200 synthetic conversations in 4 shards, 300 battles, a few malformed rows."""
    return generate(
        tmp_path_factory.mktemp("exec-synth"),
        conversations=1200,
        battles=300,
        seed=11,
        shard_rows=300,
        malformed_share=0.02,
    )


def _executors() -> list[Executor]:
    return [LocalExecutor(), ThreadExecutor(2)]


def _without(d: dict[str, Any], *keys: str) -> dict[str, Any]:
    return {k: v for k, v in d.items() if k not in keys}


# ------------------------------------------------------------------------------------ the contract


def slow_square(x: int) -> int:
    """Later blocks finish first, so an executor that yields in completion order would be caught."""
    time.sleep(0.02 * (5 - x % 5))
    return x * x


class Squares(BlockStep[int, int, list[int]]):
    def __init__(self, n: int) -> None:
        self.n = n
        self.drawn = 0
        self.max_ahead = 0
        self.merged = 0

    def blocks(self, workers: int) -> Iterator[int]:
        for x in range(self.n):
            self.drawn += 1
            self.max_ahead = max(self.max_ahead, self.drawn - self.merged)
            yield x

    @property
    def work(self) -> Callable[[int], int]:
        return slow_square

    def merge(self, parts: Iterator[int]) -> list[int]:
        out = []
        for p in parts:
            out.append(p)
            self.merged += 1
        return out


@pytest.mark.slow
def test_run_step_whole_and_blocks_agree_in_block_order() -> None:
    assert run_step(Squares(12)) == [x * x for x in range(12)]  # default whole: the blocks in turn
    for ex in (LocalExecutor(), ThreadExecutor(3)):
        with ex:
            step = Squares(12)
            assert run_step(step, ex) == [x * x for x in range(12)]
            # Blocks are drawn lazily: at most twice the workers ahead of the merge (plus the one in hand).
            assert step.max_ahead <= 2 * ex.workers + 1


def fail_on_three(x: int) -> int:
    if x == 3:
        raise ArenaprefError("block 3: not what was expected")
    return x


class Failing(Squares):
    @property
    def work(self) -> Callable[[int], int]:
        return fail_on_three


@pytest.mark.parametrize("make", [ThreadExecutor, ProcessExecutor])
def test_a_user_error_in_a_block_is_raised_as_itself(make: Callable[[int], Executor]) -> None:
    with make(2) as ex, pytest.raises(ArenaprefError, match=r"^block 3: not what was expected$"):
        run_step(Failing(8), ex)


def test_pool_executor_by_name_and_errors() -> None:
    with get_executor("threads", workers=3) as ex:
        assert ex.name == "threads" and ex.workers == 3
    assert get_executor("processes").name == "processes"
    with pytest.raises(ArenaprefError, match="`address` only applies"):
        get_executor("threads", address="auto")
    with pytest.raises(ArenaprefError, match="`workers` must be at least 1"):
        ThreadExecutor(0)
    with pytest.raises(ArenaprefError, match="unknown executor 'spark'"):
        get_executor("spark", address="auto")
    # A pipeline's [run] executor takes the same names (one list).
    assert get_args(RunSettings.model_fields["executor"].annotation) == EXECUTORS


def test_executors_package_holds_no_stage_code() -> None:
    """executors/ imports nothing of a stage package: the steps live there and name their executor."""
    allowed = {"arenapref.errors", "arenapref.readers", "arenapref.rejects"}
    found = []
    for path in sorted((SRC / "executors").glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("arenapref"):
                module = node.module or ""
                if not module.startswith("arenapref.executors") and module not in allowed:
                    found.append(f"{path.name}: {module}")
    assert not found


# ------------------------------------------------------------------------- every stage, blocks vs whole


def test_profile_blocks_equal(workspace: SynthManifest) -> None:
    from arenapref.profile import profile_paths

    paths = [workspace.lmsys_dir, workspace.train_csv]
    assert len(workspace.lmsys_shards) == 4
    ref = [_without(p.to_dict(), "seconds") for p in profile_paths(paths)]
    assert ref[0]["rows"] > 1000 and ref[1]["label_mix"]["labeled"] > 0
    for ex in _executors():
        got = [_without(p.to_dict(), "seconds") for p in profile_paths(paths, executor=ex)]
        assert got == ref


def test_compare_blocks_equal(workspace: SynthManifest) -> None:
    from arenapref.compare.run import compare_paths

    ref = compare_paths(workspace.lmsys_dir, workspace.train_csv)
    kinds = ref.report["left_in_right"]
    assert kinds["exact"] > 0 and kinds["near"] > 0, kinds

    def strip(report: dict[str, Any]) -> dict[str, Any]:
        return {k: v for k, v in report.items() if "second" not in k}

    for ex in _executors():
        got = compare_paths(workspace.lmsys_dir, workspace.train_csv, executor=ex, partitions=3)
        assert got.matches.equals(ref.matches)
        assert strip(got.report) == strip(ref.report)


def test_near_pairs_blocks_equal(workspace: SynthManifest) -> None:
    from arenapref.compare.near import near_pairs
    from arenapref.compare.run import read_prompt_set

    texts = read_prompt_set(workspace.lmsys_dir)[0].text
    ref = near_pairs(texts)
    assert len(ref.i) > 10
    for ex in _executors():
        got = near_pairs(texts, executor=ex, block_docs=300, partitions=3)
        np.testing.assert_array_equal(got.i, ref.i)
        np.testing.assert_array_equal(got.j, ref.j)
        np.testing.assert_array_equal(got.similarity, ref.similarity)
        assert _without(vars(got.stats), "seconds") == _without(vars(ref.stats), "seconds")


def test_decontaminate_blocks_equal(workspace: SynthManifest) -> None:
    from arenapref.compare.guard import decontaminate
    from arenapref.readers import read_table

    candidates = read_table(workspace.lmsys_dir)
    protect = [read_table(workspace.train_csv), read_table(workspace.test_csv)]
    ref = decontaminate(candidates, protect)
    assert ref.counts["exact"] > 0
    for ex in _executors():
        got = decontaminate(candidates, protect, executor=ex)
        assert got.counts == ref.counts
        assert got.kept.equals(ref.kept) and got.dropped.equals(ref.dropped)


def _mine_equal(ex: Executor, workspace: SynthManifest) -> None:
    from arenapref.mine import MineSettings, mine_pairs
    from arenapref.readers import read_table

    settings = MineSettings(near=True, max_uses=2, answer_similarity=0.5)
    exclude = [read_table(workspace.train_csv)]
    ref = mine_pairs([workspace.lmsys_dir], settings, exclude=exclude)
    assert ref.pairs.num_rows > 20
    got = mine_pairs([workspace.lmsys_dir], settings, exclude=exclude, executor=ex, partitions=3)
    assert got.pairs.equals(ref.pairs)
    assert got.dropped.equals(ref.dropped)
    assert _without(got.funnel.to_dict(), "seconds") == _without(ref.funnel.to_dict(), "seconds")


def test_mine_blocks_equal(workspace: SynthManifest) -> None:
    for ex in _executors():
        _mine_equal(ex, workspace)


@pytest.mark.slow
def test_mine_on_processes_equal(workspace: SynthManifest) -> None:
    """The scan and grouping blocks pickle to worker processes and back."""
    with ProcessExecutor(2) as ex:
        _mine_equal(ex, workspace)


def test_predict_blocks_equal(workspace: SynthManifest, tmp_path: Path) -> None:
    from arenapref.api import train
    from arenapref.model.predict import predict_proba, predict_submission
    from arenapref.readers import read_battles

    model_dir = tmp_path / "model"
    train([workspace.train_csv], model_dir, folds=2, params={"n_estimators": 10})
    table = read_battles(workspace.train_csv)
    ref = predict_proba(model_dir, table)
    predict_submission(model_dir, workspace.test_csv, tmp_path / "ref.csv")
    for k, ex in enumerate(_executors()):
        got = predict_proba(model_dir, table, ex, min_rows=64)  # several blocks
        np.testing.assert_allclose(got, ref, rtol=0, atol=1e-12)
        predict_submission(model_dir, workspace.test_csv, tmp_path / f"got{k}.csv", executor=ex)
        assert (tmp_path / f"got{k}.csv").read_bytes() == (tmp_path / "ref.csv").read_bytes()


def test_topics_blocks_equal(workspace: SynthManifest, tmp_path: Path) -> None:
    from arenapref.readers import open_source
    from arenapref.topics import FitSettings, fit_topics, load_model
    from arenapref.topics.blocks import assign_source
    from arenapref.topics.probe import count_source

    fit_topics(workspace.lmsys_dir, FitSettings(k=3, sample=800, embedder="tfidf", n_init=1)).save(
        tmp_path / "map"
    )
    model = load_model(tmp_path / "map")
    ref_src = open_source(workspace.lmsys_dir)
    ref = pa.concat_tables(list(assign_source(model, str(tmp_path / "map"), ref_src)))
    ref_mix = count_source(model, str(tmp_path / "map"), open_source(workspace.lmsys_dir), "lmsys", sample=0)
    assert ref.column("topic").null_count < ref.num_rows
    for ex in _executors():
        src = open_source(workspace.lmsys_dir)
        got = pa.concat_tables(list(assign_source(model, str(tmp_path / "map"), src, ex)))
        assert got.equals(ref)
        assert len(src.rejects) == len(ref_src.rejects)
        mix = count_source(
            model, str(tmp_path / "map"), open_source(workspace.lmsys_dir), "lmsys", 0, executor=ex
        )
        assert mix == ref_mix and sum(mix.counts) > 0
        # Unique prompts need the whole source at once: the same counts as without an executor, fewer than
        # every record's (the synthetic log repeats prompts).
        unique = [
            count_source(model, str(tmp_path / "map"), open_source(workspace.lmsys_dir), "lmsys", 0, True, e)
            for e in (None, ex)
        ]
        assert unique[0] == unique[1] and 0 < sum(unique[0].counts) < sum(ref_mix.counts)


def test_thread_executor_is_used_from_one_thread_only_for_merges() -> None:
    """Merges run on the calling thread (a step's counters need no lock)."""
    seen: set[int] = set()

    class Recording(Squares):
        def merge(self, parts: Iterator[int]) -> list[int]:
            out = []
            for p in parts:
                seen.add(threading.get_ident())
                out.append(p)
            return out

    with ThreadExecutor(3) as ex:
        run_step(Recording(10), ex)
    assert seen == {threading.get_ident()}
