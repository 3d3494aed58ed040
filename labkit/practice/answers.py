"""Choice and value answers: read the way a learner types them, then compared with the accepted ones."""

from __future__ import annotations

import re

from labkit.practice.model import Question, Verdict


def normalise(value: str) -> str:
    """Lower case, no surrounding quotes or backticks, one space between words, no trailing period."""
    text = value.strip().strip("`'\"").strip().lower()
    return re.sub(r"\s+", " ", text).rstrip(".")


def choice_letter(question: Question, given: object) -> str | None:
    """The letter a learner meant: "b", "B", "(b)", "b)" or the option's number (2); None when it is none of them."""
    text = normalise(str(given)).strip("()").rstrip(")")
    letters = question.letters()
    if text in letters:
        return text
    if text.isdigit() and 1 <= int(text) <= len(letters):
        return letters[int(text) - 1]
    return None


def check_choice(question: Question, given: object) -> Verdict:
    """Right when the letter is the accepted one."""
    letter = choice_letter(question, given)
    if letter is None:
        letters = ", ".join(question.letters())
        return Verdict(False, f"Answer with one letter ({letters}); {str(given)!r} is none of them.", usable=False)
    if letter in question.accept:
        return Verdict(True, f"({letter}) is right: {question.right}")
    return Verdict(False, f"({letter}) is not it.")


def check_value(question: Question, given: object) -> Verdict:
    """Right when the normalised value is one of the accepted spellings."""
    text = normalise(str(given))
    if not text:
        return Verdict(False, "The answer is empty: write a value between the quotes.", usable=False)
    if text in {normalise(accepted) for accepted in question.accept}:
        return Verdict(True, f"{str(given).strip()!r} is right: {question.right}")
    return Verdict(False, f"{str(given).strip()!r} is not it.")
