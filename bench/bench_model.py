"""Benchmark of the preference model on synthetic battles, side by side with plain references.

Issue budgets (57k training battles, 25k test battles): training with 5-fold grouped validation <= 10
minutes, prediction <= 2 minutes, test log loss within 0.03 of the best possible (the log loss of the
generator's true probabilities on the same drawn labels).

References trained and scored in the same run on the same split:
* the class prior (what any model must beat);
* TF-IDF (word 1-2 grams of each answer) + multinomial logistic regression on [A, B, A-B] — the
  classic text baseline, with no cross-validation (so its time is one fit, not six).

    python bench/bench_model.py --n-train 57000 --n-test 25000
"""

from __future__ import annotations

import argparse
import csv
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow.parquet as pq
import scipy.sparse as sp
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression

from arenapref.api import train
from arenapref.model.estimators import PriorModel, battle_labels
from arenapref.model.evaluate import log_loss
from arenapref.model.features import battle_texts
from arenapref.model.predict import predict_submission
from arenapref.readers import read_battles
from arenapref.synth import SynthManifest, generate

LABELS = {"model_a": 0, "model_b": 1, "tie": 2}


def hidden_test_labels(truth: Path) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray]]:
    """The drawn test labels (one-hot) and true probabilities by id, from the synthetic truth file."""
    rows = pq.read_table(truth, columns=["id", "split", "label", "p_a", "p_b", "p_tie"]).to_pylist()
    labels, true = {}, {}
    for r in rows:
        if r["split"] == "test" and r["label"] in LABELS:
            labels[str(r["id"])] = np.eye(3)[LABELS[r["label"]]]
            true[str(r["id"])] = np.array([r["p_a"], r["p_b"], r["p_tie"]])
    return labels, true


def read_submission(path: Path) -> dict[str, np.ndarray]:
    with path.open(newline="", encoding="utf-8") as fh:
        return {
            r["id"]: np.array([float(r[c]) for c in ("winner_model_a", "winner_model_b", "winner_tie")])
            for r in csv.DictReader(fh)
        }


def tfidf_reference(
    train_csv: Path, test_csv: Path, max_features: int
) -> tuple[dict[str, np.ndarray], float]:
    """TF-IDF + logistic regression: fit on train, predict test; returns predictions by id and seconds."""
    start = time.perf_counter()
    train, test = read_battles(train_csv), read_battles(test_csv)
    y, ok = battle_labels(train)
    train = train.filter(ok)
    tr, te = battle_texts(train), battle_texts(test)
    vec = TfidfVectorizer(ngram_range=(1, 2), max_features=max_features, sublinear_tf=True, min_df=2)
    vec.fit(tr.get_column("a").to_list() + tr.get_column("b").to_list())

    def design(df: Any) -> sp.csr_matrix:
        xa = vec.transform(df.get_column("a").to_list())
        xb = vec.transform(df.get_column("b").to_list())
        return sp.hstack([xa, xb, xa - xb]).tocsr()

    clf = LogisticRegression(C=1.0, max_iter=100)
    clf.fit(design(tr), y[ok].argmax(axis=1))
    proba = clf.predict_proba(design(te))
    ids = [str(i) for i in test.column("id").to_pylist()]
    return dict(zip(ids, proba, strict=True)), time.perf_counter() - start


def score(pred: dict[str, np.ndarray], labels: dict[str, np.ndarray]) -> float:
    ids = [i for i in labels if i in pred]
    return log_loss(np.array([pred[i] for i in ids]), np.array([labels[i] for i in ids]))


def main(argv: list[str] | None = None) -> dict[str, float]:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--n-train", type=int, default=57_000, help="training battles")
    parser.add_argument("--n-test", type=int, default=25_000, help="test battles")
    parser.add_argument("--folds", type=int, default=5)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--tfidf-features", type=int, default=10_000)
    parser.add_argument("--synth", type=Path, default=None, help="reuse this synth workspace if present")
    parser.add_argument("--workdir", type=Path, default=None, help="keep the workspace here (default: temp)")
    args = parser.parse_args(argv)

    with tempfile.TemporaryDirectory() as tmp:
        work = args.workdir or Path(tmp)
        total = args.n_train + args.n_test
        t0 = time.perf_counter()
        synth_dir = args.synth or work / "synth"
        if (synth_dir / "manifest.json").is_file():
            manifest = SynthManifest.load(synth_dir)
        else:
            manifest = generate(
                synth_dir, conversations=200, battles=total, seed=args.seed, test_share=args.n_test / total
            )
        gen_s = time.perf_counter() - t0
        labels, true = hidden_test_labels(manifest.truth_battles)

        t0 = time.perf_counter()
        summary = train([manifest.train_csv], work / "model", folds=args.folds, seed=args.seed)
        train_s = time.perf_counter() - t0
        t0 = time.perf_counter()
        sub = predict_submission(work / "model", manifest.test_csv, work / "submission.csv")
        predict_s = time.perf_counter() - t0
        ours = score(read_submission(sub.path), labels)
        best = score(true, labels)

        train_table = read_battles(manifest.train_csv)
        prior = PriorModel().fit(train_table).class_prior_
        prior_ll = score({i: prior for i in labels}, labels)
        ref_pred, ref_s = tfidf_reference(manifest.train_csv, manifest.test_csv, args.tfidf_features)
        ref_ll = score(ref_pred, labels)

    figures = {
        "n_train": float(manifest.n_train),
        "n_test": float(manifest.n_test),
        "generate_s": gen_s,
        "train_cv_s": train_s,
        "predict_s": predict_s,
        "tfidf_lr_s": ref_s,
        "oof_log_loss": summary.oof_log_loss,
        "test_log_loss": ours,
        "best_log_loss": best,
        "gap": ours - best,
        "prior_log_loss": prior_ll,
        "tfidf_lr_log_loss": ref_ll,
        "temperature": summary.temperature,
    }
    print(f"synthetic battles: {manifest.n_train} train, {manifest.n_test} test (generated in {gen_s:.1f} s)")
    print(f"{'':34}{'log loss':>10}{'seconds':>10}")
    print(f"{'best possible (true probabilities)':34}{best:>10.4f}{'':>10}")
    print(f"{f'LightGBM features, {args.folds}-fold CV + refit':34}{ours:>10.4f}{train_s:>10.1f}")
    print(f"{'  prediction (test-time swap)':34}{'':>10}{predict_s:>10.1f}")
    print(f"{'TF-IDF + logistic regression':34}{ref_ll:>10.4f}{ref_s:>10.1f}")
    print(f"{'class prior':34}{prior_ll:>10.4f}{'':>10}")
    print(f"OOF log loss {summary.oof_log_loss:.4f}, temperature {summary.temperature:.3f}")
    print(f"gap to best: {ours - best:+.4f} (budget 0.03)  -> {'OK' if ours - best <= 0.03 else 'OVER'}")
    print(
        f"train+CV time / TF-IDF LR time: {train_s / ref_s:.2f}x; "
        f"log loss gain over TF-IDF LR: {ref_ll - ours:+.4f}"
    )
    scale = 57_000 / max(manifest.n_train, 1)
    print(
        f"budgets (scaled linearly to 57k/25k): train {train_s * scale:.0f} s of 600, "
        f"predict {predict_s * 25_000 / max(manifest.n_test, 1):.0f} s of 120"
    )
    return figures


if __name__ == "__main__":
    main()
