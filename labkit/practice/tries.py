"""One learner's tries: what to tell them about each answer.

Right: why, and the notebook output that proves it. Wrong: what is wrong with this answer, the same proof to go
and read, and a hint, from the first wrong try on. The answer itself is never shown. Nothing here raises at the
learner: an answer that cannot be checked says why in two lines.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from labkit.docker.endpoints import Endpoints
from labkit.errors import LabError
from labkit.practice import choice_answers, command_answers, dockerfile_answers
from labkit.practice.bank import BY_ID, asked_in
from labkit.practice.model import Feedback, Question, Verdict

HOW = {"choice": "a letter, such as \"a\"", "value": "a value, in quotes", "command": "the command, in quotes",
       "dockerfile": "the Dockerfile, in triple quotes"}


@dataclass(frozen=True)
class Workspace:
    """What command and Dockerfile answers run on: the lab's engine and its build folder (step 1's Dockerfile)."""

    endpoints: Endpoints
    workdir: Path


def unanswered(given: object) -> bool:
    """True for the placeholder the learner has not replaced yet (`...`), or nothing at all."""
    return given is Ellipsis or given is None or (isinstance(given, str) and given.strip() in ("", "..."))


def proof_text(question: Question, shows: bool = True) -> str:
    """Where the proof is, as one line; with what each output shows once the answer is right (it could give it away)."""
    return "; ".join(proof.text() if shows else proof.where() for proof in question.proof)


class Session:
    """Counts each question's wrong tries; turns an answer into feedback."""

    def __init__(self, workspace: Callable[[], Workspace] | None = None) -> None:
        self.workspace = workspace
        self.tries: Counter[str] = Counter()
        self.right: set[str] = set()

    def verdict(self, question: Question, given: object) -> Verdict:
        """Check one answer with its kind's checker."""
        if question.kind == "choice":
            return choice_answers.check_choice(question, given)
        if question.kind == "value":
            return choice_answers.check_value(question, given)
        if not isinstance(given, str):
            return Verdict(False, f"Write the {question.kind} as a string, in quotes.", usable=False)
        if self.workspace is None:
            return Verdict(False, "This answer runs on the lab's engine, and none is open here.", usable=False)
        where = self.workspace()
        check = command_answers.check_command if question.kind == "command" else dockerfile_answers.check_dockerfile
        return check(question, given, where.endpoints, where.workdir)

    def answer(self, question_id: str, given: object) -> Feedback:
        """The feedback for one answer; a wrong try counts, an unusable or unchecked one does not."""
        question = BY_ID.get(question_id)
        if question is None:
            return Feedback(question_id, "unknown", (f"[?] {question_id}: there is no such question. "
                                                     "`labkit quiz --json` lists them.",))
        if unanswered(given):
            line = (f"[ ] {question_id}: not answered yet. Replace {question.placeholder} with your answer "
                    f"({HOW[question.kind]}), then run this cell again.")
            return Feedback(question_id, "unanswered", (line,))
        try:
            verdict = self.verdict(question, given)
        except LabError as error:
            return Feedback(question_id, "unusable", (f"[?] {question_id}: the lab could not check this answer: "
                                                      f"{error.what}", f"  try: {error.next_step}"))
        if not verdict.usable:
            return Feedback(question_id, "unusable", (f"[?] {question_id}: {verdict.why}",
                                                      "  (not counted as a try: change the answer and run it again)"))
        if verdict.right:
            self.right.add(question_id)
            return Feedback(question_id, "right", (f"[RIGHT] {question_id}", f"  why:   {verdict.why}",
                                                   f"  proof: {proof_text(question)}"), self.tries[question_id])
        self.tries[question_id] += 1
        self.right.discard(question_id)  # the score counts the last answer
        tries = self.tries[question_id]
        return Feedback(question_id, "wrong", (f"[WRONG] {question_id} (try {tries})", f"  why:   {verdict.why}",
                                               f"  see:   {proof_text(question, shows=False)}", f"  hint:  {question.hint}"), tries)

    def feedback(self, question_id: str, given: object) -> Feedback:
        """What an answer cell prints: the feedback, or, when the lab itself fails, two lines that say so (an answer
        cell never raises)."""
        try:
            return self.answer(question_id, given)
        except Exception as error:  # noqa: BLE001 - a fault of the lab, shown to the learner in two lines
            return Feedback(question_id, "unusable", (
                f"[?] {question_id}: the lab could not check this answer ({type(error).__name__}: {error}).",
                "  try: run the cell again; if it happens again, run `labkit status`."))

    def score_line(self, notebook: str) -> str:
        """How many of a notebook's questions were answered right in this session."""
        asked = asked_in(notebook)
        right = [question.id for question in asked if question.id in self.right]
        return f"answered right: {len(right)} of {len(asked)}" + (f" ({', '.join(right)})" if right else "")
