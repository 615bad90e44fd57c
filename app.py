"""Entry point, as Hugging Face Spaces expects: a module-level `demo` and a `__main__` guard.

PLAYGROUND_MODEL and PLAYGROUND_PRECISION choose the model loaded at start, PLAYGROUND_MODELS the others a
person may pick (comma-separated); GRADIO_SERVER_NAME and GRADIO_SERVER_PORT (read by Gradio itself) choose
where it listens, 127.0.0.1:7860 unless set.
"""

import os
import sys

from playground.spaces import import_spaces, install_bundled_model

import_spaces()  # on ZeroGPU only: `spaces` must come before torch and gradio (it patches both)
install_bundled_model()  # on a Hugging Face Space only, and only if missing

from playground.models import DEFAULT_MODEL_ID, ModelLoadError  # noqa: E402
from playground.models.allowlist import allowed_models  # noqa: E402
from playground.settings import SettingsError  # noqa: E402
from playground.ui import build_demo, launch_options  # noqa: E402
from playground.ui.pump import serve_model_jobs  # noqa: E402

try:
    demo = build_demo(
        model_id=os.environ.get("PLAYGROUND_MODEL", DEFAULT_MODEL_ID),
        precision=os.environ.get("PLAYGROUND_PRECISION", "nf4"),
        models=allowed_models(),
    )
except (SettingsError, ModelLoadError) as exc:  # a host's setting or model that cannot work: one line, exit 1
    sys.exit(f"error: {exc}")

if __name__ == "__main__":
    demo.launch(prevent_thread_lock=True, **launch_options())
    try:
        serve_model_jobs()  # the main thread runs the model: see playground/ui/pump.py
    except KeyboardInterrupt:
        demo.close()
