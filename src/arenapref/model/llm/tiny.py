"""A tiny randomly initialised base model folder, for trying ``--model llm`` on a CPU and for its tests.

Two layers, hidden size 32, in a real architecture family that transformers ships (Llama, Qwen2, Mistral,
Gemma-2), with its own byte-level BPE tokenizer trained on the given texts: the same loading, LoRA, training
and prediction code paths as a 9B model, in seconds, and nothing downloaded. Its predictions mean nothing.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from arenapref.errors import ArenaprefError
from arenapref.model.llm.deps import require_llm_libraries
from arenapref.model.llm.encode import ANSWER_A_MARK, ANSWER_B_MARK, PROMPT_MARK

FAMILIES = ("llama", "qwen2", "mistral", "gemma2")


def make_tiny_base(folder: Path, texts: Iterable[str], family: str = "llama", seed: int = 0) -> Path:
    """Write a tiny causal LM and its tokenizer to ``folder`` (``save_pretrained`` layout); return it.

    The Llama and Gemma-2 tokenizers add a beginning-of-sequence token and have a padding token; the Qwen2
    and Mistral ones add nothing and have no padding token, as the real ones differ in those ways too.
    """
    torch, transformers, _ = require_llm_libraries()
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, processors, trainers

    if family not in FAMILIES:
        raise ArenaprefError(f"tiny model family {family!r}: expected one of {', '.join(FAMILIES)}")
    specials = ["<pad>", "<unk>", "<s>", "</s>"]
    # Byte-level BPE like Llama-3's and Qwen2's: every family's tokenizer class in transformers loads it
    # as it is (a word-level vocabulary is rebuilt into something else by Qwen2Tokenizer).
    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    corpus = [PROMPT_MARK, ANSWER_A_MARK, ANSWER_B_MARK, *texts]
    trainer = trainers.BpeTrainer(
        vocab_size=320, special_tokens=specials, initial_alphabet=pre_tokenizers.ByteLevel.alphabet()
    )
    tok.train_from_iterator(corpus, trainer)
    adds_bos = family in {"llama", "gemma2"}
    if adds_bos:
        tok.post_processor = processors.TemplateProcessing(
            single="<s> $A", pair="<s> $A $B", special_tokens=[("<s>", tok.token_to_id("<s>"))]
        )
    fast = transformers.PreTrainedTokenizerFast(
        tokenizer_object=tok,
        unk_token="<unk>",
        bos_token="<s>",
        eos_token="</s>",
        pad_token="<pad>" if adds_bos else None,
    )
    common = {
        "vocab_size": tok.get_vocab_size(),
        "hidden_size": 32,
        "intermediate_size": 64,
        "num_hidden_layers": 2,
        "num_attention_heads": 4,
        "num_key_value_heads": 2,
        "max_position_embeddings": 512,
        "bos_token_id": tok.token_to_id("<s>"),
        "eos_token_id": tok.token_to_id("</s>"),
        "pad_token_id": tok.token_to_id("<pad>") if adds_bos else None,
    }
    config: object
    if family == "llama":
        config = transformers.LlamaConfig(**common)
    elif family == "qwen2":
        config = transformers.Qwen2Config(**common)
    elif family == "mistral":
        config = transformers.MistralConfig(**common, sliding_window=None)
    else:
        config = transformers.Gemma2Config(**common, head_dim=8, query_pre_attn_scalar=8)
    torch.manual_seed(seed)
    model = transformers.AutoModelForCausalLM.from_config(config)
    folder.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(str(folder))
    fast.save_pretrained(str(folder))
    return folder


__all__ = ["FAMILIES", "make_tiny_base"]
