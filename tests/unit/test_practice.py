"""The question bank without an engine: every choice and value question answered right and wrong, the feedback it
gives, command answers refused before anything runs, Dockerfiles read for what runs where, the notebooks' answer
cells, and `labkit quiz` (--json, --answer, --key, one question at a time)."""

from __future__ import annotations

import io
import json
import re
from pathlib import Path

import nbformat
import pytest

from labkit import cli, nbtools
from labkit.practice import bank, choice_answers, command_answers, dockerfile_answers, keys, quiz, seal
from labkit.practice.model import KINDS, Question, Task
from labkit.practice.tries import Session
from labkit.settings import Settings
from tests.support.keys import keyed

OFFLINE = [keyed(q) for q in bank.QUESTIONS if q.kind in ("choice", "value")]
NOTEBOOKS = {path.name: nbformat.read(path, as_version=4) for path in nbtools.notebook_paths()}  # type: ignore[no-untyped-call]
REGISTRY = "127.0.0.1:5000"


def right_answer(question: Question) -> str:
    return question.key.strip("()")


def wrong_answer(question: Question) -> str:
    if question.kind == "choice":
        return next(letter for letter in question.letters() if letter not in question.accept)
    return "not-the-answer"


def test_the_bank_has_every_kind_and_at_least_twelve_questions_in_notebook_07() -> None:
    assert len(bank.asked_in("07")) >= 12
    assert {q.kind for q in bank.asked_in("07")} == set(KINDS)
    assert len(bank.BY_ID) == len(bank.QUESTIONS), "question ids are unique"
    for notebook in ("01", "02", "03", "04", "05", "06"):
        assert 1 <= len(bank.asked_in(notebook)) <= 2, f"one or two exercises end notebook {notebook}"


@pytest.mark.parametrize("question", OFFLINE, ids=lambda q: q.id)
def test_a_right_answer_says_why_and_which_output_proves_it(question: Question) -> None:
    feedback = Session().answer(question.id, right_answer(question))
    assert feedback.state == "right" and feedback.right
    assert feedback.lines[0] == f"[RIGHT] {question.id}"
    why, proof = feedback.lines[1:]  # the two-line explanation
    assert why.startswith("  why:   ") and question.right in why
    assert proof.startswith("  proof: ") and all(p.text() in proof for p in question.proof)


@pytest.mark.parametrize("question", OFFLINE, ids=lambda q: q.id)
def test_a_wrong_answer_gets_a_hint_from_the_first_try_and_never_the_answer(question: Question) -> None:
    session = Session()
    first = session.answer(question.id, wrong_answer(question))
    assert first.state == "wrong" and not first.right and first.tries == 1
    assert first.lines[0] == f"[WRONG] {question.id} (try 1)"
    assert first.lines[2].startswith("  see:   ") and question.proof[0].notebook in first.lines[2]
    assert first.lines[3] == f"  hint:  {question.hint}"
    shown = "\n".join(first.lines).lower()
    assert question.right.lower() not in shown
    assert all(p.shows.lower() not in shown for p in question.proof), "what the proof shows could give it away"
    if question.kind == "choice":
        right_option = question.options[question.letters().index(question.accept[0])]
        assert right_option.lower() not in shown
    else:
        assert not any(re.search(rf"(?<![\w/.-]){re.escape(value.lower())}(?![\w/.-])", shown) for value in question.accept)
    assert session.answer(question.id, wrong_answer(question)).tries == 2
    assert session.answer(question.id, right_answer(question)).right


@pytest.mark.parametrize("given", [..., None, "", "  ", "..."])
def test_the_placeholder_is_the_unanswered_state(given: object) -> None:
    session = Session()
    feedback = session.answer("q-entry-count", given)
    assert feedback.state == "unanswered" and session.tries["q-entry-count"] == 0
    assert feedback.lines == ("[ ] q-entry-count: not answered yet. Replace ... with your answer (a value, in quotes), "
                              "then run this cell again.",)


def test_what_is_not_an_answer_is_said_and_not_counted() -> None:
    session = Session()
    assert session.answer("q-nope", "b").lines[0].startswith("[?] q-nope: there is no such question")
    letter = session.answer("q-why-one-install", "z")
    assert letter.state == "unusable" and "one letter (a, b, c, d)" in letter.lines[0]
    assert session.answer("q-why-one-install", "(B)").right and session.answer("q-why-one-install", 2).right
    no_engine = session.answer("q-push-exact", "docker buildx build .")
    assert no_engine.state == "unusable" and "none is open here" in no_engine.lines[0]
    assert session.tries == {}


@pytest.mark.parametrize("question", bank.QUESTIONS, ids=lambda q: q.id)
def test_every_proof_names_cells_that_exist(question: Question) -> None:
    for proof in question.proof:
        if not proof.notebook.endswith(".ipynb"):
            assert proof.cells == () and " v" in proof.notebook, "a cited source names its version"
        elif proof.notebook in NOTEBOOKS:
            ids = {cell.get("id") for cell in NOTEBOOKS[proof.notebook].cells}
            assert proof.cells and set(proof.cells) <= ids, proof
        else:  # notebooks 05 and 06: their cells are named when the notebooks join the lab
            assert proof.notebook in (bank.NB05, bank.NB06) and proof.cells == ()


@pytest.mark.parametrize("name", sorted(NOTEBOOKS), ids=str)
def test_each_notebook_asks_its_questions_in_answer_cells_that_show_the_unanswered_state(name: str) -> None:
    cells = NOTEBOOKS[name].cells
    asked = {}
    for number, cell in enumerate(cells):
        found = re.search(r'lab\.answer\("([^"]+)"', cell.source) if cell.cell_type == "code" else None
        if found:
            question = bank.BY_ID[found.group(1)]
            asked[question.id] = question
            assert question.text in cells[number - 1].source, "the question is in the markdown above its cell"
            assert all(option in cells[number - 1].source for option in question.options)
            assert nbtools.is_checked(cell)
            assert "".join(o.get("text", "") for o in cell.outputs).startswith(f"[ ] {question.id}: not answered yet")
    assert sorted(asked) == sorted(q.id for q in bank.asked_in(name[:2]))


@pytest.mark.parametrize(("answer", "refused"), [
    ("rm -rf /", "starts with `docker`"),
    ("sh -c 'docker build .'", "starts with `docker`"),
    ("docker run --rm busybox", "takes `docker build` or `docker buildx build`"),
    ("docker buildx build --platform linux/amd64 -t $REGISTRY/practice:two --push . ; rm -rf /", "not an option"),
    ("docker buildx build -t $REGISTRY/practice:two --output type=local,dest=/tmp/out .", "dest"),
    ("docker buildx build -t docker.io/library/demo:multi --push .", "Tag it 127.0.0.1:5000/practice:two"),
    ("docker buildx build -t $REGISTRY/practice:two -f /etc/passwd --push .", "the lab's Dockerfile"),
    ("docker buildx build -t $REGISTRY/practice:two --secret id=k,src=/root/.ssh/id_rsa --push .", "--secret"),
    ("docker buildx build -t $REGISTRY/practice:two --push /", "end the command with `.`"),
    ("HOME=/ docker buildx build -t $REGISTRY/practice:two --push .", "HOME="),
    ("docker buildx build -t \"$REGISTRY/practice:two --push .", "does not read as one command line"),
    ("docker buildx build --platform", "needs a value"),
])
def test_a_command_is_refused_before_anything_runs(answer: str, refused: str) -> None:
    with pytest.raises(command_answers.Refused, match=re.escape(refused)):
        command_answers.parse(answer, Task("two", ("linux/amd64",)), REGISTRY)


def test_a_command_is_run_as_typed_with_the_registry_filled_in() -> None:
    task = Task("two", ("linux/amd64", "linux/arm/v7"))
    parsed = command_answers.parse("$ BUILDX_NO_DEFAULT_ATTESTATIONS=1 docker buildx build --platform=linux/amd64,linux/arm/v7 "
                            "-t ${REGISTRY}/practice:two --provenance false --push .", task, REGISTRY)
    assert parsed.env == {"BUILDX_NO_DEFAULT_ATTESTATIONS": "1"}
    assert parsed.args == ["buildx", "build", "--platform", "linux/amd64,linux/arm/v7", "-t", f"{REGISTRY}/practice:two",
                           "--provenance", "false", "--push", "."]
    assert command_answers.parse("docker build -t $REGISTRY/practice:two --output type=registry .", task, REGISTRY).args[0] == "build"
    stitch = bank.BY_ID["q-stitch"].task
    assert stitch is not None
    with pytest.raises(command_answers.Refused, match="images in the lab's registry"):
        command_answers.parse("docker buildx imagetools create -t $REGISTRY/practice:stitched docker.io/library/busybox", stitch, REGISTRY)
    with pytest.raises(command_answers.Refused, match="takes `docker buildx imagetools create`"):
        command_answers.parse("docker buildx build -t $REGISTRY/practice:stitched --push .", stitch, REGISTRY)


# BuildKit's own step names, as a two-platform build on an amd64 machine prints them (captured from the lab's engine).
PROGRESS = """#7 [linux/amd64 build 2/2] RUN echo amd64 > /arch
#8 [linux/amd64->arm64 build 2/2] RUN echo arm64 > /arch
#8 DONE 0.1s
#9 [linux/arm64 stage-1 2/2] RUN uname -m > /m
#10 [linux/amd64 stage-1 2/2] COPY --from=build /arch /arch
"""


def test_run_steps_are_read_from_buildkits_own_step_names() -> None:
    steps = dockerfile_answers.run_steps(PROGRESS)
    assert [(s.ran_on, s.built_for) for s in steps] == [("linux/amd64", "linux/amd64"), ("linux/amd64", "linux/arm64"),
                                                       ("linux/arm64", "linux/arm64")]
    assert [s.command for s in dockerfile_answers.emulated(steps, "amd64")] == ["uname -m > /m"]
    assert dockerfile_answers.emulated(steps, "arm64")[0].ran_on == "linux/amd64"


@pytest.mark.parametrize(("dockerfile", "refused"), [
    ("# syntax=docker/dockerfile:1\nFROM busybox\n", "frontend"),
    ("#syntax = example.com/frontend\nFROM busybox\n", "frontend"),
    ("FROM busybox\nADD https://example.com/tool /tool\n", "remote source"),
    ("FROM busybox\nADD --chmod=755 git@github.com:o/r.git /src\n", "remote source"),
    ("FROM busybox\nRUN --network=host wget example.com\n", "--network=host"),
    ("FROM busybox\nRUN \\\n  --security=insecure id\n", "--security=insecure"),
    ("FROM busybox\n" + "RUN true\n" * 3000, "characters long"),
])
def test_a_dockerfile_that_would_fetch_or_run_what_was_not_asked_is_refused_before_building(dockerfile: str,
                                                                                          refused: str) -> None:
    assert refused in dockerfile_answers.refusal(dockerfile)


def test_only_busybox_scratch_and_its_own_stages_are_bases() -> None:
    stages = [dockerfile_answers.Stage("build", "busybox", "$BUILDPLATFORM"), dockerfile_answers.Stage("", "busybox", "")]
    assert dockerfile_answers.stage_refusal("COPY --from=build /a /a", stages) == ""
    assert dockerfile_answers.stage_refusal("COPY --from=0 /a /a", stages) == ""
    assert "alpine" in dockerfile_answers.stage_refusal("", [dockerfile_answers.Stage("", "alpine", "")])
    assert "nginx" in dockerfile_answers.stage_refusal("COPY --from=nginx /a /a", stages)
    assert "tool" in dockerfile_answers.stage_refusal("RUN --mount=type=bind,from=tool,target=/t true", stages)
    assert "no FROM line" in dockerfile_answers.stage_refusal("", [])


def test_quiz_json_lists_every_question(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["quiz", "--json"]) == 0
    listed = json.loads(capsys.readouterr().out)["questions"]
    assert len(listed) >= 12 and [q["id"] for q in listed] == [q.id for q in bank.QUESTIONS]
    assert all(set(q) >= {"id", "kind", "text"} and q["kind"] in KINDS for q in listed)
    assert not any(keyed(q).key in json.dumps(listed) for q in bank.QUESTIONS if q.kind in ("command", "dockerfile"))


@pytest.mark.parametrize(("answers", "code"), [
    (["q-why-one-install=b", "q-entry-count=4"], 0),
    (["q-why-one-install=b", "q-entry-count=3"], 1),
    (["q-why-one-install=z"], 1),
    (["q-entry-count"], 1),
    (["q-nope=1"], 1),
])
def test_quiz_answer_exits_0_only_when_every_answer_is_right(answers: list[str], code: int,
                                                            capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["quiz", "--answer", *answers]) == code
    out = capsys.readouterr().out
    assert out.count("[RIGHT]") == (len(answers) if code == 0 else out.count("[RIGHT]"))
    assert ("[WRONG]" in out or "[?]" in out) == (code == 1)


def test_quiz_answer_reads_a_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "answer").write_text("application/vnd.oci.image.index.v1+json\n")
    assert cli.main(["quiz", "--answer", f"q-index-media-type=@{tmp_path / 'answer'}"]) == 0
    assert "[RIGHT] q-index-media-type" in capsys.readouterr().out
    assert cli.main(["quiz", "--answer", f"q-print-platform=@{tmp_path / 'missing'}"]) == 1
    assert capsys.readouterr().out.startswith("[?] q-print-platform: cannot read ")


def test_quiz_key_is_for_instructors_and_holds_every_answer(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["quiz", "--key"]) == 0
    key = capsys.readouterr().out
    assert all(f"## {q.id} " in key and keyed(q).key in key for q in bank.QUESTIONS)
    learner = "".join(path.read_text() for path in nbtools.notebook_paths())
    assert not any(keyed(q).key in learner for q in bank.QUESTIONS if q.kind in ("command", "dockerfile"))


def test_the_key_is_refused_to_whoever_does_not_own_the_labs_folder(monkeypatch: pytest.MonkeyPatch,
                                                                    capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setattr(keys, "euid", lambda: keys.KEYS_FILE.stat().st_uid + 1)
    assert cli.main(["quiz", "--key"]) != 0
    said = capsys.readouterr()
    assert "for whoever owns the lab's folder" in said.out + said.err and "## q-" not in said.out


def test_no_file_of_the_learners_package_holds_a_key() -> None:
    """Every file under labkit/ is read (sealed.json included): no answer, accepted spelling, reason or misconception
    of a choice or value question is there in plain text, nor any model answer of a command or Dockerfile."""
    def read(folder: Path) -> str:
        return "\n".join(path.read_text(errors="replace") for path in sorted(folder.rglob("*"))
                         if path.is_file() and path.suffix in (".py", ".json", ".toml", ".txt", ".md", ".cfg"))

    package = read(nbtools.NOTEBOOKS.parent / "labkit")
    # An accepted spelling is a key where the questions are defined (the lab's code names some of them as constants).
    practice = (Path(bank.__file__).read_text() + Path(seal.SEALED_FILE).read_text())
    leaked = []
    for question in map(keyed, bank.QUESTIONS):
        if question.kind in ("command", "dockerfile"):
            leaked += [question.key] if question.key in package else []
        else:
            leaked += [text for text in (question.right, *question.misconceptions) if text and text in package]
            leaked += [spelling for spelling in question.accept if len(spelling) >= 6 and f'"{spelling}"' in practice]
    assert [text[:40] for text in leaked] == []


def test_the_sealed_answers_are_those_of_the_keys() -> None:
    """sealed.json was written from instructor/keys.toml as it is now (`make seal`): each accepted answer unseals
    its reason, each wrong letter its misconception, and nothing else is accepted."""
    sealed = seal.load()
    for question in OFFLINE:
        found = sealed[question.id]
        if question.kind == "choice":
            for number, letter in enumerate(question.letters()):
                right, said = found.check(question.id, {letter})
                assert (right, said) == ((True, question.right) if letter in question.accept
                                         else (False, question.misconceptions[number])), (question.id, letter)
        else:
            for spelling in question.accept:
                assert found.check(question.id, choice_answers.value_forms(question, spelling)) == (True, question.right)
            assert found.check(question.id, {"not-the-answer"}) == (False, "")


@pytest.mark.parametrize(("typed", "code", "said"), [
    ("a\nb\nq\n", 0, ["[WRONG] q-why-one-install (try 1)", "  hint:  ", "[RIGHT] q-why-one-install",
                      "[2/", "right: 1 of"]),
    ("a\n\nq\n", 1, ["[WRONG] q-why-one-install (try 1)", "still wrong: q-why-one-install"]),
    ("", 0, ["[1/", "right: 0 of"]),
])
def test_quiz_asks_one_question_at_a_time(typed: str, code: int, said: list[str], monkeypatch: pytest.MonkeyPatch,
                                          capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setattr("sys.stdin", io.StringIO(typed))
    assert cli.main(["quiz"]) == code
    out = capsys.readouterr().out
    assert all(line in out for line in said), out
    assert "[2/" not in out or "(b) the image store" in out.split("[2/")[0], "each question comes with its options"


def test_an_answer_cell_prints_feedback_and_never_raises(capsys: pytest.CaptureFixture[str],
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    import labkit.lab as nb
    from labkit import engines

    settings = Settings.from_env({"LABKIT_MODE": "sandbox"})
    engine = engines.choose(settings)
    lab = nb.Lab(settings, engine, engine.endpoints())  # choice and value answers need no engine to answer
    lab.answer("q-entry-count", ...)
    assert capsys.readouterr().out.startswith("[ ] q-entry-count: not answered yet.")
    lab.answer("q-entry-count", "4")
    lab.score("07")
    assert capsys.readouterr().out.splitlines()[-1] == "answered right: 1 of 15 (q-entry-count)"

    def broken(question_id: str, given: object) -> None:
        raise RuntimeError("a bug")

    monkeypatch.setattr(lab.practice, "answer", broken)
    lab.answer("q-entry-count", "4")
    assert capsys.readouterr().out.splitlines() == [
        "[?] q-entry-count: the lab could not check this answer (RuntimeError: a bug).",
        "  try: run the cell again; if it happens again, run `labkit status`."]


def test_quiz_says_a_fault_of_the_lab_in_two_lines(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    def broken(self: Session, question_id: str, given: object) -> None:
        raise KeyError("a bug")

    monkeypatch.setattr(Session, "answer", broken)
    assert cli.main(["quiz", "--answer", "q-entry-count=4"]) == 1
    assert capsys.readouterr().out.splitlines() == [
        "[?] q-entry-count: the lab could not check this answer (KeyError: 'a bug').",
        "  try: answer again; if it happens again, run `labkit status`."]


def test_an_answer_read_from_a_file_that_is_not_a_dockerfile_says_so(tmp_path: Path) -> None:
    (tmp_path / "binary").write_bytes(b"\xff\xfe\x00\x01" * 10)
    (tmp_path / "big").write_text("x" * (quiz.MAX_FILE + 1))
    for name, said in (("binary", "not UTF-8 text"), ("big", "larger than"), ("missing", "No such file"),
                       (".", "Is a directory")):
        feedback, _ = quiz.check_answers(Session(), [f"q-cross-stage=@{tmp_path / name}"])
        assert feedback[0].state == "unusable" and said in feedback[0].lines[0], feedback[0].lines


def test_the_score_counts_the_last_answer() -> None:
    session = Session()
    question = keyed(bank.BY_ID["q-entry-count"])
    assert session.answer(question.id, question.accept[0]).right
    assert session.score_line("07").startswith("answered right: 1 ")
    assert session.answer(question.id, "17").state == "wrong"
    assert session.score_line("07").startswith("answered right: 0 ")
