"""The logit lens on tiny models built here: every layer equals the final norm then the head applied by hand to
the hidden states transformers returns, the last layer equals the run's raw distribution, and the arithmetic."""

import math

import pytest
import torch
from torch import nn
from transformers import GPT2Config, GPT2LMHeadModel, Qwen2Config, Qwen2ForCausalLM

from playground.engine import generate
from playground.engine.lens_math import first_top1, kl_to_last, layer_log_probs, token_ranks
from playground.engine.logit_lens import (
    LensCache,
    LensLayoutError,
    decode_streams,
    lens_layout,
    lens_step,
    residual_streams,
)
from playground.settings import Settings, SettingsError
from tests.tiny import make_tiny_model, wrap_loaded


def by_hand(model, ids, norm, head):
    """(L + 1, V) probabilities at the last position, from `output_hidden_states`: transformers records the
    embeddings and the first L - 1 layers' outputs before the final norm, and the last one after it."""
    hidden = model(input_ids=torch.tensor([ids]), output_hidden_states=True).hidden_states
    rows = [head(norm(h[0, -1])) for h in hidden[:-1]] + [head(hidden[-1][0, -1])]
    return torch.softmax(torch.stack(rows).double(), dim=-1)


def tiny_gpt2(vocab: int) -> GPT2LMHeadModel:
    torch.manual_seed(0)
    config = GPT2Config(vocab_size=vocab, n_positions=64, n_embd=32, n_layer=3, n_head=4)
    return GPT2LMHeadModel(config).eval()


@torch.no_grad()
def test_every_llama_layer_is_the_final_norm_then_the_head_of_its_hidden_state(tiny_tokenizer):
    model = make_tiny_model(tiny_tokenizer, seed=3)
    ids = tiny_tokenizer("The cat sat", add_special_tokens=False)["input_ids"]
    layout = lens_layout(model)
    lens = torch.softmax(decode_streams(layout, residual_streams(model, layout, ids)[:, -1]).double(), dim=-1)
    expected = by_hand(model, ids, model.model.norm, model.lm_head)
    assert lens.shape == (model.config.num_hidden_layers + 1, model.config.vocab_size)
    torch.testing.assert_close(lens, expected, atol=1e-6, rtol=0)


@torch.no_grad()
def test_every_qwen2_layer_is_the_final_norm_then_the_head():
    torch.manual_seed(1)
    config = Qwen2Config(vocab_size=64, hidden_size=32, intermediate_size=64, num_hidden_layers=3,
                         num_attention_heads=4, num_key_value_heads=2, max_position_embeddings=64)  # fmt: skip
    model = Qwen2ForCausalLM(config).eval()
    ids = [3, 9, 27, 14]
    layout = lens_layout(model)
    lens = torch.softmax(decode_streams(layout, residual_streams(model, layout, ids)[:, -1]).double(), dim=-1)
    torch.testing.assert_close(lens, by_hand(model, ids, model.model.norm, model.lm_head), atol=1e-6, rtol=0)


@torch.no_grad()
def test_every_gpt2_layer_is_ln_f_then_the_head(tiny_tokenizer):
    model = tiny_gpt2(len(tiny_tokenizer))
    ids = [10, 20, 30, 40, 50]
    layout = lens_layout(model)
    lens = torch.softmax(decode_streams(layout, residual_streams(model, layout, ids)[:, -1]).double(), dim=-1)
    expected = by_hand(model, ids, model.transformer.ln_f, model.lm_head)
    assert lens.shape[0] == 4
    torch.testing.assert_close(lens, expected, atol=1e-6, rtol=0)


def test_the_last_layer_is_the_runs_raw_distribution_and_the_rows_are_consistent(tiny_tokenizer):
    loaded = wrap_loaded(make_tiny_model(tiny_tokenizer, seed=0, eos_boost=0.0), tiny_tokenizer)
    trace = generate(loaded, "Hello", Settings(strategy="sample", seed=5, max_new_tokens=6))
    vocab = loaded.model.config.vocab_size
    for step in (1, 4, len(trace.steps)):
        lens = lens_step(loaded, trace, step, top_k=vocab)
        last = {token.id: token.prob for token in lens.layers[-1].top}
        for candidate in trace.steps[step - 1].candidates:
            assert last[candidate.id] == pytest.approx(candidate.probs["raw"], abs=1e-4)
        assert lens.token_id == trace.steps[step - 1].chosen.id
        assert lens.layers[-1].chosen_rank == trace.steps[step - 1].chosen.rank
        for row in lens.layers:  # each row's own figures agree with its full distribution
            probs = {token.id: token.prob for token in row.top}
            assert row.chosen_prob == pytest.approx(probs[lens.token_id], abs=1e-12)
            assert row.chosen_rank == 1 + sum(p > probs[lens.token_id] for p in probs.values())
            kl = sum(p * (math.log(p) - math.log(last[i])) for i, p in probs.items() if p > 0)
            assert row.kl == pytest.approx(max(kl, 0.0), abs=1e-9)
        assert lens.layers[-1].kl == 0.0
        assert [row.layer for row in lens.layers] == list(range(lens.num_layers + 1))


def test_first_top1_layer_is_the_first_layer_whose_rank_is_one():
    assert first_top1([4, 1, 3, 1]) == 2
    assert first_top1([1]) == 1
    assert first_top1([2, 5, 2]) is None


def test_ranks_count_the_tokens_scoring_strictly_higher():
    scores = torch.tensor([[0.1, 0.5, 0.5, 0.2], [0.9, 0.0, 0.1, 0.0]])
    assert token_ranks(scores, 2).tolist() == [1, 2]
    assert token_ranks(scores, 3).tolist() == [3, 3]


def test_kl_to_last_by_hand():
    probs = torch.tensor([[0.5, 0.5, 0.0], [0.25, 0.25, 0.5]])
    kl = kl_to_last(layer_log_probs(probs.log()))
    assert kl[0].item() == pytest.approx(math.log(2))  # 2 * 0.5 * log(0.5 / 0.25)
    assert kl[1].item() == 0.0


def test_an_unknown_layout_is_named():
    class Odd(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.blocks = nn.ModuleList([nn.Linear(4, 4)])

        def get_output_embeddings(self) -> nn.Module:
            return nn.Linear(4, 8)

    with pytest.raises(LensLayoutError, match=r"does not know the layout of Odd \(Odd\)"):
        lens_layout(Odd())


def test_one_pass_serves_every_step_of_a_run(tiny_tokenizer):
    loaded = wrap_loaded(make_tiny_model(tiny_tokenizer, seed=0, eos_boost=0.0), tiny_tokenizer)
    trace = generate(loaded, "Hi", Settings(max_new_tokens=5))
    passes = []
    hook = loaded.model.model.register_forward_hook(lambda *_: passes.append(1))
    cache = LensCache()
    for step in range(1, 6):
        lens_step(loaded, trace, step, cache=cache)
    hook.remove()
    assert len(passes) == 1


def test_the_cache_keeps_the_latest_runs_within_its_bytes(tiny_tokenizer):
    loaded = wrap_loaded(make_tiny_model(tiny_tokenizer, seed=0, eos_boost=0.0), tiny_tokenizer)
    layout = lens_layout(loaded.model)
    one_run = residual_streams(loaded.model, layout, [5, 6, 7]).numel() * 4  # (3, 3, 32) float32
    cache = LensCache(size=3, max_bytes=2 * one_run)
    texts = [[5, 6, 7], [8, 9, 10], [11, 12, 13]]
    for ids in texts:
        cache.streams(loaded, layout, ids)
    assert [key[-1] for key in cache._streams] == [tuple(ids) for ids in texts[1:]]
    cache = LensCache(size=3, max_bytes=1)  # the latest run is kept however big
    cache.streams(loaded, layout, texts[0])
    assert len(cache._streams) == 1


def test_a_step_outside_the_run_is_named(tiny_tokenizer):
    loaded = wrap_loaded(make_tiny_model(tiny_tokenizer, seed=0, eos_boost=0.0), tiny_tokenizer)
    trace = generate(loaded, "Hi", Settings(max_new_tokens=3))
    for bad in (0, 4, "2", True):
        with pytest.raises(SettingsError, match="from 1 to 3"):
            lens_step(loaded, trace, bad)
