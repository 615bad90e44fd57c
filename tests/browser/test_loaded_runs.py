"""A run brought back, from a file or the Runs tree, sets the controls to its settings: what the page shows is
what the next Generate runs."""

from playwright.sync_api import Page, expect

from playground.engine import generate
from playground.settings import Settings
from tests.browser.test_page import ask, browser, click_node, exported, page, run, shot, shown  # noqa: F401

PROMPT = "Name a fruit."


HOT = Settings(chat=True, strategy="sample", temperature=1.2, top_k=0, seed=5, max_new_tokens=6)


def expect_controls(tab: Page, prompt: str, strategy: str, temperature: str, tokens: str) -> None:
    """The prompt, strategy, temperature and max new tokens the controls hold."""
    expect(tab.get_by_label("Prompt", exact=True)).to_have_value(prompt, timeout=30_000)
    expect(tab.get_by_label(strategy, exact=True)).to_be_checked()
    expect(tab.get_by_label("number input for Temperature")).to_have_value(temperature)
    expect(tab.get_by_label("number input for Max new tokens")).to_have_value(tokens)


def test_a_loaded_or_picked_run_sets_the_controls_and_generate_runs_it_again(page, bundled_fp32, tmp_path):  # noqa: F811
    sampled = generate(bundled_fp32, PROMPT, HOT)
    path = tmp_path / "hot.json"
    path.write_text(sampled.to_json())
    ask(page, "Say hello.", 4)  # run #1: greedy, temperature 1, the page's precision (nf4)
    # The tree takes a run a few steps after its summary shows: a file loaded before then would be run #1.
    page.get_by_role("tab", name="Runs").click()
    expect(page.locator("#run-tree").get_by_text("1 run in this tab")).to_be_visible(timeout=30_000)

    page.locator("input[type=file]").set_input_files(str(path))  # run #2
    expect(page.get_by_text("the controls now hold its settings")).to_be_visible(timeout=30_000)
    expect_controls(page, PROMPT, "Sampling", "1.2", "6")
    expect(page.get_by_role("combobox", name="Precision", exact=True)).to_have_value("fp32")
    shot(page, "loaded-run-controls")

    click_node(page, 1)
    # The status line and the controls come in one answer: the line says the controls took run #1's settings.
    expect(page.locator("#status").get_by_text("Run #1: ")).to_contain_text(
        "the controls now hold its settings", timeout=30_000
    )
    expect_controls(page, "Say hello.", "Greedy", "1", "4")
    expect(page.get_by_role("combobox", name="Precision", exact=True)).to_have_value("nf4")

    click_node(page, 2)
    expect(page.locator("#status").get_by_text("Run #2: ")).to_be_visible(timeout=30_000)
    expect_controls(page, PROMPT, "Sampling", "1.2", "6")
    run(page)
    # The tree takes the run after the export button does: then Export saves this run.
    expect(page.locator("#run-tree").get_by_text("3 runs in this tab")).to_be_visible(timeout=30_000)
    again = exported(page, tmp_path / "again.json")
    assert again.run_id != sampled.run_id
    assert again.settings == sampled.settings and again.prompt.text == PROMPT
    assert (again.model.id, again.model.precision) == (sampled.model.id, "fp32")
    assert shown(again) == shown(sampled)  # fp32, the same seed: the same tokens in any process


def test_a_file_loaded_as_a_run_ends_keeps_both_runs(page, bundled_fp32, tmp_path):  # noqa: F811
    """A file loaded right as a run ends, perhaps before the tree took the run: the tree keeps both, and marks the
    loaded run, which the page shows."""
    path = tmp_path / "hot.json"
    path.write_text(generate(bundled_fp32, PROMPT, HOT).to_json())
    ask(page, "Say hello.", 4)
    page.locator("input[type=file]").set_input_files(str(path))
    expect(page.get_by_text("the controls now hold its settings")).to_be_visible(timeout=30_000)
    page.get_by_role("tab", name="Runs").click()
    expect(page.locator("#run-tree").get_by_text("2 runs in this tab")).to_be_visible(timeout=30_000)
    expect_controls(page, PROMPT, "Sampling", "1.2", "6")
    assert exported(page, tmp_path / "shown.json").prompt.text == PROMPT
