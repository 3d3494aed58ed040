"""Dockerfile answers: read for what the question forbids, built for each platform on the lab's multiarch engine
(no network), pushed to the lab's registry, and each platform's image run."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from labkit.docker.commands import error_lines, run_docker
from labkit.docker.endpoints import Endpoints
from labkit.oci.registry import Registry
from labkit.practice import pushed
from labkit.practice.commands import REPOSITORY, target
from labkit.practice.model import Question, Verdict
from labkit.steps.multiarch_build import run_image

NATIVE = re.compile(r"--platform=\$(\{BUILDPLATFORM\}|BUILDPLATFORM\b)")


@dataclass(frozen=True)
class Stage:
    """One FROM and the instructions under it."""

    number: int
    from_line: str
    instructions: tuple[str, ...]


def stages(text: str) -> list[Stage]:
    """The Dockerfile's stages; continuation lines joined, comments and blank lines left out."""
    joined = re.sub(r"\\\s*\n", " ", text)
    lines = [line.strip() for line in joined.splitlines() if line.strip() and not line.strip().startswith("#")]
    found: list[Stage] = []
    for line in lines:
        word = line.split(None, 1)[0].upper()
        if word == "FROM":
            found.append(Stage(len(found) + 1, line, ()))
        elif found:
            last = found[-1]
            found[-1] = Stage(last.number, last.from_line, (*last.instructions, line))
    return found


def problem(text: str, native_stages: bool) -> str:
    """What makes the Dockerfile unfit before building it, or ''."""
    found = stages(text)
    if not found:
        return "It has no FROM line: a Dockerfile starts from a base image (FROM busybox)."
    if native_stages:
        for stage in found:
            runs = [i for i in stage.instructions if i.split(None, 1)[0].upper() == "RUN"]
            if runs and not NATIVE.search(stage.from_line):
                return (f"Stage {stage.number} ({stage.from_line}) has a RUN step and builds on the target platform: "
                        "for linux/arm64 on this machine that RUN runs under QEMU emulation.")
    return ""


def check_dockerfile(question: Question, answer: str, endpoints: Endpoints, workdir: Path) -> Verdict:
    """Build the Dockerfile for the question's platforms, push it, run each platform's image."""
    assert question.task is not None
    task = question.task
    text = answer.strip("\n") + "\n"
    said = problem(text, task.native_stages)
    if said:
        return Verdict(False, said)
    folder = workdir / "practice" / question.id
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "Dockerfile").write_text(text)
    registry = Registry(endpoints.registry)
    ref = target(str(endpoints.registry), task)
    pushed.forget(registry, REPOSITORY, task.tag)
    build = ["buildx", "build", "--platform", ",".join(task.platforms), "--network", "none", "-t", ref, "--push",
             str(folder)]
    result = run_docker(endpoints, endpoints.multiarch_context, build)
    if not result.succeeded:
        return Verdict(False, f"It does not build: {(error_lines(result.stderr) or ['(no message)'])[-1]}")
    found = pushed.read(registry, REPOSITORY, task.tag)
    if found is None:
        return Verdict(False, f"The build pushed nothing under {ref}.")
    for platform, wanted in task.outputs:
        ran = run_image(endpoints, f"{ref}@{found.digest}", platform)
        printed = ran.stdout.strip()
        if not ran.succeeded:
            return Verdict(False, f"Its {platform} image does not run: {(error_lines(ran.stderr) or ['(no message)'])[-1]}")
        if printed != wanted:
            return Verdict(False, f"Its {platform} image prints {printed!r}, not {wanted!r}.")
    shown = ", ".join(f"{platform} prints {wanted}" for platform, wanted in task.outputs)
    return Verdict(True, f"Built and run: {shown}. {question.right}")
