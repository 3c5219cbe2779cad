"""The one error type services raise; views and consumers translate it for people."""

from __future__ import annotations


class ApplicationError(Exception):
    """A request that cannot be honoured, with a stable code and a message for people."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
