"""Every variant: the experiment's image built and pushed for every platform of its base image, each variant run.

What `uname -m` prints comes from the container; which emulator ran it comes from the machine's binfmt_misc,
matched against the first bytes of the variant's own `/bin/busybox` (read from its layer in the registry), as the
kernel matches them.
"""

from __future__ import annotations

import os
from pathlib import Path

from labkit.docker.commands import run_docker
from labkit.docker.endpoints import Endpoints
from labkit.errors import LabError
from labkit.experiment import REPOSITORY
from labkit.oci import layout
from labkit.oci.index import IndexReport
from labkit.oci.registry import Registry
from labkit.results import CommandResult, PlatformPull, PushResult, VariantRun
from labkit.steps import inspect_index, multiarch_build
from labkit.system import binfmt

EVERY_TAG = "every"
EXEC_FORMAT = "exec format error"  # what the kernel's ENOEXEC reads as, when no entry runs a foreign binary
BUSYBOX = "bin/busybox"  # every applet of the base image (`uname` included) is a link to it
# What the engine warns when `docker run` without `--platform` creates a container from an image of another platform
# (moby v28.5.2 daemon/create.go); the host's platform the warning names differs from machine to machine.
PLATFORM_WARNING = "does not match the detected host platform"
PICKED = ["image", "inspect", "--format", "{{.Os}}/{{.Architecture}}"]


def build_every(endpoints: Endpoints, workdir: Path, platforms: tuple[str, ...], tag: str = EVERY_TAG) -> PushResult:
    """`docker buildx build --platform <every platform> -t REGISTRY/demo:TAG --push .` with the experiment's Dockerfile."""
    return multiarch_build.build_and_push(endpoints, workdir, platforms=platforms, tag=tag)


def variant_file(endpoints: Endpoints, report: IndexReport, platform: str, name: str = BUSYBOX) -> bytes:
    """One file of one variant, read from its layers in the registry (the top layer that holds it)."""
    entry = next((e for e in report.entries if e.kind == "image" and e.platform == platform), None)
    if entry is None:
        raise LabError(f"{report.image_ref} has no variant for {platform}.",
                       f"Use one of: {', '.join(report.platforms())}.")
    registry = Registry(endpoints.registry)
    repository = report.image_ref.split("/", 1)[1].rsplit(":", 1)[0]
    for layer in reversed(entry.layers):
        found = layout.file_in_layer(registry.get_blob(repository, layer.digest), name)
        if found is not None:
            return found
    raise LabError(f"The {platform} variant of {report.image_ref} has no /{name}.", "Build it FROM busybox.")


def run_every(endpoints: Endpoints, ref: str, tag: str = EVERY_TAG, fix: str = "") -> list[VariantRun]:
    """`docker run --platform P IMAGE uname -m` for every variant, with the binfmt_misc entry that ran each; a variant
    the kernel refused names the emulator it needed, and `fix`, the command that adds it."""
    report = inspect_index.read_index(endpoints, REPOSITORY, tag)
    registered = binfmt.entries()
    runs = []
    for platform in report.platforms():
        result = multiarch_build.run_image(endpoints, ref, platform, ("uname", "-m"))
        header = variant_file(endpoints, report, platform)[:64]
        entry = binfmt.interpreter_for(header, registered)
        interpreter = os.path.realpath(entry.interpreter) if entry else ""
        refused = not result.succeeded and (EXEC_FORMAT in (result.stdout + result.stderr).lower()
                                             or (entry is not None and not entry.fix_binary))
        missing = binfmt.emulator_for(platform) if refused else ""
        runs.append(VariantRun(platform, binfmt.elf_machine(header), result.stdout.strip(), entry.name if entry else "",
                               entry.flags if entry else "", interpreter, result, missing, fix if missing else ""))
    return runs


def run_default(endpoints: Endpoints, ref: str) -> tuple[CommandResult, CommandResult]:
    """`docker run IMAGE uname -m` with no `--platform`, and the platform of the image the engine picked."""
    run = run_docker(endpoints, endpoints.multiarch_context, ["run", "--rm", "--network", "none", ref, "uname", "-m"])
    picked = run_docker(endpoints, endpoints.multiarch_context,
                        ["image", "inspect", "--format", "{{.Os}}/{{.Architecture}}", ref])
    return run, picked


def pull_then_run(endpoints: Endpoints, context: str, ref: str, platform: str = "linux/arm64") -> PlatformPull:
    """`docker pull --platform PLATFORM IMAGE`, then `docker run IMAGE uname -m` with no `--platform`, on one engine;
    then the tag put back as it was when the pull moved it (removed when the engine had no such tag before)."""
    before = run_docker(endpoints, context, [*PICKED, ref])
    pull = run_docker(endpoints, context, ["pull", "--quiet", "--platform", platform, ref])
    run = run_docker(endpoints, context, ["run", "--rm", "--network", "none", ref, "uname", "-m"])
    picked = run_docker(endpoints, context, [*PICKED, ref])
    was = before.stdout.strip() if before.succeeded else ""
    restore = None
    if picked.stdout != before.stdout:
        restore = run_docker(endpoints, context, ["pull", "--quiet", "--platform", was, ref] if was
                             else ["image", "rm", ref])
    return PlatformPull(ref, platform, was, pull, run, PLATFORM_WARNING in run.stderr, picked, restore)
