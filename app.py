"""Entry point, as Hugging Face Spaces expects: a module-level `demo` and a `__main__` guard.

PLAYGROUND_MODEL and PLAYGROUND_PRECISION choose the model; GRADIO_SERVER_NAME and GRADIO_SERVER_PORT
(read by Gradio itself) choose where it listens, 127.0.0.1:7860 unless set.
"""

import os

from playground.models import DEFAULT_MODEL_ID
from playground.ui import build_demo, launch_options

demo = build_demo(
    model_id=os.environ.get("PLAYGROUND_MODEL", DEFAULT_MODEL_ID),
    precision=os.environ.get("PLAYGROUND_PRECISION", "nf4"),
)

if __name__ == "__main__":
    demo.queue().launch(**launch_options())
