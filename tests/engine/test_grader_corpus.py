"""The grader against a corpus of answers (tests/data/grader/corpus.toml): right ones in unusual but valid forms,
wrong ones an interviewer would reject, hostile ones; command and Dockerfile answers built and read back for real on
the sandbox. Each must get the verdict the corpus gives, with its reason, and never a traceback."""

from __future__ import annotations

import tomllib
from typing import Any

import pytest

from labkit.docker.endpoints import Endpoints
from labkit.practice import bank
from labkit.practice.model import Question
from labkit.practice.tries import Session, Workspace
from labkit.settings import Settings
from labkit.steps import dockerfile
from tests.conftest import DATA
from tests.support.keys import keyed

CORPUS: list[dict[str, Any]] = tomllib.loads((DATA / "grader" / "corpus.toml").read_text())["answer"]


def _given(entry: dict[str, Any], question: Question) -> list[str]:
    """The answers an entry stands for: as given, or a choice answer's form, from whatever the key is."""
    if "given" in entry:
        return [entry["given"]]
    right = question.accept[0]
    letters = question.letters()
    return {"key": [question.key], "key-upper": [right.upper()], "key-paren": [f"({right})"],
            "key-number": [str(letters.index(right) + 1)],
            "wrong": [letter for letter in letters if letter not in question.accept]}[entry["form"]]


def test_the_corpus_is_large_and_covers_every_kind_of_answer() -> None:
    assert len(CORPUS) >= 40
    kinds = {bank.BY_ID[entry["question"]].kind for entry in CORPUS}
    assert kinds == {"choice", "value", "command", "dockerfile"}
    assert {entry["expect"] for entry in CORPUS} == {"right", "wrong", "unusable"}


@pytest.fixture(scope="module")
def workspace(endpoints: Endpoints, settings: Settings) -> Workspace:
    dockerfile.write(settings.work_dir)
    return Workspace(endpoints, settings.work_dir)


@pytest.mark.parametrize("entry", CORPUS, ids=[f"{n:02}-{e['question']}-{e['expect']}" for n, e in enumerate(CORPUS)])
def test_each_answer_gets_the_corpus_verdict(entry: dict[str, Any], workspace: Workspace,
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in entry.get("environ", {}).items():
        monkeypatch.setenv(name, value)
    question = keyed(bank.BY_ID[entry["question"]])
    for given in _given(entry, question):
        feedback = Session(lambda: workspace).feedback(question.id, given)
        said = "\n".join(feedback.lines)
        assert feedback.state == entry["expect"], said
        assert entry.get("why", "") in said, said
        assert "Traceback" not in said and len(said) < 1500, said
