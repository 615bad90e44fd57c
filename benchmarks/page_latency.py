"""What a person waits for on the page, and how big its figures get.

    python -m benchmarks.page_latency [--repeats 3] [--max-new-tokens 64]

1. Launches the app as a user does (`python app.py`, embedded model, nf4) and drives it in headless Chromium:
   for each strategy, the time from the Generate click to the first token visible in the Output, to the last
   token, and to the finished views (the step figure drawn), median of `--repeats`. Goal: first token under
   1.5 s on a CPU.
2. The JSON size of every figure (and of the Output's HTML) for 256-step traces. Goal: figures under 1 MB.
3. Why the model runs on the main thread: the engine's tokens/s on the main thread and on a worker thread,
   same model, same run.
"""

from __future__ import annotations

import argparse
import os
import shutil
import socket
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path

from benchmarks import machine
from playground.engine import generate
from playground.models import load_model
from playground.plots import acceptance_figure, beam_tree_figure, overview_figure, stage_figure
from playground.settings import PROMPT_LOOKUP, Settings
from playground.ui.tokens import trace_html

ROOT = Path(__file__).resolve().parents[1]
PROMPT = "Write a short story about a lighthouse keeper who finds a message in a bottle."
FLAGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update"]
STRATEGIES = ["Greedy", "Sampling", "Beam search", "Speculative decoding"]

# In the page: the click time, then when the first token, the status line's "stopped:" and the step figure
# showed up, from a MutationObserver so polling does not blur the numbers.
WATCH = """() => {
  window.marks = {};
  const seen = () => {
    const now = performance.now();
    if (!window.marks.first && document.querySelector('#output .tokens span')) window.marks.first = now;
    const status = document.querySelector('#status');
    if (!window.marks.done && status && status.textContent.includes('stopped:')) window.marks.done = now;
    const plot = document.querySelector('#step-plot');
    if (window.marks.done && !window.marks.views && plot && plot.textContent.includes('Step 1: chose'))
      window.marks.views = now;
  };
  new MutationObserver(seen).observe(document.body, {subtree: true, childList: true, characterData: true});
}"""


def launch_app() -> tuple[subprocess.Popen, str]:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    env = {**os.environ, "GRADIO_SERVER_PORT": str(port), "GRADIO_ANALYTICS_ENABLED": "False"}
    server = subprocess.Popen(
        [sys.executable, "app.py"], cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    deadline = time.monotonic() + 300
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return server, f"http://127.0.0.1:{port}"
        except OSError:
            if server.poll() is not None or time.monotonic() > deadline:
                raise SystemExit("app.py did not start") from None
            time.sleep(0.5)


def page_latency(url: str, repeats: int, max_new_tokens: int) -> None:
    from playwright.sync_api import sync_playwright

    print(f"Generate -> first token / last token / views drawn, seconds (median of {repeats}), {max_new_tokens} tokens")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=shutil.which("chromium"), args=FLAGS)
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        for strategy in STRATEGIES:
            rows = []
            for _ in range(repeats):
                # A fresh page each time, so nothing on it comes from the run before.
                page.goto(url)
                page.get_by_label("Prompt", exact=True).wait_for(timeout=60_000)
                page.get_by_label("Prompt", exact=True).fill(PROMPT)
                box = page.get_by_label("number input for Max new tokens")
                box.fill(str(max_new_tokens))
                box.press("Tab")
                page.get_by_label(strategy, exact=True).check()
                if strategy == "Speculative decoding":
                    page.get_by_label("Draft", exact=True).click()
                    page.get_by_role("option", name="Prompt lookup (no model)").click()
                    page.get_by_label("Measure speed-up").uncheck()
                page.evaluate(WATCH)
                clicked = page.evaluate("performance.now()")
                page.get_by_role("button", name="Generate").click()
                page.wait_for_function("window.marks.views", timeout=300_000)
                marks = page.evaluate("window.marks")
                rows.append([(marks[k] - clicked) / 1000 for k in ("first", "done", "views")])
            first, done, views = (statistics.median(column) for column in zip(*rows, strict=True))
            print(f"  {strategy:<22} {first:6.2f} {done:6.2f} {views:6.2f}")
        browser.close()


def figure_sizes() -> None:
    loaded = load_model(precision="nf4")
    runs = {
        "sampling, 256 steps": Settings(strategy="sample", seed=1, max_new_tokens=256, min_new_tokens=256),
        "beam 8 x 256 steps": Settings(strategy="beam", num_beams=8, max_new_tokens=256, min_new_tokens=256),
        "speculative lookup, 256 steps": Settings(
            strategy="speculative", draft_model=PROMPT_LOOKUP, max_new_tokens=256, min_new_tokens=256
        ),
    }
    print("Figure JSON, KB (goal: each under 1024)")
    for name, settings in runs.items():
        trace = generate(loaded, PROMPT, settings)
        sizes = {
            "step": len(stage_figure(trace, 0).to_json()),
            "overview": len(overview_figure(trace).to_json()),
            "Output HTML": len(trace_html(trace)),
        }
        if trace.beams is not None:
            sizes["beam tree"] = len(beam_tree_figure(trace).to_json())
        if trace.speculative:
            sizes["acceptance"] = len(acceptance_figure(trace).to_json())
        shown = ", ".join(f"{k} {v / 1024:.0f}" for k, v in sizes.items())
        print(f"  {name:<30} {shown}  (trace JSON {len(trace.to_json()) / 1024:.0f})")


def thread_effect(max_new_tokens: int) -> None:
    loaded = load_model(precision="nf4")
    settings = Settings(max_new_tokens=max_new_tokens, min_new_tokens=max_new_tokens)
    generate(loaded, PROMPT, settings)  # warm up

    def rate() -> float:
        return generate(loaded, PROMPT, settings).timing.tokens_per_s

    main = statistics.median(rate() for _ in range(3))
    found: list[float] = []
    worker = threading.Thread(target=lambda: found.extend(rate() for _ in range(3)))
    worker.start()
    worker.join()
    other = statistics.median(found)
    print(f"Engine, greedy nf4: main thread {main:.1f} tokens/s, worker thread {other:.1f} ({other / main:.2f}x)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--max-new-tokens", type=int, default=64)
    args = parser.parse_args()
    print(machine.describe())
    server, url = launch_app()
    try:
        page_latency(url, args.repeats, args.max_new_tokens)
    finally:
        server.terminate()
        server.wait(timeout=30)
    figure_sizes()
    thread_effect(args.max_new_tokens)


if __name__ == "__main__":
    main()
