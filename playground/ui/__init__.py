"""The Gradio page: layout in `page.py`, what its events do in `callbacks.py`."""

from playground.ui.page import build_demo, launch_options

__all__ = ["build_demo", "launch_options"]
