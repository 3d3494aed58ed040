"""Choice and value answers: read the way a learner types them, then compared with the accepted ones."""

from __future__ import annotations

import re

from labkit.practice import seal
from labkit.practice.model import Question, Verdict

SHOWN = 60  # how much of an answer the feedback repeats
NUMBER_WORDS = {"zero": "0", "one": "1", "two": "2", "three": "3", "four": "4", "five": "5", "six": "6", "seven": "7",
                "eight": "8", "nine": "9", "ten": "10"}
DOCKER_HUB = ("index.docker.io/", "registry-1.docker.io/", "registry.hub.docker.com/")


def shown(given: object) -> str:
    """An answer as the feedback repeats it: quoted, and cut after SHOWN characters."""
    text = str(given).strip()
    return repr(text if len(text) <= SHOWN else text[:SHOWN] + "…")


def normalise(value: str, case_sensitive: bool = False) -> str:
    """No surrounding quotes or backticks, one space between words, no trailing period; lower case unless the
    answer's case matters (an environment variable's name, a repository's)."""
    text = value.strip().rstrip(".").strip().strip("`'\"").strip()
    text = re.sub(r"\s+", " ", text).rstrip(".")
    return text if case_sensitive else text.lower()


def reference(value: str) -> str:
    """An image reference as the engine reads it: Docker Hub's other host names are docker.io."""
    for host in DOCKER_HUB:
        if value.lower().startswith(host):
            return "docker.io/" + value[len(host):]
    return value


def value_forms(question: Question, given: str) -> set[str]:
    """The forms of a value answer compared with the accepted ones: as typed, without its unit, as a reference."""
    text = normalise(given, question.case_sensitive)
    forms = {text}
    if question.unit:
        number, _, unit = text.partition(" ")
        if unit.lower() in (question.unit, question.unit.rstrip("s")):
            forms.add(number)
    forms |= {NUMBER_WORDS[form.lower()] for form in forms if form.lower() in NUMBER_WORDS}
    if question.reference:
        forms |= {reference(form) for form in forms}
    return forms


_SEALED: dict[str, seal.Sealed] = {}


def sealed(question: Question) -> seal.Sealed:
    """The question's sealed answer (sealed.json, read once)."""
    if not _SEALED:
        _SEALED.update(seal.load())
    return _SEALED[question.id]


def choice_letter(question: Question, given: object) -> str | None:
    """The letter a learner meant: "b", "B", "(b)", "b)" or the option's number (2); None when it is none of them."""
    text = normalise(str(given)).strip("()").rstrip(")")
    letters = question.letters()
    if text in letters:
        return text
    if text.isascii() and text.isdigit() and 1 <= int(text) <= len(letters):
        return letters[int(text) - 1]
    return None


def check_choice(question: Question, given: object) -> Verdict:
    """Right when the letter is the accepted one; a wrong one is told the misconception it stands for."""
    letter = choice_letter(question, given)
    if letter is None:
        letters = ", ".join(question.letters())
        return Verdict(False, f"Answer with one letter ({letters}); {shown(given)} is none of them.", usable=False)
    right, said = sealed(question).check(question.id, {letter})
    if right:
        return Verdict(True, f"({letter}) is right: {said}")
    return Verdict(False, f"({letter}) is not it{': ' + said if said else '.'}")


def check_value(question: Question, given: object) -> Verdict:
    """Right when a form of the answer is one of the accepted spellings."""
    text = str(given)
    if not normalise(text):
        return Verdict(False, "The answer is empty: write a value between the quotes.", usable=False)
    right, said = sealed(question).check(question.id, value_forms(question, text))
    if right:
        return Verdict(True, f"{shown(given)} is right: {said}")
    return Verdict(False, f"{shown(given)} is not it.")
