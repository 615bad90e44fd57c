"""The corpus file format, the commands that make the answers and the shipped corpus, and what they leave out."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from playground.suffix.corpus import load_documents, save_documents, shipped_documents
from playground.training import answers, suffix_corpus
from playground.training.medusa import read_prompts
from playground.training.suffix_corpus import benchmark_prompts, kept_documents, overlaps


@pytest.mark.parametrize("largest", [7, 65_535, 65_536, 200_000])
def test_documents_round_trip_in_the_smallest_type_that_holds_them(tmp_path, largest):
    documents = [[1, largest, 3], [], [largest]]
    save_documents(documents, tmp_path / "c.npz")
    assert load_documents(tmp_path / "c.npz") == documents
    with np.load(tmp_path / "c.npz") as archive:
        assert archive["tokens"].dtype == (np.uint16 if largest < 65_536 else np.uint32)


def test_no_documents_round_trip(tmp_path):
    save_documents([], tmp_path / "c.npz")
    assert load_documents(tmp_path / "c.npz") == []


def test_no_corpus_ships_for_another_model():
    assert shipped_documents("someone/else") is None


def test_a_prompt_overlaps_one_it_contains_or_is_contained_in_word_by_word():
    assert overlaps("How does a bicycle stay upright when it is moving?", ["How does a bicycle stay upright?"])
    assert overlaps("name a colour", ["Name a colour."])
    assert not overlaps("Rename a colourful file.", ["Name a colour."])
    assert not overlaps("Write a poem.", [])


def test_documents_whose_prompt_overlaps_a_benchmark_prompt_are_left_out():
    train = [([1, 2, 3], 2), ([4, 5], 1), ([6], 1)]
    prompts = ["Describe the taste of a lemon to a child.", "Write a poem.", "Count to three."]
    assert kept_documents(train, prompts, ["Describe the taste of a lemon."]) == [[4, 5], [6]]
    with pytest.raises(ValueError, match="3 answers for 2 prompts"):
        kept_documents(train, prompts[:2], [])


def test_benchmark_prompts_come_from_prompt_files_and_prompt_constants(tmp_path):
    (tmp_path / "lens_prompts.txt").write_text("One.\n\nTwo.\n")
    (tmp_path / "a.py").write_text('PROMPT = "Three."\nOTHER = "no"\n')
    (tmp_path / "b.py").write_text('PROMPTS = {"x": "Four.", "y": "Five."}\n')
    (tmp_path / "c.py").write_text('PROMPTS = ["Six."]\n')
    (tmp_path / "d.py").write_text('PROMPTS = Path(__file__).with_name("kinds_prompts.txt")\n')  # a path: no prompt
    (tmp_path / "kinds_prompts.txt").write_text("# kind<TAB>prompt\nqa\tSeven.\n")
    assert benchmark_prompts(tmp_path) == ["Seven.", "One.", "Two.", "Three.", "Four.", "Five.", "Six."]


def test_the_real_benchmarks_prompts_are_found():
    found = benchmark_prompts()
    assert "Write a short story about a robot who learns to paint." in found  # speculative_vs_plain, medusa_vs_plain
    assert "Describe the taste of a lemon." in found  # lens_prompts.txt
    assert "How does a sundial tell the time?" in found  # speculative_prompts.txt, after its kind


def test_the_commands_write_the_answers_and_the_corpus_from_them(tiny_dir, tmp_path, capsys):
    out, prompts = tmp_path / "answers.pt", tmp_path / "prompts.txt"
    assert answers.main(["--model", tiny_dir, "--precision", "fp32", "--max-new-tokens", "4", "--limit", "3",
                         "--out", str(out)]) == 0  # fmt: skip
    corpus = torch.load(out)
    assert not (tmp_path / "answers.pt.tmp").exists()
    assert len(corpus["train"]) == len(corpus["held_out"]) == 3
    assert corpus["precision"] == "fp32" and corpus["max_new_tokens"] == 4
    for ids, prompt_len in corpus["train"]:
        assert 0 < len(ids) - prompt_len <= 4
    prompts.write_text("\n".join(read_prompts(answers.PROMPTS)[:3]))
    npz = tmp_path / "c.npz"
    assert suffix_corpus.main(["--answers", str(out), "--prompts", str(prompts), "--out", str(npz)]) == 0
    assert load_documents(npz) == [ids for ids, _ in corpus["train"]]
    assert "3 of 3 documents" in capsys.readouterr().out


def test_the_shipped_corpus_is_small_and_holds_no_held_out_or_benchmark_prompt():
    from transformers import AutoTokenizer

    from playground.models.bundled import DEFAULT_MODEL_ID, ensure_checkpoint
    from playground.suffix.corpus import SHIPPED
    from playground.training.medusa import HELD_OUT

    assert SHIPPED[DEFAULT_MODEL_ID].stat().st_size < 2**20
    documents = shipped_documents(DEFAULT_MODEL_ID)
    assert 900 < len(documents) <= 1000
    tokenizer = AutoTokenizer.from_pretrained(ensure_checkpoint())
    texts = [tokenizer.decode(doc) for doc in documents]
    for prompt in read_prompts(HELD_OUT) + benchmark_prompts():
        assert not any(overlaps(text, [prompt]) for text in texts), prompt


def test_the_shipped_index_continues_the_chat_template_every_document_starts_with():
    from playground.engine.speculative.suffix import load_index
    from playground.models.bundled import DEFAULT_MODEL_ID

    start = shipped_documents(DEFAULT_MODEL_ID)[0][:8]  # the template's opening and system prompt
    tokens, probs = load_index(DEFAULT_MODEL_ID).propose(start[:5], 3)
    assert tokens == start[5:8] and all(0.99 < prob < 1 for prob in probs)
