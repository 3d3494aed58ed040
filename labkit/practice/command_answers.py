"""Command answers: a `docker build`, `docker buildx build` or `docker buildx imagetools create` command line, checked
before anything runs (no shell, only the options listed here, the tag the question names, the lab's own build
folder and registry), then run on the lab's multiarch engine; what it pushed is read back from the registry.
"""

from __future__ import annotations

import os
import re
import shlex
from dataclasses import dataclass
from pathlib import Path

from labkit.docker.commands import error_lines, run_docker
from labkit.docker.endpoints import Endpoints
from labkit.oci.platforms import same_platform
from labkit.oci.registry import Registry
from labkit.practice import pushed
from labkit.practice.model import Question, Task, Verdict

REPOSITORY = "practice"  # every practice answer pushes to REGISTRY/practice:TAG
# Variables a learner may put before `docker` (nothing else of their environment is passed).
ENVIRONMENT = ("BUILDX_NO_DEFAULT_ATTESTATIONS", "SOURCE_DATE_EPOCH")
BUILD_VALUES = {"--platform", "-t", "--tag", "--provenance", "--sbom", "--attest", "-o", "--output", "--progress",
                "--build-arg", "--label", "--annotation", "-f", "--file", "--network"}
BUILD_SWITCHES = {"--push", "--pull", "--no-cache", "-q", "--quiet"}
CREATE_VALUES = {"-t", "--tag", "--annotation", "--progress", "-p", "--platform"}
CREATE_SWITCHES = {"--prefer-index", "--dry-run", "--append"}
OUTPUT_KEYS = {"type", "name", "push", "oci-mediatypes", "rewrite-timestamp", "compression", "force-compression"}
VARIABLE = re.compile(r"\$\{REGISTRY\}|\$REGISTRY\b")
# What the kernel's own environment must not decide for an answer: the variables buildx and BuildKit read.
READ_BY_BUILDS = re.compile(r"(BUILDX_|BUILDKIT_|DOCKER_DEFAULT_PLATFORM$|DOCKER_BUILDKIT$|SOURCE_DATE_EPOCH$)")
# Build args that make BuildKit pull or run an image of their own: a frontend, an SBOM scanner.
PULLING_ARGS = ("BUILDKIT_SYNTAX", "BUILDKIT_SBOM_SCAN_CONTEXT", "BUILDKIT_SBOM_SCAN_STAGE")
MAX_COMMAND = 2000


class Refused(Exception):
    """The command is not one the lab runs for this question; the message says why."""


@dataclass(frozen=True)
class Parsed:
    """A validated answer: the docker arguments to run, the environment before them, the build folder used."""

    args: list[str]
    env: dict[str, str]


def unset_for(given: dict[str, str]) -> tuple[str, ...]:
    """The variables an answer's docker runs without: every variable builds read that this process has and the answer
    does not set before `docker`, so that what the kernel or shell exported (BUILDX_NO_DEFAULT_ATTESTATIONS, say)
    decides nothing."""
    return tuple(sorted(name for name in os.environ if READ_BY_BUILDS.match(name) and name not in given))


def target(registry: str, task: Task) -> str:
    """The reference the answer must push: REGISTRY/practice:TAG."""
    return f"{registry}/{REPOSITORY}:{task.tag}"


def _split_option(token: str) -> tuple[str, str | None]:
    if token.startswith("--") and "=" in token:
        name, value = token.split("=", 1)
        return name, value
    return token, None


def _check_output(value: str, wanted: str) -> None:
    pairs = {name: setting for name, _, setting in (part.partition("=") for part in value.split(","))}
    unknown = sorted(set(pairs) - OUTPUT_KEYS)
    if unknown:
        raise Refused(f"--output with {', '.join(unknown)}: the lab runs only registry and image outputs "
                      "(type, name, push, oci-mediatypes, rewrite-timestamp, compression).")
    if pairs.get("type") not in ("registry", "image"):
        raise Refused("--output type= must be registry or image here: the lab reads the answer back from its registry.")
    if "name" in pairs and pairs["name"] != wanted:
        raise Refused(f"--output name= must be {wanted}, the tag the question names.")


def _check_value(option: str, value: str, wanted: str) -> None:
    if option in ("-t", "--tag") and value != wanted:
        raise Refused(f"Tag it {wanted} ($REGISTRY/{wanted.split('/', 1)[1]}), as the question asks: the lab inspects that tag.")
    if option in ("-o", "--output"):
        _check_output(value, wanted)
    if option in ("-f", "--file") and value not in ("Dockerfile", "./Dockerfile"):
        raise Refused("The build uses the lab's Dockerfile (step 1): leave -f out, or write -f Dockerfile.")
    if option == "--network" and value not in ("none", "default"):
        raise Refused("--network must be none or default: the lab's builds never use the host's network.")
    if option == "--sbom" and value.lower() not in ("false", "0"):
        raise Refused("--sbom makes BuildKit pull and run an SBOM scanner image; the lab builds offline (--sbom=false).")
    if option == "--attest" and ("generator=" in value or not value.startswith("type=provenance")):
        raise Refused("--attest takes type=provenance here: an SBOM attestation pulls and runs a scanner image.")
    if option == "--build-arg" and value.split("=", 1)[0].upper() in PULLING_ARGS:
        raise Refused(f"--build-arg {value.split('=', 1)[0]} makes BuildKit pull an image of its own; the lab does not.")


def parse(answer: str, task: Task, registry: str) -> Parsed:
    """The docker arguments of a command answer, or Refused with the reason it will not be run."""
    if len(answer) > MAX_COMMAND:
        raise Refused(f"It is {len(answer)} characters long; a command answer is one command line.")
    joined = re.sub(r"\\[ \t]*\r?\n", " ", answer)  # a shell's backslash-newline continues the line
    if "\n" in joined.strip():
        raise Refused("It spans several lines: write one command (end a line with \\ to continue it).")
    expanded = VARIABLE.sub(registry, joined.strip().removeprefix("$ "))
    try:
        tokens = shlex.split(expanded)
    except ValueError as error:
        raise Refused(f"It does not read as one command line ({error}).") from None
    env: dict[str, str] = {}
    while tokens and re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*=.*", tokens[0]):
        name, value = tokens.pop(0).split("=", 1)
        if name not in ENVIRONMENT:
            raise Refused(f"{name}= is not a variable the lab passes; it passes {', '.join(ENVIRONMENT)}.")
        env[name] = value
    if not tokens or tokens[0] != "docker":
        raise Refused("Write a docker command: it starts with `docker`, and the lab runs nothing else.")
    words = tokens[1:]
    command = next((c for c in sorted(task.commands, key=len, reverse=True) if tuple(words[: len(c)]) == c), None)
    if command is None:
        allowed = " or ".join(f"`docker {' '.join(c)}`" for c in task.commands)
        raise Refused(f"This question takes {allowed}; the lab runs nothing else.")
    creating = command == ("buildx", "imagetools", "create")
    values, switches = (CREATE_VALUES, CREATE_SWITCHES) if creating else (BUILD_VALUES, BUILD_SWITCHES)
    wanted = target(registry, task)
    rest, args, positional = words[len(command):], list(command), []
    while rest:
        token = rest.pop(0)
        option, inline = _split_option(token)
        if option in switches:
            args.append(token)
        elif option in values:
            if inline is None and not rest:
                raise Refused(f"{option} needs a value.")
            value = rest.pop(0) if inline is None else inline
            _check_value(option, value, wanted)
            args += [option, value]
        elif token.startswith("-"):
            raise Refused(f"{option} is not an option the lab runs for this question.")
        else:
            positional.append(token)
    if creating:
        outside = [source for source in positional if not source.startswith(f"{registry}/")]
        if not positional or outside:
            raise Refused(f"The sources must be images in the lab's registry ($REGISTRY/…){': not ' + outside[0] if outside else ''}.")
        return Parsed(args + positional, env)
    if positional not in (["."], ["./"]):
        raise Refused("Build the lab's build folder: end the command with `.` (one build context, nothing else).")
    return Parsed(args + positional, env)


def _prepare_sources(endpoints: Endpoints, workdir: Path, task: Task) -> None:
    """Push the single-platform images an assembling answer starts from, when they are not in the registry."""
    registry = Registry(endpoints.registry)
    for tag, platform in task.sources:
        if registry.get_manifest(REPOSITORY, tag) is None:
            ref = f"{endpoints.registry}/{REPOSITORY}:{tag}"
            run_docker(endpoints, endpoints.multiarch_context,
                       ["buildx", "build", "--platform", platform, "-t", ref, "--push", str(workdir)])


def inspect(found: pushed.Pushed | None, task: Task, wanted: str, registry: Registry) -> Verdict:
    """Whether what the tag holds is what the question asks for; the first difference, said plainly."""
    if found is None:
        return Verdict(False, f"Nothing was pushed under {wanted}: the result stayed on the engine (add --push).")
    if not found.is_index:
        return Verdict(False, f"{wanted} is one image ({found.platforms()[0]}), not an index of several.")
    platforms = sorted(found.platforms())
    if len(platforms) != len(task.platforms) or not all(map(same_platform, platforms, sorted(task.platforms))):
        return Verdict(False, f"The index holds images for {', '.join(platforms)}; the question asks for exactly "
                              f"{', '.join(task.platforms)}.")
    if task.attestations is False and found.attestations:
        return Verdict(False, f"The index also lists {found.attestations} attestation entries (unknown/unknown).")
    for tag, platform in task.sources:
        source = pushed.read(registry, REPOSITORY, tag)
        digests = {image.digest for image in source.images} if source is not None else set()
        mine = next(image.digest for image in found.images if same_platform(image.platform, platform))
        if mine not in digests:
            return Verdict(False, f"Its {platform} entry is not the image under {REPOSITORY}:{tag}: it was rebuilt, "
                                  "not assembled from the pushed image.")
    extra = f" (and {found.attestations} attestation entries)" if found.attestations else ""
    return Verdict(True, f"It pushed an index of {', '.join(found.platforms())}{extra}.")


def check_command(question: Question, answer: str, endpoints: Endpoints, workdir: Path) -> Verdict:
    """Validate the command, run it on the multiarch engine, read back what it pushed."""
    assert question.task is not None
    task = question.task
    registry = Registry(endpoints.registry)
    try:
        parsed = parse(answer, task, str(endpoints.registry))
    except Refused as refused:
        return Verdict(False, f"Not run: {refused}", usable=False)
    wanted = target(str(endpoints.registry), task)
    pushed.forget(registry, REPOSITORY, task.tag)  # first: an index equal to a source shares its digest, and its fate
    _prepare_sources(endpoints, workdir, task)
    args = list(parsed.args)
    if args[:3] != ["buildx", "imagetools", "create"]:
        args[-1] = str(workdir)  # the build context, `.`: the lab's build folder
        args = [str(workdir / "Dockerfile") if before in ("-f", "--file") else arg  # -f Dockerfile: the lab's
                for before, arg in zip(["", *args[:-1]], args, strict=True)]
    result = run_docker(endpoints, endpoints.multiarch_context, args, workdir, parsed.env, unset_for(parsed.env))
    if not result.succeeded:
        said = (error_lines(result.stderr) or ["(no message)"])[0]
        return Verdict(False, f"The command failed (exit {result.return_code}): {said}")
    verdict = inspect(pushed.read(registry, REPOSITORY, task.tag), task, wanted, registry)
    return Verdict(True, f"{verdict.why} {question.right}") if verdict.right else verdict
