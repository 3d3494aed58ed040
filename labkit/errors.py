"""The one error type a learner meets: what happened, and what to try next."""

from __future__ import annotations


class LabError(Exception):
    """An error with a plain explanation and a next step, shown without a traceback."""

    def __init__(self, what: str, next_step: str) -> None:
        super().__init__(f"{what} {next_step}")
        self.what = what
        self.next_step = next_step

    def __str__(self) -> str:
        return f"{self.what}\n  try: {self.next_step}"
