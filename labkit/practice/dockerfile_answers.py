"""Dockerfile answers, judged by what BuildKit reads and builds, not by their lines.

Before building, the lab refuses what would make BuildKit fetch or run something the question never asked for: a
frontend of its own (`# syntax=`), remote sources (`ADD https://…`, a git URL), another image (`FROM`, `COPY --from`,
`RUN --mount from=`), the host's network or an insecure RUN. Then BuildKit's own parser gives the stages
(`docker buildx build --call targets`), the build runs for each platform on the lab's multiarch engine (no network),
and what it pushed is read back: each entry's config platform against its descriptor, the machine code of every
program in its layers, where each RUN step ran (BuildKit's own step names: `[linux/amd64->arm64 build 2/2] RUN …` ran
on the build platform, `[linux/arm64 …] RUN …` under emulation), and what each platform's image prints.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path

from labkit.docker.commands import error_lines, run_docker
from labkit.docker.endpoints import Endpoints
from labkit.oci.platforms import same_platform
from labkit.oci.registry import Registry
from labkit.practice import pushed
from labkit.practice.command_answers import REPOSITORY, target, unset_for
from labkit.practice.model import Question, Verdict
from labkit.settings import host_debian_arch, oci_architecture
from labkit.steps.multiarch_build import run_image
from labkit.system import binfmt

BASES = {"busybox", "busybox:latest", "docker.io/library/busybox", "docker.io/library/busybox:latest", "scratch"}
CONTINUED = re.compile(r"\\[ \t]*\r?\n")
SYNTAX = re.compile(r"\A(?:\s*#[^\n]*\n)*?\s*#\s*syntax\s*=", re.IGNORECASE)
REMOTE = re.compile(r"^\s*ADD\s+(?:--\S+\s+)*(?:\S*://|git@)", re.IGNORECASE | re.MULTILINE)
FROM_OPTION = re.compile(r"(?:--from=|[\s,]from=)([^\s,]+)", re.IGNORECASE)
RUN_OPTION = re.compile(r"^\s*RUN\s+(?:--\S+\s+)*?--(network|security)=(\S+)", re.IGNORECASE | re.MULTILINE)
STEP = re.compile(r"^#\d+ \[([^\]]*)\] RUN (.*)$", re.MULTILINE)
MAX_DOCKERFILE = 16 * 1024


@dataclass(frozen=True)
class Stage:
    """One stage as BuildKit's parser reads it: its name (if any), its base and its FROM --platform (if any)."""

    name: str
    base: str
    platform: str


@dataclass(frozen=True)
class RunStep:
    """A RUN step as BuildKit named it in the build: the platform it ran on, and the platform it built for."""

    ran_on: str
    built_for: str
    command: str


def refusal(text: str) -> str:
    """What in the Dockerfile the lab will not build, because it would fetch or run what the question never asked
    for; '' when there is none."""
    if len(text) > MAX_DOCKERFILE:
        return f"It is {len(text)} characters long; the lab builds Dockerfiles of up to {MAX_DOCKERFILE}."
    joined = CONTINUED.sub(" ", text)
    if SYNTAX.search(joined):
        return "It names a frontend (`# syntax=`): BuildKit would pull that image; the lab builds with the engine's own."
    if REMOTE.search(joined):
        return "It ADDs a remote source (a URL or a git repository): the lab builds offline, from the build folder only."
    option = RUN_OPTION.search(joined)
    if option:
        return f"A RUN step asks for --{option.group(1)}={option.group(2)}: the lab's builds have no network and no insecure steps."
    return ""


def read_stages(endpoints: Endpoints, folder: Path) -> list[Stage] | str:
    """The stages BuildKit's parser finds (`docker buildx build --call targets,format=json`), or what it said."""
    listed = run_docker(endpoints, endpoints.multiarch_context,
                        ["buildx", "build", "--call", "targets,format=json", str(folder)], unset=unset_for({}))
    if not listed.succeeded:
        return (error_lines(listed.stderr) or ["(no message)"])[-1]
    targets = json.loads(listed.stdout[listed.stdout.index("{"):]).get("targets") or []
    return [Stage(str(t.get("name", "")), str(t.get("base", "")), str(t.get("platform", ""))) for t in targets]


def stage_refusal(text: str, stages: list[Stage]) -> str:
    """A base or `--from` the lab does not build from: only busybox, scratch and the Dockerfile's own stages."""
    if not stages:
        return "It has no FROM line: a Dockerfile starts from a base image (FROM busybox)."
    names = {stage.name.lower() for stage in stages if stage.name} | {str(number) for number in range(len(stages))}
    for number, stage in enumerate(stages, start=1):
        if stage.base.lower() not in BASES and stage.base.lower() not in names:
            return f"Stage {number} starts FROM {stage.base}: the lab builds offline, from busybox (or scratch, or an earlier stage)."
    for source in FROM_OPTION.findall(CONTINUED.sub(" ", text)):
        if source.lower() not in names:
            return f"It copies from {source}, which is not one of its stages: the lab pulls no other image."
    return ""


def run_steps(progress: str) -> list[RunStep]:
    """The RUN steps of a build, from BuildKit's step names in its plain progress (each once)."""
    steps: dict[tuple[str, str], RunStep] = {}
    for label, command in STEP.findall(progress):
        platform = label.split()[0] if label.split() and "/" in label.split()[0] else ""
        ran_on, _, built_for = platform.partition("->")
        if built_for and "/" not in built_for:
            built_for = f"{ran_on.split('/')[0]}/{built_for}"
        steps[(label, command)] = RunStep(ran_on, built_for or ran_on, command.strip())
    return list(steps.values())


def emulated(steps: list[RunStep], host: str) -> list[RunStep]:
    """The RUN steps that ran on a platform this machine does not run itself (under QEMU)."""
    return [step for step in steps if step.ran_on and not binfmt.native(step.ran_on, host)]


def _label_problem(registry: Registry, image: pushed.Image) -> str:
    """An entry whose config or machine code is not the platform its descriptor says; '' when all agree."""
    if not same_platform(image.config_platform, image.platform):
        return (f"Its {image.platform} entry has a config for {image.config_platform}: the index says one platform, "
                "the image another.")
    found = pushed.programs(registry, REPOSITORY, image)
    architecture = image.platform.split("/")[1]
    foreign = sorted({arch for arch in found.values() if arch != architecture})
    if foreign:
        path = next(path for path, arch in sorted(found.items()) if arch != architecture)
        return (f"Its {image.platform} entry (config platform {image.config_platform}) holds {', '.join(foreign)} "
                f"programs ({path}): it is labelled {architecture} but would run {foreign[0]} code.")
    return ""


def check_dockerfile(question: Question, answer: str, endpoints: Endpoints, workdir: Path) -> Verdict:
    """Refuse what must not be built; build for the question's platforms, push, and judge what was built."""
    assert question.task is not None
    task = question.task
    text = answer.strip("\n") + "\n"
    said = refusal(text)
    if said:
        return Verdict(False, f"Not built: {said}", usable=False)
    folder = workdir / "practice" / question.id
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "Dockerfile").write_text(text)
    stages = read_stages(endpoints, folder)
    if isinstance(stages, str):
        return Verdict(False, f"BuildKit cannot read it: {stages}")
    said = stage_refusal(text, stages)
    if said:
        return Verdict(False, f"Not built: {said}", usable=said.startswith("It has no FROM"))
    registry = Registry(endpoints.registry)
    ref = target(str(endpoints.registry), task)
    pushed.forget(registry, REPOSITORY, task.tag)
    build = ["buildx", "build", "--platform", ",".join(task.platforms), "--network", "none", "--progress", "plain",
             "-t", ref, "--push", str(folder)]
    result = run_docker(endpoints, endpoints.multiarch_context, build, unset=unset_for({}))
    if not result.succeeded:
        return Verdict(False, f"It does not build: {(error_lines(result.stderr) or ['(no message)'])[-1]}")
    found = pushed.read(registry, REPOSITORY, task.tag)
    if found is None:
        return Verdict(False, f"The build pushed nothing under {ref}.")
    for image in found.images:
        said = _label_problem(registry, image)
        if said:
            return Verdict(False, said)
    if task.native_stages:
        said = _structure_problem(stages, run_steps(result.stderr), oci_architecture(host_debian_arch()))
        if said:
            return Verdict(False, said)
    for platform, wanted in task.outputs:
        ran = run_image(endpoints, f"{ref}@{found.digest}", platform)
        printed = ran.stdout.strip()
        if not ran.succeeded:
            return Verdict(False, f"Its {platform} image does not run: {(error_lines(ran.stderr) or ['(no message)'])[-1]}")
        if printed != wanted:
            return Verdict(False, f"Its {platform} image prints {printed[:80]!r}, not {wanted!r}.")
    shown = ", ".join(f"{platform} prints {wanted}" for platform, wanted in task.outputs)
    return Verdict(True, f"Built and run: {shown}. {question.right}")


def _structure_problem(stages: list[Stage], steps: list[RunStep], host: str) -> str:
    """For a question that wants the RUN work on the build platform, in a stage before the final one."""
    if len(stages) < 2:
        return f"BuildKit reads {len(stages)} stage: the question asks for a build stage and a final `FROM busybox` stage."
    if stages[-1].base.lower() not in BASES - {"scratch"} or stages[-1].platform:
        return f"The final stage starts FROM {' --platform=' + stages[-1].platform if stages[-1].platform else ''}" \
               f"{stages[-1].base}: it must be `FROM busybox`, for each target platform."
    if not steps:
        return "No RUN step ran: the question asks for one in the first stage."
    foreign = emulated(steps, host)
    if foreign:
        step = foreign[0]
        return f"A RUN step ran on {step.ran_on}, under QEMU emulation: `{step.command[:60]}`."
    return ""
