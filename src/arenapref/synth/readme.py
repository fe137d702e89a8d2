"""The text of ``truth/README.md``: what every ground-truth file and column means."""

# ruff: noqa: E501  (Markdown table rows cannot be wrapped)

TRUTH_README = """\
# Ground truth of this synthetic workspace (arenapref synth)

Written by `arenapref.synth.generate`; same seed and arguments give byte-identical files. Later stages are
scored against these files. Ids join on the raw files: `conversation_id` is the LMSYS shard column of the
same name; battle `id` is the text of the `id` cell of train.csv / test.csv.

Layout of the workspace:

- `lmsys/part-XXXXX.parquet`: LMSYS-Chat-1M schema (`conversation_id`, `model`, `conversation`
  = list<struct<content, role>>, `turn` = number of user turns, `language`, `openai_moderation` = one entry
  per message with `categories`, `category_scores`, `flagged`, and `redacted`). Rows are shuffled: members of
  one prompt group are spread over the shards.
- `competition/train.csv`, `test.csv`, `sample_submission.csv`: the Kaggle layout; prompt and response
  cells are JSON lists of strings, one per turn (`null` for an empty turn); train has one-hot winner columns.
- `truth/` (this folder) and `manifest.json` (counts and headline figures).

## truth/conversations.parquet (one row per LMSYS record)

| column | meaning |
| --- | --- |
| conversation_id | id in the shards |
| model | the model that answered |
| prompt_group | int id shared by every record carrying the same request: identical user turns (all of them, in order). Different groups never share a first user turn, even after folding case, punctuation, whitespace and masking NAME_k / other `<TYPE>_<k>` placeholders and first names. A group mixes models (the same popular prompt sent to several models) and may repeat one model. |
| topic_id, topic_name | the planted topic (0-19, see topics.json) the prompt was generated from. Non-English prompts carry it too, but their text is mostly generic words of that language (at most one English topic noun), so only English prompts are expected to be clustered by topic. |
| language | language name as in the `language` column |
| n_turns | number of user turns (= `turn`) |
| near_dup_group | planted near-duplicate cluster id, or null. Set on the source group and on each variant group; the id equals the source's `prompt_group`. |
| is_near_dup_variant | true on variant groups: their FIRST user turn is a small edit of the source's first turn (one word replaced, inserted or deleted, sometimes plus a case or punctuation change); later user turns are identical to the source's. A variant is never equal to its source after case/punctuation/whitespace folding. |
| near_dup_jaccard | on variants: Jaccard similarity of character 5-gram sets of the lower-cased, whitespace-collapsed first user turns (variant vs source). Most are above 0.8; some short prompts fall below, so a recall target at threshold T should count only pairs with near_dup_jaccard >= T. Null elsewhere. |
| is_exact_dup_record | true when the record repeats an earlier record (in shard order) exactly: same user turns, same model, same answers and same moderation. |
| dup_of | conversation_id of the earliest record of that identical set (null unless is_exact_dup_record). |
| has_placeholder | the user turns contain NAME_k or another `<TYPE>_<k>` placeholder (ORGANIZATION_1, LOCATION_1, EMAIL_ADDRESS_1, PHONE_NUMBER_1) |
| flagged | any message of the record has openai_moderation.flagged = true |
| redacted | the `redacted` column (always a record with placeholders) |
| error_answer | some assistant turn is a known error text (NETWORK ERROR DUE TO HIGH TRAFFIC..., RATE LIMIT..., YOUR INPUT VIOLATES..., CUDA out of memory) |
| empty_answer | some assistant turn is the empty string |
| keep_for_mining | not flagged, not redacted, no error and no empty assistant turn: the records a pair miner should keep |

## truth/minable_groups.parquet (one row per prompt group)

| column | meaning |
| --- | --- |
| prompt_group | as above |
| topic_id, language, n_turns, near_dup_group | of the group |
| n_conversations | records in the group |
| n_keepable | records with keep_for_mining = true |
| n_distinct_models_all | different models among all its records |
| n_distinct_models | different models among its keepable records (exact-duplicate copies share their original's model, so dropping them changes nothing) |
| minable | n_distinct_models >= 2: at least one pair of different models can be mined from this exact group. Length bounds, language allow-lists and answer-similarity rules of a miner are not applied here (answers of different records always differ). Grouping by near-duplicate cluster can find more pairs than this table counts. |

## truth/battles.parquet (one row per competition battle, train and test)

| column | meaning |
| --- | --- |
| id | the `id` cell |
| split | train or test |
| topic_id, topic_name, language, n_turns | of the prompt |
| model_a, model_b | the models (test.csv does not show them) |
| quality_a, quality_b | latent qualities (visible features + hidden model strength) |
| special | none, empty_a, empty_b, empty_both (answer turns `null` or ""), identical (response_b = response_a) |
| p_a, p_b, p_tie | the TRUE probabilities the label was drawn from (Davidson model with a small hidden noise; fixed values for special rows). The best possible expected log loss is the mean entropy of these rows (manifest: expected_log_loss). |
| label | the drawn label: model_a, model_b or tie (train.csv's one-hot columns, except rows with malformed_kind = labels_not_one_hot) |
| overlap | none, exact (prompt list identical to the LMSYS group's user turns), placeholder (identical except NAME_k replaced by real first names such as Maria), near (first turn a small edit of the LMSYS first turn; other turns identical) |
| lmsys_conversation_id | the first record (in shard order) of the overlapping LMSYS prompt group; every record of that group (truth conversations.parquet, same prompt_group) carries the same prompt. Overlap sources are never in a near-duplicate cluster, so there are no further planted matches. |
| lmsys_prompt_group | that prompt group, or null |
| overlap_jaccard | for near overlaps: character 5-gram Jaccard of the first turns, as above |
| malformed_kind | null, or how the CSV row was damaged: lone_surrogate (a lone `\\ud83d` escape inserted into a JSON cell), stray_escape (an invalid `\\q` escape), truncated_json (a cell cut in the middle), labels_not_one_hot (winner columns 1,1,0 or 0,0,0; train only), empty_cell (response_b cell empty) |

Rows with overlap = none never equal an LMSYS prompt, even with names and placeholders masked (their
keys are re-drawn on collision).

## Accidental near-duplicates

Only planted near-duplicates are listed. Others are kept rare by construction: every prompt group's first
turn differs from every other's; a short English first turn (at most two context sentences after the
request) never shares its request (template + slot values) with another short one; non-English first turns
have at least three sentences, and all their user turns together about as many sentences as hold the
distinct byte 5-grams of their language's sentence pool (a later turn keeps at least one), so that long
texts in scripts with few byte 5-grams (3-byte characters, small word lists: Tamil, Georgian, Bengali...)
do not look alike. `arenapref compare` (MinHash, candidates verified by exact Jaccard >= 0.8 on byte
5-grams of the masked text) over 200k conversations + 12k battles (generator version 2) reported 5,109
pairs inside LMSYS, every one within a planted cluster. Precision measured against this truth is therefore
at most slightly pessimistic.

## truth/topics.json

The 20 planted topics: topic_id, topic_name, a few of their words.

## manifest.json

Relative paths of everything, counts (prompt groups, minable groups, near-duplicate variants, overlaps by
kind, malformed rows by kind), the drawn label mix, expected_log_loss (mean entropy of the true
probabilities = best achievable expected log loss), realized_log_loss (log loss of the true probabilities on
the drawn labels) and uniform_log_loss (ln 3).
"""
