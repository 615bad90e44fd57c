"""The one error a failed model load raises: a single sentence a person can act on."""


class ModelLoadError(RuntimeError):
    """The model cannot be loaded; the message is one sentence that says why and, where it can, what to do."""
