"""Answers kept out of plain sight: what the learner's package holds of each choice and value answer.

The keys are the instructor's (instructor/keys.toml, outside the package). What ships is sealed.json: for each
question a random salt, the digest of every accepted form of its answer, and the feedback each answer unlocks (why
it is right, or the misconception a wrong option stands for), encrypted with a key derived from that answer. A
learner's answer is checked by digesting it; its feedback is read by unsealing with it. Nothing in the package
prints a key. This hides the keys from sight, not from a determined learner (four letters are quickly tried): a class
grades on the instructor's side.

`python -m labkit.practice.keys` (or `make seal`) writes sealed.json from instructor/keys.toml.
"""

from __future__ import annotations

import base64
import hashlib
import json
import secrets
from dataclasses import dataclass
from pathlib import Path

SEALED_FILE = Path(__file__).with_name("sealed.json")


def _derived(salt: str, question_id: str, form: str) -> bytes:
    return hashlib.sha256(f"{salt}\0{question_id}\0{form}".encode()).digest()


def digest(salt: str, question_id: str, form: str) -> str:
    """What the package keeps of one accepted form of an answer."""
    return hashlib.sha256(b"accept\0" + _derived(salt, question_id, form)).hexdigest()


def _stream(derived: bytes, length: int) -> bytes:
    blocks = (hashlib.sha256(b"text\0" + derived + count.to_bytes(4, "big")).digest() for count in range(length // 32 + 1))
    return b"".join(blocks)[:length]


def _xor(data: bytes, salt: str, question_id: str, form: str) -> bytes:
    """The data with this answer's stream laid over it: sealing and unsealing are the same operation."""
    return bytes(a ^ b for a, b in zip(data, _stream(_derived(salt, question_id, form), len(data)), strict=True))


def seal(text: str, salt: str, question_id: str, form: str) -> str:
    """Feedback that only this answer unlocks."""
    return base64.b64encode(_xor(text.encode(), salt, question_id, form)).decode()


def unseal(sealed: str, salt: str, question_id: str, form: str) -> str:
    """The feedback sealed for this answer ('' when it is not readable with it)."""
    plain = _xor(base64.b64decode(sealed), salt, question_id, form)
    try:
        return plain.decode()
    except UnicodeDecodeError:
        return ""


@dataclass(frozen=True)
class Sealed:
    """One question's sealed answer: its salt, the digests of its accepted forms, and sealed feedback by digest."""

    salt: str
    accepted: frozenset[str]
    feedback: dict[str, str]  # digest of a form -> that form's sealed feedback

    def check(self, question_id: str, forms: set[str]) -> tuple[bool, str]:
        """Whether one of the forms is accepted, and the feedback the first form with any unlocks ('' when none)."""
        right, said = False, ""
        for form in sorted(forms):
            found = digest(self.salt, question_id, form)
            right = right or found in self.accepted
            if not said and found in self.feedback:
                said = unseal(self.feedback[found], self.salt, question_id, form)
        return right, said


def load(path: Path = SEALED_FILE) -> dict[str, Sealed]:
    """Every question's sealed answer, by question id."""
    document = json.loads(path.read_text())
    return {question_id: Sealed(entry["salt"], frozenset(entry["accepted"]), dict(entry["feedback"]))
            for question_id, entry in document.items()}


def sealed_entry(question_id: str, accepted: set[str], feedback: dict[str, str]) -> dict[str, object]:
    """sealed.json's entry for one question: every accepted form digested, each form's feedback sealed with it."""
    salt = secrets.token_hex(16)
    return {"salt": salt, "accepted": sorted(digest(salt, question_id, form) for form in accepted),
            "feedback": {digest(salt, question_id, form): seal(text, salt, question_id, form)
                         for form, text in sorted(feedback.items())}}
