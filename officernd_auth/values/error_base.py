"""The root of officernd-auth's exceptions, in a module of its own: :mod:`officernd_auth.errors`
(which imports no oauthlib) and :mod:`officernd_auth.values.token_errors` (oauthlib's subclasses,
loaded on first use) both derive from it. Import it from :mod:`officernd_auth.errors`."""

from __future__ import annotations

__all__ = ["OfficeRNDAuthError"]


class OfficeRNDAuthError(Exception):
    """Root of every error raised by officernd-auth.

    The message is ``args[0]``; extra attributes live in ``__dict__`` so that
    ``copy.copy`` and ``pickle`` round-trip every subclass.
    """

    __module__ = "officernd_auth.errors"

    def __init__(self, message: str) -> None:
        super().__init__(message)

    @property
    def message(self) -> str:
        """The human-readable message, saying what went wrong and what to do."""
        return str(self.args[0]) if self.args else ""
