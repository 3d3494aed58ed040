"""The answer key, the instructor's: instructor/keys.toml, read only by whoever owns the lab's folder.

It holds each question's key (the answer, or a model answer for a command or a Dockerfile), and for choice and value
questions what the learners' package keeps only sealed (seal.py): the accepted spellings, why the answer is right,
and the misconception each wrong option stands for.
"""

from __future__ import annotations

import json
import os
import sys
import tomllib
from dataclasses import dataclass
from pathlib import Path

from labkit.errors import LabError
from labkit.practice import seal
from labkit.practice.bank import QUESTIONS
from labkit.practice.choice_answers import value_forms
from labkit.system.machine import euid, user_name

LAB_FOLDER = Path(__file__).resolve().parents[2]
KEYS_FILE = LAB_FOLDER / "instructor" / "keys.toml"


@dataclass(frozen=True)
class Key:
    """One question's key and what is sealed of it."""

    key: str
    accept: tuple[str, ...] = ()
    right: str = ""
    misconceptions: tuple[str, ...] = ()


def require_owner(path: Path = KEYS_FILE) -> None:
    """A LabError unless this user owns the lab's folder (and so may read its key)."""
    try:
        owner = path.stat().st_uid
    except OSError:
        raise LabError(f"There is no answer key here ({path} is missing).",
                       "The key is the instructor's: it is in the lab's repository, not in a learner's copy.") from None
    if owner != euid():
        raise LabError(f"The answer key is for whoever owns the lab's folder ({user_name(owner)}), not {user_name(euid())}.",
                       "Ask your instructor; `labkit quiz` tells you whether an answer is right.")


def load(path: Path = KEYS_FILE) -> dict[str, Key]:
    """Every question's key, by question id."""
    document = tomllib.loads(path.read_text())
    return {question_id: Key(str(entry["key"]), tuple(entry.get("accept", ())), str(entry.get("right", "")),
                             tuple(entry.get("misconceptions", ())))
            for question_id, entry in document.items()}


def write_sealed(found: dict[str, Key], path: Path) -> int:
    """sealed.json from the keys: for each choice and value question, its accepted forms digested and the feedback
    each answer unlocks sealed with it. Returns how many questions it sealed."""
    document: dict[str, object] = {}
    for question in QUESTIONS:
        if question.kind not in ("choice", "value"):
            continue
        key = found[question.id]
        if question.kind == "choice":
            letters = question.letters()
            accepted = {letter.strip("()") for letter in key.accept}
            feedback = {letter: key.right if letter in accepted else key.misconceptions[number]
                        for number, letter in enumerate(letters)}
        else:
            accepted = {form for spelling in key.accept for form in value_forms(question, spelling)}
            feedback = dict.fromkeys(accepted, key.right)
        document[question.id] = seal.sealed_entry(question.id, accepted, feedback)
    path.write_text(json.dumps(document, indent=1, sort_keys=True) + "\n")
    os.chmod(path, 0o644)
    return len(document)


def main() -> int:
    """`python -m labkit.practice.keys`: seal the keys into the package's sealed.json."""
    written = write_sealed(load(), seal.SEALED_FILE)
    print(f"sealed {written} questions' answers into {seal.SEALED_FILE.relative_to(LAB_FOLDER)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
