"""``arenapref mine``: battle pairs from single-model conversations, with a funnel report.

A thin adapter: the options are ``mine.settings.MineSettings``' fields and, for regeneration,
``RegenerateSettings``' (tests/test_data_settings.py checks the sets, the defaults and the ranges), handed
to ``arenapref.api.mine`` as the pipeline does.
"""

from __future__ import annotations

from functools import partial
from pathlib import Path
from typing import Annotated, Any, Literal

import typer

from arenapref.cli.app import app
from arenapref.cli.common import (
    ExcludeFormatOption,
    FormatOption,
    JsonOption,
    QuietOption,
    RejectsOption,
    SplitOption,
    console,
    default_of,
    emit_json,
    open_input,
    protected_inputs,
    report_rejects,
    say,
    settings_options,
    start_command,
)
from arenapref.cli.compare_cmd import stage_progress
from arenapref.errors import ArenaprefError
from arenapref.executors.cli import AddressOption, ExecutorOption, executor_for
from arenapref.mine.settings import MineSettings, RegenerateSettings

#: ``MineSettings`` fields whose ``None`` (no cap, no limit, no check) is 0 on the command line.
ZERO_IS_NONE = ("answer_similarity", "max_answer_chars", "max_pairs_per_prompt", "max_pairs_per_model_pair")
#: The option of each ``RegenerateSettings`` field (they share the command with ``MineSettings``').
REGEN_FLAGS = {
    "model": "--regenerate-model",
    "base_url": "--base-url",
    "api_key_env": "--api-key-env",
    "cache": "--regen-cache",
    "temperature": "--regen-temperature",
    "max_tokens": "--regen-max-tokens",
    "max_prompts": "--regen-max-prompts",
    "max_requests": "--regen-max-requests",
    "max_total_tokens": "--regen-max-tokens-total",
    "max_cost": "--regen-max-cost",
    "concurrency": "--regen-concurrency",
}
#: ``RegenerateSettings`` fields whose ``None`` is 0 (or '') on the command line.
REGEN_ZERO_IS_NONE = ("max_prompts", "api_key_env")


def _shown(model: type[MineSettings | RegenerateSettings], name: str) -> Any:
    """A setting's default as its option shows it (0 for a cap's "none")."""
    value = default_of(model, name)
    return 0 if value is None and name in (*ZERO_IS_NONE, "max_prompts") else value


_m, _r = partial(_shown, MineSettings), partial(_shown, RegenerateSettings)


def languages_of(option: str) -> tuple[str, ...]:
    """--languages's comma-separated names as ``MineSettings.languages`` ("" is every language)."""
    return tuple(x.strip() for x in option.split(",") if x.strip())


@app.command("mine")
def mine(
    sources: Annotated[
        list[Path], typer.Argument(help="Conversation sources (LMSYS shards, FastChat folder, ...).")
    ],
    out: Annotated[Path, typer.Option("--out", "-o", help="Output .csv (competition layout) or .parquet.")],
    exclude: Annotated[
        list[Path] | None,
        typer.Option(
            "--exclude",
            help=(
                "Protected source (e.g. test.csv); a pair leaks when its user turns open, or are opened by, "
                "a protected record's turns (exactly, after masking, or nearly; see check-leakage). "
                "Repeatable; a source without prompts is an error."
            ),
        ),
    ] = None,
    key: Annotated[
        Literal["first", "all"],
        typer.Option("--key", help="Group by the first user turn or by all user turns."),
    ] = _m("key"),
    near: Annotated[
        bool, typer.Option("--near", help="Also merge groups whose prompts are near-duplicates.")
    ] = _m("near"),
    near_threshold: Annotated[float, typer.Option(help="Jaccard threshold for --near.")] = _m(
        "near_threshold"
    ),
    answer_similarity: Annotated[
        float,
        typer.Option(
            help="Drop a pair whose two answers are this similar (5-gram Jaccard): it teaches nothing; "
            "0 = keep them."
        ),
    ] = _m("answer_similarity"),
    languages: Annotated[
        str, typer.Option("--languages", help="Comma-separated allow-list of languages (default: all).")
    ] = ",".join(default_of(MineSettings, "languages")),
    min_answer_chars: Annotated[int, typer.Option(help="Drop answers shorter than this (characters).")] = _m(
        "min_answer_chars"
    ),
    max_answer_chars: Annotated[int, typer.Option(help="Drop answers longer than this; 0 = no limit.")] = _m(
        "max_answer_chars"
    ),
    max_uses: Annotated[int, typer.Option(help="Pairs one conversation may appear in.")] = _m("max_uses"),
    max_pairs_per_prompt: Annotated[int, typer.Option(help="Cap per prompt group; 0 = no cap.")] = _m(
        "max_pairs_per_prompt"
    ),
    max_pairs_per_model_pair: Annotated[int, typer.Option(help="Cap per model pair; 0 = no cap.")] = _m(
        "max_pairs_per_model_pair"
    ),
    seed: Annotated[int, typer.Option(help="Seed for pairing order, caps and A/B slots.")] = _m("seed"),
    exclude_threshold: Annotated[
        float, typer.Option(help="Near-duplicate threshold of the leakage guard.")
    ] = _m("exclude_threshold"),
    dropped: Annotated[
        Path | None,
        typer.Option(
            "--dropped", help="Write every dropped record and pair with its reason (JSONL/.parquet)."
        ),
    ] = None,
    topics: Annotated[
        Path | None,
        typer.Option("--topics", help="Topic model folder (arenapref topics); adds a topic column."),
    ] = None,
    fmt: FormatOption = None,
    exclude_format: ExcludeFormatOption = None,
    split: SplitOption = None,
    regenerate_model: Annotated[
        str | None,
        typer.Option(help="Ask this model for a second answer to prompts only one model answered."),
    ] = _r("model"),
    base_url: Annotated[
        str | None,
        typer.Option(
            envvar=["ARENAPREF_BASE_URL", "OPENAI_BASE_URL"],
            help="Endpoint for --regenerate-model (default: $ARENAPREF_BASE_URL, else $OPENAI_BASE_URL).",
        ),
    ] = _r("base_url"),
    api_key_env: Annotated[
        str, typer.Option(help="Environment variable holding the API key ('' for none).")
    ] = _r("api_key_env"),
    regen_cache: Annotated[
        Path | None,
        typer.Option(help="SQLite cache of regenerated answers (default: OUT.regen.sqlite); reruns resume."),
    ] = _r("cache"),
    regen_max_prompts: Annotated[
        int, typer.Option(help="Regenerate at most this many prompts; 0 = all.")
    ] = _r("max_prompts"),
    regen_max_requests: Annotated[int, typer.Option(help="Budget: HTTP requests; 0 = no cap.")] = _r(
        "max_requests"
    ),
    regen_max_tokens_total: Annotated[int, typer.Option(help="Budget: tokens; 0 = no cap.")] = _r(
        "max_total_tokens"
    ),
    regen_max_cost: Annotated[float, typer.Option(help="Budget: USD (needs prices); 0 = no cap.")] = _r(
        "max_cost"
    ),
    regen_temperature: Annotated[
        float, typer.Option(help="Sampling temperature of regenerated answers.")
    ] = _r("temperature"),
    regen_max_tokens: Annotated[int, typer.Option(help="max_tokens of each regenerated answer.")] = _r(
        "max_tokens"
    ),
    regen_concurrency: Annotated[int, typer.Option(help="Concurrent requests to the endpoint.")] = _r(
        "concurrency"
    ),
    rejects: RejectsOption = None,
    json_out: JsonOption = False,
    quiet: QuietOption = False,
    executor: ExecutorOption = "local",
    address: AddressOption = None,
) -> None:
    """Mine battles from conversations where different models answered the same prompt.

    Groups conversations by the placeholder-aware key of their user turns, pairs answers of different models
    (each conversation in at most --max-uses pairs, capped per prompt and per model pair), puts each side in
    slot A or B at random, drops pairs whose prompt leaks into an --exclude source, and writes the pairs with
    a funnel report (OUT.funnel.json / OUT.funnel.md) that accounts for every input record.

    With --regenerate-model, prompts answered by one model only get a second answer from that model over an
    OpenAI-compatible endpoint (cached in SQLite and budgeted like the judge; a rerun resumes). A multi-turn
    conversation is regenerated turn by turn, each turn given the user's turns and the model's own earlier
    answers.
    """
    start_command(json_out, quiet)
    from arenapref import api
    from arenapref.mine.output import check_outputs, write_result
    from arenapref.mine.regenerate import regeneration
    from arenapref.rejects import RejectLog
    from arenapref.settings import build

    inputs = [*sources, *(exclude or [])]
    check_outputs(out, dropped, inputs)
    values = {
        "key": key,
        "near": near,
        "near_threshold": near_threshold,
        "answer_similarity": answer_similarity,
        "languages": languages_of(languages),
        "min_answer_chars": min_answer_chars,
        "max_answer_chars": max_answer_chars,
        "max_uses": max_uses,
        "max_pairs_per_prompt": max_pairs_per_prompt,
        "max_pairs_per_model_pair": max_pairs_per_model_pair,
        "seed": seed,
        "exclude_threshold": exclude_threshold,
    }
    with settings_options(zero_is_none=ZERO_IS_NONE):
        settings = build(
            MineSettings, **{k: (v or None) if k in ZERO_IS_NONE else v for k, v in values.items()}
        )
    regen_values = {
        "model": regenerate_model or None,
        "base_url": base_url,
        "api_key_env": api_key_env or None,
        "cache": None if regen_cache is None else str(regen_cache),
        "temperature": regen_temperature,
        "max_tokens": regen_max_tokens,
        "max_prompts": regen_max_prompts or None,
        "max_requests": regen_max_requests,
        "max_total_tokens": regen_max_tokens_total,
        "max_cost": regen_max_cost,
        "concurrency": regen_concurrency,
    }
    with settings_options(REGEN_FLAGS, zero_is_none=REGEN_ZERO_IS_NONE):
        regen_settings = build(RegenerateSettings, **regen_values)
    regen = regeneration(regen_settings, default_cache=out.with_name(out.name + ".regen.sqlite"))
    opened = [open_input(p, fmt, split=split) for p in sources]
    for src in opened:
        if src.kind != "conversations":
            raise ArenaprefError(f"{src.path} holds {src.kind}; mining needs conversations (one model each)")
    with stage_progress() as tell, executor_for(executor, address) as ex:
        # With Ray, the scan and the grouping run on the workers; regeneration on the driver (its cache
        # and budget live there).
        result = api.mine(
            opened,
            protected_inputs(exclude or [], exclude_format),
            topics=topics,
            regenerate=regen,
            executor=ex,
            progress=tell,
            settings=settings,
        )
        written = write_result(result, out, dropped, inputs)
    result.funnel.print(console)
    for src in opened:
        report_rejects(src.rejects, src.path, hint=rejects is None)
    if rejects is not None:
        log = RejectLog()
        for src in opened:
            log.extend(src.rejects)
        log.write(rejects)
        say(f"rejects written to {rejects}")
    say(f"{result.pairs.num_rows:,} pairs written to {written[0]}")
    for path in written[1:]:
        say(f"  {path}")
    if json_out:
        emit_json(
            {
                "command": "mine",
                "out": str(out),
                "files": [str(p) for p in written],
                "pairs": result.pairs.num_rows,
                "funnel": result.funnel.to_dict(),
            }
        )
