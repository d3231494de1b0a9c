"""A validation error that knows which field (below the model being validated) it concerns."""

from __future__ import annotations

from collections.abc import Sequence


class LocatedValueError(ValueError):
    """Raised inside a pydantic validator to point at a sub-field.

    pydantic reports a model-level validator's error at the model's own location; the loader
    appends ``loc`` (relative to that model) so the message names the exact field and the
    line it is written on, e.g. ``randomisation.ratio.XYZ``.
    """

    def __init__(self, loc: Sequence[str | int], message: str) -> None:
        super().__init__(message)
        self.loc = tuple(loc)
        self.message = message
