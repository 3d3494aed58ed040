"""The questions with their keys: the bank's questions, each with what instructor/keys.toml holds for it (the tests
run as the owner of the lab's folder, as an instructor does)."""

from __future__ import annotations

import dataclasses

from labkit.practice import keys
from labkit.practice.model import Question

KEYS = keys.load()


def keyed(question: Question) -> Question:
    """The question with its key, accepted answers, why and misconceptions filled in from the instructor's keys."""
    key = KEYS[question.id]
    return dataclasses.replace(question, key=key.key, accept=key.accept or question.accept,
                               right=key.right or question.right, misconceptions=key.misconceptions)
