"""Domain errors.

Every error a user can cause derives from :class:`TaperwiseError`. Its message is one line that
says what was wrong, where (file:line, participant, item, field) and what is allowed, e.g.
``COWS item 'pulse' got 3; allowed 0, 1, 2, 4``. The CLI prints that line and exits 2; the web
app answers 4xx with the same text.
"""

from __future__ import annotations


class TaperwiseError(Exception):
    """Base class for errors caused by bad input or a refused operation."""

    #: HTTP status the web layer uses for this error.
    http_status: int = 400

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    def __str__(self) -> str:
        return self.message


class ValidationError(TaperwiseError):
    """A value is outside what is allowed (item score, field, option)."""

    http_status = 422


class DefinitionError(TaperwiseError):
    """An instrument or protocol definition file is invalid (message carries file:line)."""

    http_status = 422


class NotFoundError(TaperwiseError):
    """A referenced entity (study, participant, instrument) does not exist."""

    http_status = 404


class PermissionDenied(TaperwiseError):
    """The current user may not do this."""

    http_status = 403


class ConflictError(TaperwiseError):
    """The operation conflicts with the current state (already randomised, list exhausted)."""

    http_status = 409


class AuditError(TaperwiseError):
    """An audited change was refused (e.g. an edit without a reason)."""

    http_status = 422


class DataFileError(TaperwiseError):
    """An input data file is malformed (message carries file:line)."""

    http_status = 422


class ConvergenceError(TaperwiseError):
    """A numerical fit did not converge from any start."""

    http_status = 422
