"""Every failure of a request turned into a message a person can read: bad settings, prompts and models name
the control; anything unforeseen is one line, with the details in the server's log."""

from __future__ import annotations

import contextlib
import html
import logging
from collections.abc import Iterator

import gradio as gr

from playground.models import ModelLoadError
from playground.settings import SettingsError
from playground.ui.controls import control_label

logger = logging.getLogger(__name__)


def user_error(exc: Exception) -> gr.Error:
    """A SettingsError or ModelLoadError as the message a person sees, naming the control."""
    label = control_label(getattr(exc, "field", None))
    message = f"{label}: {exc}" if label else str(exc)
    # gr.Error renders its message as HTML, and the message quotes the value that was sent.
    return gr.Error(html.escape(message, quote=False), print_exception=False)


def failure(exc: Exception) -> gr.Error:
    """What a person sees when a run fails in a way no check foresaw: one line, the details in the server's
    log; the server keeps serving."""
    logger.exception("a run failed")
    message = f"The run failed: {type(exc).__name__}: {str(exc)[:200]}. The details are in the server's log."
    return gr.Error(html.escape(message, quote=False), print_exception=False)


@contextlib.contextmanager
def answered() -> Iterator[None]:
    """Every exception inside becomes a gr.Error a person can read: bad settings, prompts and models name the
    control (`user_error`), anything unforeseen is one line with the details logged (`failure`)."""
    try:
        yield
    except (SettingsError, ModelLoadError, TypeError) as exc:
        raise user_error(exc) from exc
    except gr.Error:
        raise
    except Exception as exc:
        raise failure(exc) from exc
