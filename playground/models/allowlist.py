"""Which models a hosted page may serve: the host's allowlist, never what a request names.

PLAYGROUND_MODELS holds the host's extra models, comma-separated (Hugging Face ids or directories on the
host); the embedded default always comes first, then PLAYGROUND_MODEL (the one loaded at start) if it is
another. A request picks from this list by name and nothing else: a path or id a person types is refused
before anything is loaded.
"""

from __future__ import annotations

import os
from collections.abc import Mapping

from playground.models.bundled import DEFAULT_MODEL_ID
from playground.models.errors import ModelLoadError


def allowed_models(env: Mapping[str, str] | None = None) -> list[str]:
    """The models this server serves, the embedded default first, without duplicates.

    Args:
        env: the environment to read (os.environ when None).
    """
    env = os.environ if env is None else env
    names = [DEFAULT_MODEL_ID, env.get("PLAYGROUND_MODEL", "")]
    names += env.get("PLAYGROUND_MODELS", "").split(",")
    allowed: list[str] = []
    for name in (n.strip() for n in names):
        if name and name not in allowed:
            allowed.append(name)
    return allowed


def check_allowed(model_id: object, allowed: list[str]) -> str:
    """`model_id` if the host allows it; else ModelLoadError naming the choices."""
    if not isinstance(model_id, str) or model_id not in allowed:
        shown = repr(model_id)[:80]
        raise ModelLoadError(f"model {shown} is not served here; choose one of: {', '.join(allowed)}")
    return model_id
