"""The Gradio page and the server's side of it.

The page: `page.py` places the controls, the Output, the files and the view tabs (their components by name in
`parts.py`); `events.py` connects them, the presets' events in `preset_events.py`, with the options events share
in `event_options.py`. The controls are made from the knob table and read back into Settings in `controls.py`;
the presets and their lessons are `presets.py`'s. What the page shows for a run: the Output's tokens
(`tokens.py`), the status line (`status.py`), the view tabs (`views.py`, `compare_view.py`, `beam_hover.py`),
the Runs tab and shown runs (`run_views.py`), trace files (`files.py`), explanations (`explain.py`).

Runs: `runs.Runs` gathers what runs a model, by job: the allowlist gate (`gate.py`), each tab's Stop switch
(`switches.py`), the page's streamed runs (`page_runs.py`, over the model thread of `pump.py`), Compare and the
mass tree (`experiments.py`), the JSON endpoints (`json_api.py`); each request's GPU lease on ZeroGPU is sized in
`leases.py`, and its failures become messages in `errors.py`.
"""

from playground.ui.page import build_demo, launch_options

__all__ = ["build_demo", "launch_options"]
