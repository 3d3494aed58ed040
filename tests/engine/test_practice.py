"""Command and Dockerfile answers, right and wrong, run for real on the sandbox and read back from its registry;
`labkit quiz --answer` with a command; the challenge checked in an incomplete, then a complete, registry state, done
by hand in a shell set up by `labkit env multiarch`."""

from __future__ import annotations

import subprocess

import pytest

from labkit.docker.endpoints import Endpoints
from labkit.practice import bank, challenge
from labkit.practice.model import Question
from labkit.practice.tries import Session, Workspace
from labkit.settings import Settings
from labkit.steps import dockerfile
from tests.support.keys import keyed
from tests.support.runs import labkit_argv, run_labkit, sandbox_env

ENGINE_KINDS = [keyed(q) for q in bank.QUESTIONS if q.kind in ("command", "dockerfile")]
# An answer of each engine-checked question that runs and pushes something, but not what the question asks for.
WRONG = {
    "q-push-exact": ("docker buildx build --platform linux/amd64,linux/arm64 -t $REGISTRY/practice:two --push .",
                     "The index holds images for linux/amd64, linux/arm64; the question asks for exactly linux/amd64, "
                     "linux/arm/v7."),
    "q-ci-ready": ("docker buildx build --platform linux/amd64,linux/arm64 -t $REGISTRY/practice:ci-ready --push .",
                   "The index also lists 2 attestation entries (unknown/unknown)."),
    "q-no-attestations": ("docker build --platform linux/amd64,linux/arm64 -t $REGISTRY/practice:plain --push .",
                          "The index also lists 2 attestation entries (unknown/unknown)."),
    "q-stitch": ("docker buildx imagetools create -t $REGISTRY/practice:stitched $REGISTRY/practice:stitch-amd64",
                 "The index holds images for linux/amd64; the question asks for exactly linux/amd64, linux/arm64."),
    "q-print-platform": ('FROM busybox\nCMD ["echo", "hi"]', "Its linux/amd64 image prints 'hi', not 'linux/amd64'."),
    "q-cross-stage": ('FROM --platform=$BUILDPLATFORM busybox AS build\nARG TARGETPLATFORM\n'
                      'RUN echo "$TARGETPLATFORM" > /arch\nFROM busybox\nCOPY --from=build /arch /arch\nCMD ["cat", "/arch"]',
                      "Its linux/amd64 image prints 'linux/amd64', not 'amd64'."),
}


@pytest.fixture(scope="module")
def session(endpoints: Endpoints, settings: Settings) -> Session:
    dockerfile.write(settings.work_dir)
    return Session(lambda: Workspace(endpoints, settings.work_dir))


def test_every_engine_checked_question_has_a_wrong_answer_here() -> None:
    assert sorted(WRONG) == sorted(q.id for q in ENGINE_KINDS)


@pytest.mark.parametrize("question", ENGINE_KINDS, ids=lambda q: q.id)
def test_an_answer_run_on_the_engine_is_judged_by_what_it_pushed(question: Question, session: Session) -> None:
    answer, why = WRONG[question.id]
    wrong = session.answer(question.id, answer)
    assert wrong.lines == (f"[WRONG] {question.id} (try 1)", f"  why:   {why}",
                           f"  see:   {'; '.join(p.where() for p in question.proof)}", f"  hint:  {question.hint}")
    right = session.answer(question.id, question.key)
    assert right.right and right.lines[0] == f"[RIGHT] {question.id}", right.lines
    assert question.right in right.lines[1] and right.lines[2].startswith("  proof: ")


def test_a_right_push_left_in_the_registry_does_not_pass_the_next_answer(session: Session) -> None:
    assert session.answer("q-push-exact", keyed(bank.BY_ID["q-push-exact"]).key).right
    kept = session.answer("q-push-exact", "docker buildx build --platform linux/amd64,linux/arm/v7 -t $REGISTRY/practice:two .")
    assert kept.state == "wrong" and "Nothing was pushed under" in kept.lines[1]


def test_quiz_answer_runs_a_command_and_exits_0_when_it_is_right() -> None:
    done = run_labkit("quiz", "--answer", f"q-push-exact={keyed(bank.BY_ID['q-push-exact']).key}", "q-entry-count=4",
                      env=sandbox_env())
    assert done.returncode == 0 and done.stdout.count("[RIGHT]") == 2, done.stdout + done.stderr
    refused = run_labkit("quiz", "--answer", "q-push-exact=docker buildx build -t $REGISTRY/practice:two --push . && id",
                         env=sandbox_env())
    assert refused.returncode == 1 and "Not run:" in refused.stdout


def _shell(*commands: str) -> subprocess.CompletedProcess[str]:
    """Commands typed in a shell set up for the challenge, as the learner does it."""
    env_line = " ".join(labkit_argv("env", "multiarch"))
    script = "\n".join(["set -e", f'eval "$({env_line})"', 'cd "$LAB_WORKDIR"', *commands])
    return subprocess.run(["bash", "-c", script], env=sandbox_env(), capture_output=True, text=True, timeout=300, check=False)


def test_labkit_env_multiarch_sets_the_shell_up_for_the_challenge() -> None:
    done = run_labkit("env", "multiarch", env=sandbox_env())
    assert done.returncode == 0 and f"challenge: {challenge.TITLE}" in done.stderr
    names = [line.split("=")[0].removeprefix("export ") for line in done.stdout.splitlines() if line.startswith("export ")]
    assert names == ["PATH", "DOCKER_CONFIG", "DOCKER_CONTEXT", "REGISTRY", "CHALLENGE", "LAB_WORKDIR"]
    classic = run_labkit("env", "classic", env=sandbox_env())
    assert classic.returncode == 0 and "CHALLENGE" not in classic.stdout and classic.stderr == ""


def test_check_challenge_says_what_is_missing_then_that_it_is_complete() -> None:
    build = "docker buildx build -q --platform {platform} -t $CHALLENGE:{tag} --push . >/dev/null"
    wrong = _shell(build.format(platform="linux/amd64", tag="amd64"),
                   "docker buildx imagetools create -t $CHALLENGE:arm64 $CHALLENGE:amd64 2>/dev/null",
                   build.format(platform="linux/amd64", tag="multi"))
    assert wrong.returncode == 0, wrong.stderr
    incomplete = run_labkit("check", "challenge", env=sandbox_env())
    lines = incomplete.stdout.splitlines()
    assert incomplete.returncode == 1, incomplete.stdout + incomplete.stderr
    assert lines[1].startswith("[OK] ") and lines[1].endswith("/challenge:amd64 is one image, for linux/amd64 only")
    assert lines[2].endswith("/challenge:arm64 is one image, for linux/arm64 only") and lines[2].startswith("[MISSING]")
    assert "it holds linux/amd64: build it with --platform linux/arm64 only" in lines[3]
    assert "[MISSING] its images are exactly linux/amd64 and linux/arm64" in lines
    assert lines[-1] == "3 of 6 done; still missing above."
    done = _shell(build.format(platform="linux/arm64", tag="arm64"),
                  "docker buildx imagetools create -t $CHALLENGE:multi $CHALLENGE:amd64 $CHALLENGE:arm64 2>/dev/null")
    assert done.returncode == 0, done.stderr
    complete = run_labkit("check", "challenge", env=sandbox_env())
    assert complete.returncode == 0 and complete.stdout.splitlines()[-1] == "6 of 6 done: complete.", complete.stdout
    assert "[MISSING]" not in complete.stdout
