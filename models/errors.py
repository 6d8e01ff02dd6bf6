"""The model's own exceptions, which every layer of `models` may raise and `bridge` catches
through `models.interface`."""


class ModelUnavailable(RuntimeError):
    """No usable model: weights missing or corrupt, or the model cannot do this task.
    The message says what to do."""


class Cancelled(RuntimeError):
    """``should_stop`` returned true while the model was working."""
