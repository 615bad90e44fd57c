"""The Gradio page: layout and events in `page.py`, the controls (made from the knob table) in `controls.py`,
runs and Stop in `runs.py`."""

from playground.ui.page import build_demo, launch_options

__all__ = ["build_demo", "launch_options"]
