"""Tiny random models built in-process from a config: no weights to download, a forward pass in microseconds.

The tokenizer is character-level (one token per printable ASCII character) so tests can reason about text and
tokens one to one; it carries a small chat template so chat rendering is exercised too.
"""

from __future__ import annotations

import string

import torch
from tokenizers import Tokenizer, decoders, models
from transformers import LlamaConfig, LlamaForCausalLM, PreTrainedTokenizerFast

from playground.medusa.draft import HeadsDraft
from playground.medusa.heads import HeadsCard, MedusaHeads
from playground.models import LoadedModel
from playground.trace import ModelInfo

SPECIALS = ["<pad>", "<eos>", "<bos>", "<unk>"]
CHARS = sorted(set(string.printable) - set("\x0b\x0c\r"))
CHAT_TEMPLATE = (
    "{% for m in messages %}<bos>{{ m['role'] }}: {{ m['content'] }}\n{% endfor %}"
    "{% if add_generation_prompt %}<bos>assistant: {% endif %}"
)


def make_tiny_tokenizer(chars: list[str] = CHARS) -> PreTrainedTokenizerFast:
    """A character-level fast tokenizer: ids 0-3 are special (pad, eos, bos, unk), then one id per character."""
    vocab = {token: i for i, token in enumerate(SPECIALS + list(chars))}
    # BPE without merges splits text into single characters; Fuse joins them back without spaces.
    backend = Tokenizer(models.BPE(vocab=vocab, merges=[], unk_token="<unk>"))
    backend.decoder = decoders.Fuse()
    backend.add_special_tokens(SPECIALS)
    return PreTrainedTokenizerFast(
        tokenizer_object=backend,
        pad_token="<pad>",
        eos_token="<eos>",
        bos_token="<bos>",
        unk_token="<unk>",
        chat_template=CHAT_TEMPLATE,
    )


def make_tiny_model(tokenizer: PreTrainedTokenizerFast, seed: int = 0, eos_boost: float = 8.0) -> LlamaForCausalLM:
    """A 2-layer random Llama for `tokenizer`, in eval mode.

    Args:
        seed: weights are drawn from torch's RNG seeded with this.
        eos_boost: scales the output row of EOS so runs end early often enough to exercise EOS handling
            (random weights otherwise almost never pick one token out of ~100).
    """
    config = LlamaConfig(
        vocab_size=len(tokenizer),
        hidden_size=32,
        intermediate_size=64,
        num_hidden_layers=2,
        num_attention_heads=4,
        num_key_value_heads=2,
        max_position_embeddings=512,
        pad_token_id=tokenizer.pad_token_id,
        eos_token_id=tokenizer.eos_token_id,
        bos_token_id=tokenizer.bos_token_id,
        tie_word_embeddings=False,
    )
    torch.manual_seed(seed)
    model = LlamaForCausalLM(config).eval()
    with torch.no_grad():
        model.lm_head.weight[tokenizer.eos_token_id] *= eos_boost
    return model


def wrap_loaded(model, tokenizer, model_id: str = "tiny-random-llama") -> LoadedModel:
    """A LoadedModel around an in-process model, as `load_model` would return it."""
    info = ModelInfo(
        id=model_id,
        source="local",
        precision="fp32",
        device=str(model.device),
        memory_mb=round(model.get_memory_footprint() / 2**20, 3),
        vocab_size=model.config.vocab_size,
    )
    return LoadedModel(model=model, tokenizer=tokenizer, info=info, load_s=0.0)


def save_tiny_model(
    path, tokenizer: PreTrainedTokenizerFast, seed: int = 0, eos_boost: float = 8.0, sharpen: float = 1.0
) -> str:
    """A tiny model saved as a checkpoint directory, so `load_model(path)` can load it (as a draft, say).

    Args:
        sharpen: scales every output row; random models are nearly uniform, and a sharper one disagrees
            with them clearly (a draft that makes a wrong acceptance rule visible).
    """
    model = make_tiny_model(tokenizer, seed=seed, eos_boost=eos_boost)
    with torch.no_grad():
        model.lm_head.weight *= sharpen
    model.save_pretrained(path)
    tokenizer.save_pretrained(path)
    return str(path)


def make_tiny_heads(config, num_heads: int = 3, vocab_ids: torch.Tensor | None = None, std: float = 0.05) -> HeadsDraft:
    """Untrained Medusa heads for a tiny model; their card claims falling hit rates by rank, which shape the tree.

    Args:
        vocab_ids: (M,) the token ids the heads score; None for the whole vocabulary.
        std: spread of the blocks' random weights, so heads guess something else than the LM head; 0 makes
            every head guess what the LM head says for the current position.
    """
    torch.manual_seed(0)
    heads = MedusaHeads(num_heads, config.hidden_size, vocab_ids)
    with torch.no_grad():
        for block in heads.blocks:
            block.linear.weight.normal_(std=std)
    rates = {"by_rank": [[0.4 / (r + 1) for r in range(10)] for _ in range(num_heads)]}
    scored = config.vocab_size if vocab_ids is None else len(vocab_ids)
    card = HeadsCard("tiny", num_heads, config.hidden_size, config.vocab_size, scored, accuracy=rates)
    return HeadsDraft(heads.eval(), card, "tiny.safetensors")
