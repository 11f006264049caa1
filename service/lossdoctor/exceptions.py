"""Domain errors. They know nothing of HTTP; the web layer maps them to status codes in one place."""

from __future__ import annotations

from typing import Any


class LossDoctorError(Exception):
    """Base class: every error carries a message that tells the caller what to fix."""

    def __init__(self, message: str, **details: Any) -> None:
        super().__init__(message)
        self.message = message
        self.details = details


class InvalidInput(LossDoctorError):
    """The input is readable but a field has the wrong type or an impossible value."""


class UnreadableInput(LossDoctorError):
    """The body cannot be decoded at all (not JSON, not UTF-8, corrupt gzip)."""


class InputTooLarge(LossDoctorError):
    """The body or one of its series exceeds a configured limit."""


class UnsupportedFormat(LossDoctorError):
    """No parser recognises the input, or the requested format does not exist."""


class NotFound(LossDoctorError):
    """A stored result is unknown or has expired."""


class CacheUnavailable(LossDoctorError):
    """The shared store cannot be reached, so a stored result cannot be read."""
