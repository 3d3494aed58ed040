"""Running one docker command through python-on-whales, and showing it as the learner would type it."""

from __future__ import annotations

import shlex
from pathlib import Path

from python_on_whales import DockerException
from python_on_whales.utils import run

from labkit.docker.endpoints import Endpoints
from labkit.results import CommandResult


def display(args: list[str], workdir: Path | None = None, env: dict[str, str] | None = None) -> str:
    """The command line as typed in the working folder: `[VAR=value] docker …`, that folder shown as `.`."""
    shown = ["." if workdir is not None and arg == str(workdir) else arg for arg in args]
    prefix = "".join(f"{name}={shlex.quote(value)} " for name, value in (env or {}).items())
    return prefix + "docker " + shlex.join(shown)


def run_docker(endpoints: Endpoints, context: str, args: list[str], workdir: Path | None = None,
               env: dict[str, str] | None = None) -> CommandResult:
    """Run `docker <args>` against a context; a failure is a result, not an exception.

    BuildKit's progress (timings, step numbers) is turned off: outputs stay stable.
    """
    command = display(args, workdir, env)
    try:
        stdout, stderr = run(endpoints.client(context).docker_cmd + args, return_stderr=True,
                             env={**(env or {}), "BUILDKIT_PROGRESS": "quiet"})
    except DockerException as error:
        return CommandResult(context, command, error.return_code, error.stdout or "", error.stderr or "")
    return CommandResult(context, command, 0, stdout, stderr)


def error_lines(stderr: str) -> list[str]:
    """The message of a failed command: from its last `ERROR`/`Error` line on, without BuildKit progress.

    A `DEPRECATED:` banner the CLI printed first (the legacy builder's) is kept, with its indented lines: it is
    evidence of which builder ran.
    """
    lines = [line.rstrip() for line in stderr.splitlines() if line.strip()]
    banner: list[str] = []
    if lines and lines[0].startswith("DEPRECATED"):
        banner = [lines[0]] + [line for line in _indented_after(lines, 0)]
    starts = [number for number, line in enumerate(lines) if line.startswith(("ERROR", "Error"))]
    if starts:
        return banner + lines[starts[-1]:]
    return banner + [line for line in lines[len(banner):] if not line.startswith(("#", " "))]


def _indented_after(lines: list[str], first: int) -> list[str]:
    """The indented lines that continue lines[first]."""
    found = []
    for line in lines[first + 1:]:
        if not line.startswith(" "):
            break
        found.append(line)
    return found


def builder_line(stderr: str) -> str:
    """BuildKit's `#0 building with "NAME" instance using DRIVER driver` line of a plain-progress build, or ''.

    buildx prints it once it has chosen a builder and starts building; a build refused before that has none.
    """
    return next((line.strip() for line in stderr.splitlines() if line.startswith("#0 building with ")), "")
