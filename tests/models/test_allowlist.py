"""The host's allowlist: the embedded default first, then the host's choices; anything else is refused."""

import pytest

from playground.models import DEFAULT_MODEL_ID, ModelLoadError
from playground.models.allowlist import allowed_models, check_allowed


def test_embedded_default_first_then_the_start_model_then_the_list_without_duplicates():
    env = {"PLAYGROUND_MODEL": "org/a", "PLAYGROUND_MODELS": " org/b, org/a,,/srv/models/c "}
    assert allowed_models(env) == [DEFAULT_MODEL_ID, "org/a", "org/b", "/srv/models/c"]
    assert allowed_models({}) == [DEFAULT_MODEL_ID]


@pytest.mark.parametrize("asked", ["/etc", "../secret", "org/b ", None, 3, "x" * 500])
def test_anything_off_the_list_is_refused_by_name(asked):
    with pytest.raises(ModelLoadError, match="is not served here; choose one of: SmolLM2-135M-Instruct, org/b"):
        check_allowed(asked, [DEFAULT_MODEL_ID, "org/b"])
    assert check_allowed("org/b", [DEFAULT_MODEL_ID, "org/b"]) == "org/b"
