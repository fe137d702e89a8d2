"""The shipped ``llama-cpp`` judge (SmolLM2-135M-Instruct behind llama.cpp's server, on the CPU) against
human labels, beside two plain references on the same rows.

Rows: the ``--pairs`` shortest single-turn human-labeled battles of ``competition_train_999`` (a real
model's time per request grows with the prompt, so the shortest are what a CPU can judge in minutes;
they are not a random sample, which the output says). The judge runs through ``judge-eval`` (both answer
orders, soft labels from the verdict token's log-probabilities). References, fitted on the other rows of
the same file: the class prior, and a logistic regression on the two answers' log lengths (the
"longer answer wins" baseline every Arena model has to beat).

    .venv/bin/python bench/bench_judge_real.py --pairs 150
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
from sklearn.linear_model import LogisticRegression

from arenapref.label.evaluate import human_labels
from arenapref.metrics import log_loss
from arenapref.readers import read_battles

SHARED = Path(__file__).resolve().parents[2] / "shared" / "data"


def _lengths(rows: list[dict[str, Any]]) -> np.ndarray:
    """log(1 + characters) of answer A and answer B, and their difference."""
    a = np.array([np.log1p(sum(len(t or "") for t in r["response_a"])) for r in rows])
    b = np.array([np.log1p(sum(len(t or "") for t in r["response_b"])) for r in rows])
    return np.column_stack([a, b, a - b])


def references(train: pa.Table, test: pa.Table) -> dict[str, dict[str, float]]:
    """Class prior and length-only logistic, fitted on ``train``, scored on ``test``."""
    y_train = human_labels(train)[0].argmax(axis=1)
    targets = human_labels(test)[0]
    y_test = targets.argmax(axis=1)
    prior = np.bincount(y_train, minlength=3) / len(y_train)
    out = {
        "class_prior": {
            "log_loss": log_loss(np.tile(prior, (len(y_test), 1)), targets),
            "accuracy": float(np.mean(y_test == prior.argmax())),
        }
    }
    model = LogisticRegression(max_iter=1000).fit(_lengths(train.to_pylist()), y_train)
    probs = model.predict_proba(_lengths(test.to_pylist()))
    out["length_logistic"] = {
        "log_loss": log_loss(probs, targets),
        "accuracy": float(np.mean(y_test == probs.argmax(axis=1))),
    }
    return out


def shortest(table: pa.Table, n: int) -> tuple[pa.Table, pa.Table]:
    """The ``n`` shortest single-turn labeled rows, and every other labeled row."""
    rows = table.to_pylist()
    _, labeled = human_labels(table)
    size = [
        sum(len(t or "") for t in r["prompt"] + r["response_a"] + r["response_b"])
        if len(r["prompt"]) == 1 and labeled[i]
        else None
        for i, r in enumerate(rows)
    ]
    order = sorted((i for i, s in enumerate(size) if s is not None), key=lambda i: size[i] or 0)
    pick = set(order[:n])
    rest = [i for i in range(len(rows)) if labeled[i] and i not in pick]
    return table.take(pa.array(sorted(pick))), table.take(pa.array(rest))


def main(argv: list[str] | None = None) -> dict[str, Any]:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--pairs", type=int, default=150)
    ap.add_argument("--shared", type=Path, default=SHARED)
    ap.add_argument("--workdir", type=Path, default=None)
    args = ap.parse_args(argv)

    from arenapref.label import judge_battles, load_judge
    from arenapref.label.evaluate import judge_eval
    from arenapref.llmclient.cache import JudgeCache
    from arenapref.llmclient.llamacpp import serve_llama_cpp

    table = read_battles(args.shared / "competition_train_999" / "train_999.csv")
    test, train = shortest(table, args.pairs)
    chars = [
        sum(len(t or "") for t in r["prompt"] + r["response_a"] + r["response_b"]) for r in test.to_pylist()
    ]
    work = args.workdir or Path(tempfile.mkdtemp(prefix="bench-judge-real-"))
    load_before = os.getloadavg()[0]
    started = time.perf_counter()
    # A cache on disk: a run stopped part way (a busy machine) resumes where it stopped.
    cache = JudgeCache(work / "cache.sqlite")

    def progress(done: int, total: int, cost: float) -> None:
        print(f"judged {done}/{total} requests, {time.perf_counter() - started:.0f} s", flush=True)

    with serve_llama_cpp(n_ctx=8192) as url:
        config = load_judge("llama-cpp").with_overrides(base_url=url)
        report = judge_eval(
            test, lambda t: judge_battles(t, config, cache=cache, progress=progress), work / "eval"
        )
    seconds = time.perf_counter() - started
    out = {
        "rows": test.num_rows,
        "rows_chars_median": float(np.median(chars)),
        "rows_chars_max": int(max(chars)),
        "reference_rows": train.num_rows,
        "load_before": round(load_before, 1),
        "seconds": round(seconds, 1),
        "judge": {
            "rows_judged": report.rows_judged,
            "rows_failed": report.rows_failed,
            "failure_reasons": report.failure_reasons,
            "agreement": report.agreement.__dict__,
            "swap_consistency": report.swap_consistency,
            "calibration": {k: v for k, v in report.calibration.items() if k != "path"},
        },
        "references": references(train, test),
    }
    print(json.dumps(out, indent=2, default=float))
    return out


if __name__ == "__main__":
    main()
