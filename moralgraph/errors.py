"""The one error type the graph's services raise (the same shape as `elicitation`'s, which
this app may not import): a stable code and a message for people."""

from __future__ import annotations


class MoralGraphError(Exception):
    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
