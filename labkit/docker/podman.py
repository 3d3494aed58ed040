"""Running one podman command through python-on-whales (`client_call=[podman]`), shown as the learner would type it.

podman speaks the docker CLI's language for what the lab asks of it (build, manifest, push); python-on-whales runs
it as it runs docker, so a failure is a result with the command, exit code, stdout and stderr.
"""

from __future__ import annotations

import shlex
from dataclasses import dataclass
from pathlib import Path

from python_on_whales import DockerClient, DockerException
from python_on_whales.utils import run

from labkit.results import CommandResult
from labkit.settings import RegistryAddress

CONTEXT = "podman"  # how a command run by podman is labelled: `[podman] $ podman build …`


@dataclass(frozen=True)
class Podman:
    """What the steps see of podman: the program to run (with the lab's configuration) and the registry to push to."""

    program: Path
    registry: RegistryAddress

    def client(self) -> DockerClient:
        """A python-on-whales client that runs this podman instead of docker."""
        return DockerClient(client_call=[str(self.program)])


def display(args: list[str], workdir: Path | None = None) -> str:
    """The command line as typed in the working folder: `podman …`, that folder shown as `.`."""
    return "podman " + shlex.join(["." if workdir is not None and arg == str(workdir) else arg for arg in args])


def run_podman(podman: Podman, args: list[str], workdir: Path | None = None) -> CommandResult:
    """Run `podman <args>`; a failure is a result, not an exception."""
    command = display(args, workdir)
    try:
        stdout, stderr = run(podman.client().docker_cmd + args, return_stderr=True)
    except DockerException as error:
        return CommandResult(CONTEXT, command, error.return_code, error.stdout or "", error.stderr or "")
    return CommandResult(CONTEXT, command, 0, stdout, stderr)
