"""LoRA fine-tuning of a causal LM as a three-way preference classifier, with checkpoints and resume.

What the competition's leading solutions did, in one loop: a three-output head on the base model
(``AutoModelForSequenceClassification``), LoRA adapters (peft) on its linear layers, every battle also
seen with A and B swapped, a cross-entropy on the label *probabilities* (human one-hot votes and teacher
soft labels alike), optionally distillation from several teachers (KL and cosine terms, ``teachers.py``),
validation on whole prompt groups, and with k folds one adapter per fold, averaged into one
(``average.py``) or kept apart.

Checkpoints go to a work folder beside the output (``<out>.llm-work``): every ``save_steps`` optimizer
steps and at each epoch's end it holds the adapter and head, the optimizer, scheduler and loss-scaler
state, the step and the random generators, each checkpoint replaced as a whole. A run killed at any
moment resumes from the last checkpoint with the same data order and generators, so the result equals
an uninterrupted run's. The model folder itself is written only at the end, at once.
"""

from __future__ import annotations

import hashlib
import json
import math
import shutil
import time
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import peft
import pyarrow as pa
import torch
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

from arenapref.atomic import atomic_dir, refuse_input_as_output, write_text
from arenapref.errors import ArenaprefError
from arenapref.metrics import log_loss, softmax
from arenapref.model.groups import group_ids, grouped_folds, grouped_split
from arenapref.model.labels import battle_labels, source_weights
from arenapref.model.llm.average import average_adapters
from arenapref.model.llm.encode import EncodedBattle, Layout, encode_battles, make_layout
from arenapref.model.llm.folder import (
    ADAPTERS_DIR,
    CONFIG_FILE,
    FORMAT,
    FORMAT_VERSION,
    METRICS_FILE,
    OOF_FILE,
    TOKENIZER_DIR,
    base_checksum,
    base_folder,
    library_versions,
)
from arenapref.model.llm.gguf import is_gguf_file
from arenapref.model.llm.params import LLMParams, parse_llm_params
from arenapref.model.llm.runtime import (
    autocast,
    load_classifier,
    load_tokenizer,
    pad_batch,
    predict_logits,
    resolve_device,
    resolve_precision,
)
from arenapref.model.llm.teachers import read_teachers, teacher_log_probs, teacher_report
from arenapref.version import __version__
from arenapref.writers import write_parquet

SWAP = [1, 0, 2]
STATE_FILE = "trainer_state.pt"
STEP_FILE = "step.json"
MEAN_ADAPTER = "mean"


@dataclass(frozen=True)
class Example:
    """One training sequence: a battle in one order, its label and the teachers' log-probabilities."""

    battle: int
    swap: bool
    label: np.ndarray
    teacher: np.ndarray  # (teachers, 3) in this sequence's order; NaN rows: that teacher gave none
    weight: float = 1.0  # the row's per-source weight (--weight); the loss is sum(w * loss) / n


@dataclass
class RunResult:
    """One fold's outcome: validation rows, their swap-averaged probabilities, and the loss history."""

    fold: int
    valid_rows: np.ndarray
    valid_proba: np.ndarray
    history: list[dict[str, float]]
    resumed_from_step: int
    steps: int
    train_seconds: float
    train_sequences: int


def work_dir_for(out: Path) -> Path:
    """The checkpoint folder beside the model folder (outside it, so the atomic write never mixes them)."""
    return out.with_name(out.name + ".llm-work")


def _fingerprint(
    table: pa.Table,
    y: np.ndarray,
    w: np.ndarray,
    teacher: np.ndarray,
    base: Path,
    p: LLMParams,
    seed: int,
    folds: int,
) -> str:
    """What a checkpoint was made from: ids, labels, weights, teachers, base model, settings, seed, folds."""
    h = hashlib.sha256()
    h.update("\x1f".join(str(i) for i in table.column("id").to_pylist()).encode())
    for values in (y, w, teacher):
        h.update(np.ascontiguousarray(values, dtype=np.float64).tobytes())
    meta = {"base": base_checksum(base), "params": p.fingerprint_fields(), "seed": seed, "folds": folds}
    h.update(json.dumps(meta, sort_keys=True).encode())
    return h.hexdigest()


def _prepare_work(work: Path, fingerprint: str, p: LLMParams) -> None:
    """Start, resume or refuse: a work folder from another run is never silently resumed or deleted."""
    stamp = work / "fingerprint.txt"
    has_ckpt = work.is_dir() and any(work.glob("fold-*/checkpoint/" + STEP_FILE))
    if p.resume == "false" and work.exists():
        shutil.rmtree(work)
    elif work.exists():
        if not stamp.is_file() or stamp.read_text(encoding="utf-8").strip() != fingerprint:
            raise ArenaprefError(
                f"{work}: holds checkpoints of another training run (other data, base or settings); "
                "pass -p resume=false to start over"
            )
    elif p.resume == "true":
        raise ArenaprefError(f"-p resume=true: there is no checkpoint to resume in {work}")
    if p.resume == "true" and not has_ckpt and not any(work.glob("fold-*/done")):
        raise ArenaprefError(f"-p resume=true: there is no checkpoint to resume in {work}")
    work.mkdir(parents=True, exist_ok=True)
    if not stamp.is_file():
        write_text(stamp, fingerprint + "\n")


def distill_loss(
    logits: torch.Tensor, labels: torch.Tensor, teacher: torch.Tensor, p: LLMParams
) -> torch.Tensor:
    """Per-sequence loss: ce·CE(label) + kl·mean_t T²·KL(teacher_t ‖ model) + cos·mean_t (1 − cos).

    ``teacher`` is (batch, teachers, 3) log-probabilities, NaN where a teacher did not score the row; the
    means run over the teachers that did (a row no teacher scored has the CE term only). KL and cosine
    compare the teacher's and the model's probabilities at temperature ``kl_temperature`` (T² keeps the
    KL gradient's scale independent of T, as in Hinton et al.). The cosine term compares probability
    vectors, which (unlike logits) do not change when a constant is added to every logit.
    """
    logits = logits.float()
    ce = -(labels * torch.log_softmax(logits, dim=-1)).sum(dim=-1)
    loss = p.ce_weight * ce
    if teacher.shape[1] == 0 or (p.kl_weight == 0.0 and p.cos_weight == 0.0):
        return loss
    t = p.kl_temperature
    scored = torch.isfinite(teacher).all(dim=-1)  # (batch, teachers)
    log_t = torch.log_softmax(torch.where(scored[..., None], teacher, 0.0) / t, dim=-1)
    log_s = torch.log_softmax(logits / t, dim=-1)[:, None, :]
    kl = (log_t.exp() * (log_t - log_s)).sum(dim=-1) * (t * t)
    cos = 1.0 - torch.nn.functional.cosine_similarity(log_t.exp(), log_s.exp(), dim=-1)
    per_teacher = (p.kl_weight * kl + p.cos_weight * cos) * scored
    return loss + per_teacher.sum(dim=-1) / scored.sum(dim=-1).clamp(min=1)


class _Trainer:
    """The state of one fold's training: model, optimizer, schedule, and where its checkpoints go."""

    def __init__(
        self,
        base: Path,
        tokenizer: Any,
        p: LLMParams,
        seed: int,
        fold: int,
        work: Path,
        device: torch.device,
        precision: str,
    ) -> None:
        self.p, self.seed, self.fold, self.work = p, seed, fold, work
        self.device, self.precision = device, precision
        self.pad_id = int(tokenizer.pad_token_id)
        # The new head's and the LoRA initialisation: shared by all folds when their weights are averaged
        # (averaging fine-tuned models needs one starting point), else one per fold.
        torch.manual_seed(seed * 1000 + (0 if p.fold_average == "weights" else fold))
        # Half-precision base weights on a GPU; the trainable LoRA weights and head are made fp32 below.
        model = load_classifier(base, precision, self.pad_id, p.attn_implementation)
        model.config.use_cache = False
        if p.gradient_checkpointing:
            # Non-reentrant checkpointing works with frozen inputs (LoRA); transformers 5 renamed the call.
            kwargs = {"use_reentrant": False}
            if hasattr(model, "activation_checkpointing_enable"):
                model.activation_checkpointing_enable(activation_checkpointing_kwargs=kwargs)
            else:
                model.gradient_checkpointing_enable(gradient_checkpointing_kwargs=kwargs)
        cfg = peft.LoraConfig(
            task_type=peft.TaskType.SEQ_CLS,
            r=p.lora_r,
            lora_alpha=p.lora_alpha,
            lora_dropout=p.lora_dropout,
            target_modules=p.target_module_list,
        )
        try:
            model = peft.get_peft_model(model, cfg)
        except ValueError as exc:
            raise ArenaprefError(f"-p target_modules={p.target_modules}: {exc}") from exc
        for param in model.parameters():
            if param.requires_grad and param.dtype != torch.float32:
                param.data = param.data.float()
        self.model: Any = model.to(device)
        trainable = [q for q in self.model.parameters() if q.requires_grad]
        self.optimizer = torch.optim.AdamW(trainable, lr=p.learning_rate, weight_decay=p.weight_decay)
        self.scaler = torch.amp.GradScaler("cuda", enabled=precision == "fp16")
        self.step = 0
        self.total_steps = 1
        self.scheduler: torch.optim.lr_scheduler.LambdaLR | None = None

    def make_schedule(self, total_steps: int) -> None:
        """Linear warm-up over ``warmup_frac`` of the steps, then linear decay to zero."""
        self.total_steps = total_steps
        warm = max(int(total_steps * self.p.warmup_frac), 0)

        def factor(step: int) -> float:
            if warm and step < warm:
                return (step + 1) / warm
            return max(0.0, (total_steps - step) / max(total_steps - warm, 1))

        self.scheduler = torch.optim.lr_scheduler.LambdaLR(self.optimizer, factor)

    # --- checkpoints -------------------------------------------------------------------------------
    @property
    def checkpoint_dir(self) -> Path:
        return self.work / f"fold-{self.fold}" / "checkpoint"

    def save_checkpoint(self) -> None:
        assert self.scheduler is not None
        with atomic_dir(self.checkpoint_dir) as tmp:
            self.model.save_pretrained(str(tmp))
            torch.save(
                {
                    "optimizer": self.optimizer.state_dict(),
                    "scheduler": self.scheduler.state_dict(),
                    "scaler": self.scaler.state_dict(),
                    "torch_rng": torch.get_rng_state(),
                    "cuda_rng": torch.cuda.get_rng_state_all() if torch.cuda.is_available() else [],
                },
                tmp / STATE_FILE,
            )
            (tmp / STEP_FILE).write_text(json.dumps({"step": self.step}) + "\n", encoding="utf-8")

    def load_checkpoint(self) -> int:
        """Restore the last checkpoint of this fold, if any; the step it was taken at (0 for none)."""
        d = self.checkpoint_dir
        if not (d / STEP_FILE).is_file():
            return 0
        assert self.scheduler is not None
        peft.set_peft_model_state_dict(
            self.model, peft.utils.load_peft_weights(str(d), device=str(self.device))
        )
        state = torch.load(d / STATE_FILE, map_location=self.device, weights_only=True)
        self.optimizer.load_state_dict(state["optimizer"])
        self.scheduler.load_state_dict(state["scheduler"])
        self.scaler.load_state_dict(state["scaler"])
        torch.set_rng_state(state["torch_rng"].cpu())
        if state["cuda_rng"] and torch.cuda.is_available():
            torch.cuda.set_rng_state_all([s.cpu() for s in state["cuda_rng"]])
        self.step = int(json.loads((d / STEP_FILE).read_text(encoding="utf-8"))["step"])
        return self.step

    # --- one optimizer step ------------------------------------------------------------------------
    def train_step(self, micro_batches: list[list[Example]], seqs: Callable[[Example], list[int]]) -> float:
        self.model.train()
        n = sum(len(mb) for mb in micro_batches)
        total = 0.0
        for mb in micro_batches:
            batch = pad_batch([seqs(e) for e in mb], self.pad_id, self.device)
            labels = torch.tensor(np.stack([e.label for e in mb]), dtype=torch.float32, device=self.device)
            teacher = torch.tensor(np.stack([e.teacher for e in mb]), dtype=torch.float32, device=self.device)
            weight = torch.tensor([e.weight for e in mb], dtype=torch.float32, device=self.device)
            with autocast(self.device, self.precision):
                logits = self.model(**batch).logits
            loss = (distill_loss(logits, labels, teacher, self.p) * weight).sum() / n
            scaled: torch.Tensor = self.scaler.scale(loss)
            torch.autograd.backward(scaled)
            total += float(loss.detach())
        if self.p.max_grad_norm > 0:
            self.scaler.unscale_(self.optimizer)
            torch.nn.utils.clip_grad_norm_(
                [q for q in self.model.parameters() if q.requires_grad], self.p.max_grad_norm
            )
        self.scaler.step(self.optimizer)
        self.scaler.update()
        self.optimizer.zero_grad(set_to_none=True)
        assert self.scheduler is not None
        self.scheduler.step()
        self.step += 1
        return total


def _swap_averaged(
    trainer: _Trainer, layout: Layout, enc: list[EncodedBattle], rows: np.ndarray, batch_size: int
) -> np.ndarray:
    if len(rows) == 0:
        return np.zeros((0, 3))
    seqs = [enc[i].ids(layout) for i in rows] + [enc[i].ids(layout, swap=True) for i in rows]
    pr = softmax(
        predict_logits(trainer.model, seqs, batch_size, trainer.pad_id, trainer.device, trainer.precision)
    )
    n = len(rows)
    return np.asarray(0.5 * (pr[:n] + pr[n:][:, SWAP]))


def epoch_order(n_battles: int, swapped: bool, full_swap: bool, seed: list[int]) -> np.ndarray:
    """The order of one epoch's examples (``n_battles`` originals, then as many swapped copies if any).

    It depends only on ``seed`` ([seed, fold, epoch]), so a resumed run replays it exactly. With
    ``full_swap`` the battles are shuffled and each is followed at once by its swapped copy, so with an
    even number of sequences per optimizer step both orders of a battle always share one step.
    """
    rng = np.random.default_rng(seed)
    if not (swapped and full_swap):
        return rng.permutation(n_battles * (2 if swapped else 1))
    battles = rng.permutation(n_battles)
    return np.column_stack([battles, battles + n_battles]).ravel()


def _run_fold(
    fold: int,
    train_rows: np.ndarray,
    valid_rows: np.ndarray,
    *,
    enc: list[EncodedBattle],
    layout: Layout,
    y: np.ndarray,
    w: np.ndarray,
    teacher: np.ndarray,
    base: Path,
    tokenizer: Any,
    p: LLMParams,
    seed: int,
    work: Path,
    device: torch.device,
    precision: str,
    progress: Progress | None,
) -> RunResult:
    """Train one adapter on ``train_rows`` (resuming its checkpoint); score ``valid_rows`` each epoch."""
    done = work / f"fold-{fold}" / "done"
    if (done / "result.json").is_file():
        info = json.loads((done / "result.json").read_text(encoding="utf-8"))
        return RunResult(
            fold,
            valid_rows,
            np.load(done / "valid_proba.npy"),
            info["history"],
            info["resumed_from_step"],
            info["steps"],
            info["train_seconds"],
            info["train_sequences"],
        )
    examples = [Example(int(i), False, y[i], teacher[i], float(w[i])) for i in train_rows]
    if p.swap_augment:
        examples += [Example(int(i), True, y[i][SWAP], teacher[i][:, SWAP], float(w[i])) for i in train_rows]
    per_step = p.batch_size * p.grad_accum
    steps_per_epoch = math.ceil(len(examples) / per_step)
    trainer = _Trainer(base, tokenizer, p, seed, fold, work, device, precision)
    trainer.make_schedule(steps_per_epoch * p.epochs)
    resumed = trainer.load_checkpoint()
    history: list[dict[str, float]] = []
    hist_file = work / f"fold-{fold}" / "history.json"
    if resumed and hist_file.is_file():
        history = [h for h in json.loads(hist_file.read_text(encoding="utf-8")) if h["step"] <= resumed]
    task = (
        progress.add_task(f"fold {fold}", total=steps_per_epoch * p.epochs, completed=resumed)
        if progress is not None
        else None
    )

    def seqs(e: Example) -> list[int]:
        return enc[e.battle].ids(layout, swap=e.swap)

    started = time.perf_counter()
    trained = 0
    for epoch in range(p.epochs):
        # The order of an epoch depends only on (seed, fold, epoch): a resumed run replays it exactly.
        order = epoch_order(len(train_rows), p.swap_augment, p.full_swap, [seed, fold, epoch])
        losses: list[float] = []
        for s in range(steps_per_epoch):
            if epoch * steps_per_epoch + s < trainer.step:
                continue
            chunk = [examples[i] for i in order[s * per_step : (s + 1) * per_step]]
            micro = [chunk[k : k + p.batch_size] for k in range(0, len(chunk), p.batch_size)]
            losses.append(trainer.train_step(micro, seqs))
            trained += len(chunk)
            if task is not None and progress is not None:
                progress.advance(task)
            end_of_epoch = s == steps_per_epoch - 1
            if end_of_epoch:
                v = _swap_averaged(trainer, layout, enc, valid_rows, p.batch_size_for_predict)
                history.append(
                    {
                        "epoch": epoch + 1,
                        "step": trainer.step,
                        "train_loss": float(np.mean(losses)) if losses else float("nan"),
                        "valid_log_loss": log_loss(v, y[valid_rows]) if len(valid_rows) else float("nan"),
                    }
                )
                write_text(hist_file, json.dumps(history) + "\n")
            if end_of_epoch or (p.save_steps and trainer.step % p.save_steps == 0):
                trainer.save_checkpoint()
    seconds = time.perf_counter() - started
    valid_proba = _swap_averaged(trainer, layout, enc, valid_rows, p.batch_size_for_predict)
    with atomic_dir(done) as tmp:
        trainer.model.save_pretrained(str(tmp / "adapter"))
        np.save(tmp / "valid_proba.npy", valid_proba)
        info = {
            "history": history,
            "resumed_from_step": resumed,
            "steps": trainer.step,
            "train_seconds": seconds,
            "train_sequences": trained,
        }
        (tmp / "result.json").write_text(json.dumps(info) + "\n", encoding="utf-8")
    shutil.rmtree(trainer.checkpoint_dir, ignore_errors=True)
    del trainer
    if device.type == "cuda":
        torch.cuda.empty_cache()
    return RunResult(
        fold, valid_rows, valid_proba, history, resumed, steps_per_epoch * p.epochs, seconds, trained
    )


def _plan(table: pa.Table, p: LLMParams, seed: int, folds: int) -> list[tuple[int, np.ndarray, np.ndarray]]:
    """(fold, train rows, validation rows) per adapter: k grouped folds, or one grouped hold-out."""
    n = table.num_rows
    rows = np.arange(n)
    if folds >= 2:
        f = grouped_folds(group_ids(table), folds, seed=seed)
        return [(k, rows[f != k], rows[f == k]) for k in range(folds)]
    if folds not in (0, 1):
        raise ArenaprefError(
            f"`folds`={folds}: expected 0 (one grouped hold-out of valid_frac) or at least 2"
        )
    if p.valid_frac == 0.0 or n < 2:
        return [(0, rows, rows[:0])]
    held = grouped_split(group_ids(table), p.valid_frac, seed=seed)
    if held.all():
        held[:] = False
    return [(0, rows[~held], rows[held])]


def _temperature(proba: np.ndarray, y: np.ndarray, w: np.ndarray, folds: np.ndarray) -> tuple[float, float]:
    """The temperature prediction applies, and the OOF log loss with a temperature fitted on other folds.

    As the CPU model does: a temperature is kept only when the cross-fitted one lowers the OOF log loss
    (one fitted on all OOF rows always lowers theirs, so that cannot tell); otherwise 1.
    """
    from arenapref.model.temperature import cross_fitted_temperature, fit_temperature

    scaled, raw = cross_fitted_temperature(proba, y, w, folds)
    return (fit_temperature(proba, y, w) if scaled < raw else 1.0), scaled


def _progress(enabled: bool) -> Progress | None:
    if not enabled:
        return None
    return Progress(
        TextColumn("training {task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeRemainingColumn(),
        console=Console(stderr=True),
        transient=True,
    )


def train_llm_table(
    battles: pa.Table,
    out: Path,
    base: Path,
    params: dict[str, Any] | None = None,
    seed: int = 0,
    folds: int = 0,
    progress: bool = True,
    weights: Mapping[str, float] | None = None,
) -> dict[str, Any]:
    """See ``arenapref.model.llm.train_llm``."""

    p = parse_llm_params(params)
    out, base = Path(out), Path(base)
    if not base.exists():
        raise ArenaprefError(
            f"`base`={base}: no such file or folder (a GGUF file or a local Hugging Face folder is needed)"
        )
    base_checksum(base)
    refuse_input_as_output(out, [base])
    started = time.perf_counter()
    y_all, ok = battle_labels(battles)
    if not ok.any():
        raise ArenaprefError("no labeled battles to train on")
    table = battles.filter(pa.array(ok))
    y = y_all[ok]
    w = source_weights(table, weights or {})
    teacher_proba = read_teachers(table, p.teacher_list)
    teacher = teacher_log_probs(teacher_proba)
    plan = _plan(table, p, seed, folds)
    device = resolve_device(p.device)
    precision = resolve_precision(p.precision, device)
    work = work_dir_for(out)
    _prepare_work(work, _fingerprint(table, y, w, teacher, base, p, seed, folds), p)
    base_weights = base_folder(base)
    tokenizer = load_tokenizer(base_weights)
    layout = make_layout(tokenizer)
    enc = encode_battles(tokenizer, layout, table, p.max_length, p.prompt_fraction, p.truncation)
    if device.type == "cuda":
        torch.cuda.reset_peak_memory_stats(device)
    bar = _progress(progress)
    results: list[RunResult] = []
    common = dict(
        enc=enc,
        layout=layout,
        y=y,
        w=w,
        teacher=teacher,
        base=base_weights,
        tokenizer=tokenizer,
        p=p,
        seed=seed,
        work=work,
        device=device,
        precision=precision,
    )
    if bar is not None:
        bar.start()
    try:
        for fold, tr, va in plan:
            results.append(_run_fold(fold, tr, va, progress=bar, **common))
    finally:
        if bar is not None:
            bar.stop()
    peak = int(torch.cuda.max_memory_allocated(device)) if device.type == "cuda" else None
    summary = _write_model_folder(
        out,
        base,
        table,
        y,
        w,
        results,
        tokenizer,
        p,
        seed,
        folds,
        precision,
        peak,
        started,
        dict(weights or {}),
        teacher_report(p.teacher_list, teacher_proba, y),
    )
    summary["n_rows"] = int(battles.num_rows)
    if not p.keep_checkpoints:
        shutil.rmtree(work, ignore_errors=True)
    return summary


def _write_model_folder(
    out: Path,
    base: Path,
    table: pa.Table,
    y: np.ndarray,
    w: np.ndarray,
    results: list[RunResult],
    tokenizer: Any,
    p: LLMParams,
    seed: int,
    folds: int,
    precision: str,
    peak: int | None,
    started: float,
    weights: dict[str, float],
    teachers: list[dict[str, object]],
) -> dict[str, Any]:
    ids = np.asarray(table.column("id").to_pylist(), dtype=object)
    rows = np.concatenate([r.valid_rows for r in results])
    proba = np.concatenate([r.valid_proba for r in results]) if len(rows) else np.zeros((0, 3))
    fold_of = np.concatenate([np.full(len(r.valid_rows), r.fold) for r in results])
    # The class prior, fitted on each fold's training rows and scored on its validation rows.
    prior = np.concatenate(
        [
            np.tile(y[np.setdiff1d(np.arange(len(y)), r.valid_rows)].mean(axis=0), (len(r.valid_rows), 1))
            for r in results
        ]
    )
    oof_loss = log_loss(proba, y[rows]) if len(rows) else None
    temperature, crossfit = _temperature(proba, y[rows], w[rows], fold_of) if folds >= 2 else (1.0, None)
    prior_loss = log_loss(prior, y[rows]) if len(rows) else None
    train_seconds = sum(r.train_seconds for r in results)
    sequences = sum(r.train_sequences for r in results)
    metrics = {
        "n_labeled": len(y),
        "n_validation": len(rows),
        "folds": folds,
        "oof_log_loss": oof_loss,
        "prior_log_loss": prior_loss,
        "temperature": temperature,
        "oof_log_loss_crossfit_temperature": crossfit,
        "per_fold": [
            {
                "fold": r.fold,
                "n_train": int(len(y) - len(r.valid_rows)),
                "n_valid": len(r.valid_rows),
                "valid_log_loss": log_loss(r.valid_proba, y[r.valid_rows]) if len(r.valid_rows) else None,
                "history": r.history,
                "resumed_from_step": r.resumed_from_step,
            }
            for r in results
        ],
        "train_seconds": train_seconds,
        # Sequences include the swapped copies: two per battle with swap augmentation.
        "train_sequences_per_s": sequences / train_seconds if train_seconds > 0 else None,
        "peak_gpu_memory_bytes": peak,
        "precision": precision,
        "teachers": teachers,
    }
    averaged = folds >= 2 and p.fold_average == "weights"
    adapter_names = [MEAN_ADAPTER] if averaged else [str(r.fold) for r in results]
    cfg = {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "arenapref_version": __version__,
        "created": datetime.now(UTC).isoformat(timespec="seconds"),
        "base": str(base.resolve()),
        "base_format": "gguf" if is_gguf_file(base) else "folder",
        # A folder's config.json checksum, or the whole GGUF file's (read_llm_config checks it).
        "base_config_sha256": base_checksum(base),
        "params": asdict(p),
        "seed": seed,
        "weights": weights,
        "temperature": temperature,
        "adapters": [f"{ADAPTERS_DIR}/{name}" for name in adapter_names],
        "fold_adapters_averaged": len(results) if averaged else 0,
        "libraries": library_versions(),
    }
    oof = pa.table(
        {
            "id": pa.array([str(i) for i in ids[rows]], pa.string()),
            "p_a": proba[:, 0],
            "p_b": proba[:, 1],
            "p_tie": proba[:, 2],
            "fold": pa.array(fold_of, pa.int32()),
        }
    )
    work = work_dir_for(out)
    with atomic_dir(out) as tmp:
        fold_adapters = [work / f"fold-{r.fold}" / "done" / "adapter" for r in results]
        if averaged:
            average_adapters(fold_adapters, tmp / ADAPTERS_DIR / MEAN_ADAPTER)
        else:
            for r, folder in zip(results, fold_adapters, strict=True):
                shutil.copytree(folder, tmp / ADAPTERS_DIR / str(r.fold))
        tokenizer.save_pretrained(str(tmp / TOKENIZER_DIR))
        write_parquet(oof, tmp / OOF_FILE)
        (tmp / METRICS_FILE).write_text(json.dumps(metrics, indent=2) + "\n", encoding="utf-8")
        (tmp / CONFIG_FILE).write_text(json.dumps(cfg, indent=2) + "\n", encoding="utf-8")
    return {
        "model_dir": str(out),
        "oof_path": str(out / OOF_FILE),
        **{k: v for k, v in metrics.items() if k != "per_fold"},
        "fold_log_loss": [
            log_loss(r.valid_proba, y[r.valid_rows]) if len(r.valid_rows) else None for r in results
        ],
        "resumed_from_step": [r.resumed_from_step for r in results],
        "seconds": time.perf_counter() - started,
    }


__all__ = ["epoch_order", "train_llm_table", "work_dir_for"]
