"""The programs of the system the lab runs (apt, dpkg-deb, mount, nft, useradd, ldd, …): one way to run them, and one
error when one fails.

In the style of python-on-whales' `DockerException` and pip's `call_subprocess`: a failure carries the command as a
learner would type it, its exit code and the end of what it printed, and says what to try next. This is the one
module of the lab that starts a program; the docker CLI goes through python-on-whales (docker/commands.py).
"""

from __future__ import annotations

import shlex
import subprocess
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from labkit.errors import LabError

TAIL = 400  # how much of a failed command's output an error quotes, from its end


@dataclass(frozen=True)
class Ran:
    """What one program did: its command line, exit code and output (stderr is '' when it was merged into stdout)."""

    argv: tuple[str, ...]
    returncode: int
    stdout: str
    stderr: str

    @property
    def ok(self) -> bool:
        """True when the program exited with 0."""
        return self.returncode == 0

    @property
    def command(self) -> str:
        """The command as typed in a shell."""
        return shlex.join(self.argv)

    def tail(self, chars: int = TAIL) -> str:
        """The end of what it printed: its errors, or its output when it printed no error."""
        return (self.stderr.strip() or self.stdout.strip())[-chars:]


class CommandFailed(LabError):
    """A program the lab ran exited with an error: what the lab was doing, the command, its exit code, its output."""

    def __init__(self, ran: Ran, doing: str, next_step: str) -> None:
        super().__init__(f"{doing} failed: `{ran.command}` exited with {ran.returncode}: {ran.tail()}", next_step)
        self.ran = ran


def run(argv: Sequence[str], *, cwd: Path | None = None, env: Mapping[str, str] | None = None, stdin: str | None = None,
        merge: bool = False, progress: bool = False, timeout: float | None = None) -> Ran:
    """Run a program to its end and return what it did, whatever its exit code (127 when it is not installed).
    `merge` puts stderr into stdout, in order; `progress` shows its stdout as it comes, on this process's stderr."""
    try:
        done = subprocess.run(list(argv), cwd=cwd, env=None if env is None else dict(env), input=stdin, text=True,
                              stdout=2 if progress else subprocess.PIPE,
                              stderr=subprocess.STDOUT if merge else subprocess.PIPE, check=False, timeout=timeout)
    except FileNotFoundError:
        return Ran(tuple(argv), 127, "", f"{argv[0]}: command not found")
    return Ran(tuple(argv), done.returncode, done.stdout or "", done.stderr or "")


def check(argv: Sequence[str], doing: str, next_step: str, **options: object) -> Ran:
    """Run a program that must succeed: a CommandFailed (what the lab was `doing`, and `next_step`) when it does not."""
    ran = run(argv, **options)  # type: ignore[arg-type]
    if not ran.ok:
        raise CommandFailed(ran, doing, next_step)
    return ran


def output_bytes(argv: Sequence[str], doing: str, next_step: str) -> bytes:
    """What a program that must succeed writes to stdout, as bytes (an archive, say)."""
    try:
        done = subprocess.run(list(argv), capture_output=True, check=False)
    except FileNotFoundError:
        raise CommandFailed(Ran(tuple(argv), 127, "", f"{argv[0]}: command not found"), doing, next_step) from None
    if done.returncode != 0:
        raise CommandFailed(Ran(tuple(argv), done.returncode, "", done.stderr.decode(errors="replace")), doing, next_step)
    return done.stdout


def start(argv: Sequence[str], log: Path, env: Mapping[str, str] | None = None) -> int:
    """Start a program in the background, in a session of its own, its output appended to `log`; its pid."""
    with log.open("ab") as out:
        child = subprocess.Popen(list(argv), stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT,
                                 env=None if env is None else dict(env), start_new_session=True, close_fds=True)
    return child.pid
