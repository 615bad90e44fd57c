"""The chain's order as data: `sampler_order` read from llama.cpp's "a;b" spelling or a list, its refusals named,
and `stages.run_order` / `run_chain` placing any registry rows in the order asked, temperature last on request."""

import pytest
from hypothesis import given
from hypothesis import strategies as st

from playground import stages
from playground.settings import Settings, SettingsError

NAMES = [spec.name for spec in stages.CHAIN]
WHERE = stages.Where(prompt_len=3, eos_ids=[0], device="cpu")


def names(specs) -> list[str]:
    return [spec.name for spec in specs]


def test_the_order_is_read_from_semicolons_or_a_list_and_kept_as_given():
    assert Settings(sampler_order=" top_k; temperature;;top_p ").sampler_order == ("top_k", "temperature", "top_p")
    assert Settings(sampler_order=["min_p", "top_k"]).sampler_order == ("min_p", "top_k")
    assert Settings(sampler_order=None).sampler_order == Settings().sampler_order == ()
    settings = Settings(strategy="sample", sampler_order="top_k;temperature", temperature_last=True)
    data = settings.to_dict()
    assert data["sampler_order"] == ["top_k", "temperature"] and data["temperature_last"] is True
    assert Settings.from_dict(data) == settings


@pytest.mark.parametrize(
    ("order", "message"),
    [
        ("top_k;top_p;top_k", "sampler_order must list each stage once, got 'top_k'"),
        ([1, 2], "sampler_order must be stage names, got [1, 2]"),
        (5, "sampler_order must be stage names, got 5"),
    ],
)
def test_a_stage_listed_twice_or_no_names_are_refused_by_name(order, message):
    with pytest.raises(SettingsError, match=r"^sampler_order") as err:
        Settings(sampler_order=order)
    assert str(err.value) == message and err.value.field == "sampler_order"


def test_an_unknown_stage_is_refused_listing_the_known_ones():
    with pytest.raises(SettingsError) as err:
        stages.run_order(("top_k", "topp"))
    assert err.value.field == "sampler_order"
    assert str(err.value) == f"sampler_order: 'topp' is not a stage; the stages are {', '.join(NAMES)}"


def test_the_default_order_is_the_registrys_and_temperature_last_moves_the_transforms_only():
    assert stages.run_order() == stages.CHAIN
    last = names(stages.run_order(temperature_last=True))
    transforms = [spec.name for spec in stages.CHAIN if spec.kind == "transform"]
    assert transforms == ["smoothing", "dynatemp", "temperature"]
    assert last == [n for n in NAMES if n not in transforms] + transforms


@given(order=st.permutations(NAMES).flatmap(lambda p: st.integers(0, len(p)).map(lambda n: p[:n])), last=st.booleans())
def test_any_order_of_any_rows_is_kept_with_the_transforms_moved_last_in_their_own_order(order, last):
    got = names(stages.run_order(tuple(order), last))
    if not order:
        order = NAMES
    kind = {spec.name: spec.kind for spec in stages.CHAIN}
    expected = [n for n in order if not last or kind[n] != "transform"]
    assert got == expected + ([n for n in order if kind[n] == "transform"] if last else [])


def test_a_listed_stage_that_is_off_does_nothing_and_one_left_out_while_on_is_refused():
    settings = Settings(strategy="sample", sampler_order="min_p;top_k;temperature;top_p", top_k=5, top_p=0.9)
    assert names(stages.run_chain(settings, WHERE)) == ["top_k", "top_p"]  # min_p 0 and temperature 1 are off
    with pytest.raises(SettingsError) as err:
        stages.run_chain(settings.replace(sampler_order="top_p"), WHERE)  # top_k 5 is on
    left_out = "sampler_order leaves out top_k, which this run applies (top_k = 5): list it, or switch it off"
    assert str(err.value) == left_out
    greedy = Settings(sampler_order="repetition_penalty", repetition_penalty=1.2, top_k=5)
    assert names(stages.run_chain(greedy, WHERE)) == ["repetition_penalty"]  # greedy applies no top-k: not missed
