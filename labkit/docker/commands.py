"""Running one docker command through python-on-whales, and showing it as the learner would type it."""

from __future__ import annotations

import shlex
from collections.abc import Iterator, Sequence
from contextlib import contextmanager, nullcontext
from contextvars import ContextVar
from pathlib import Path

from python_on_whales import DockerException
from python_on_whales.utils import run

from labkit.docker.endpoints import Endpoints
from labkit.results import CommandResult
from labkit.system.files import flocked

# Which builder is current is one file per config folder (buildx's `current`), and any buildx command run on another
# context resets it to that context (buildx v0.29.1 store/store.go, Txn.Current). A step that selects a builder and
# then relies on it holds this lock exclusively; every other buildx command (`docker build` is one) holds it shared.
BUILDER_SELECTION_LOCK = "labkit-builder-selection.lock"
_selecting = ContextVar("selecting", default=False)


@contextmanager
def builder_selection(endpoints: Endpoints) -> Iterator[None]:
    """Hold while a step selects a builder (`buildx create --use`) and builds with it: no other buildx command runs."""
    with flocked(endpoints.docker_config / BUILDER_SELECTION_LOCK):
        token = _selecting.set(True)
        try:
            yield
        finally:
            _selecting.reset(token)


def display(args: list[str], workdir: Path | None = None, env: dict[str, str] | None = None) -> str:
    """The command line as typed in the working folder: `[VAR=value] docker …`, that folder shown as `.`."""
    shown = ["." if workdir is not None and arg == str(workdir) else arg for arg in args]
    prefix = "".join(f"{name}={shlex.quote(value)} " for name, value in (env or {}).items())
    return prefix + "docker " + shlex.join(shown)


def run_docker(endpoints: Endpoints, context: str, args: list[str], workdir: Path | None = None,
               env: dict[str, str] | None = None, unset: Sequence[str] = ()) -> CommandResult:
    """Run `docker <args>` against a context; a failure is a result, not an exception.

    BuildKit's progress (timings, step numbers) is turned off: outputs stay stable.
    """
    command = display(args, workdir, env)
    uses_builder = bool(args) and args[0] in ("buildx", "build") and not _selecting.get()
    try:
        with flocked(endpoints.docker_config / BUILDER_SELECTION_LOCK, shared=True) if uses_builder else nullcontext():
            stdout, stderr = run(endpoints.client(context, unset).docker_cmd + args, return_stderr=True,
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


