"""Background processes the lab starts, tracked by pid file; it never signals a process it did not start."""

from __future__ import annotations

import os
import signal
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from labkit.system import run

# Starts the service in its own session and prints its pid, then exits, so the
# service is never a child of the (possibly long-lived) Python process that asked.
_LAUNCHER = """
import subprocess, sys
log = open(sys.argv[1], "ab")
child = subprocess.Popen(sys.argv[2:], stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
                         start_new_session=True, close_fds=True)
print(child.pid)
"""


@dataclass(frozen=True)
class ProcessSpec:
    """How to start one service, and where its pid file and log live."""

    name: str
    argv: tuple[str, ...]
    env: tuple[tuple[str, str], ...]
    pid_file: Path
    log_file: Path


PROC = Path("/proc")


def pids(proc: Path = PROC) -> list[int]:
    """Every process's pid, from /proc (some may end while the caller reads them)."""
    return [int(entry.name) for entry in proc.iterdir() if entry.name.isdigit()]


def argv_of(pid: int, proc: Path = PROC) -> list[str]:
    """A process's command line, word by word, from /proc ([] once it has ended, or for a kernel thread)."""
    try:
        raw = (proc / str(pid) / "cmdline").read_bytes()
    except OSError:
        return []
    return [part.decode(errors="replace") for part in raw.split(b"\0") if part]


def command_line(pid: int, proc: Path = PROC) -> str:
    """A process's command line as one string, its words joined by spaces ('' once it has ended)."""
    return " ".join(argv_of(pid, proc))


def net_namespace(pid: int, proc: Path = PROC) -> str:
    """The network namespace a process is in, as /proc names it (`net:[4026531840]`; '' once it has ended)."""
    try:
        return os.readlink(proc / str(pid) / "ns" / "net")
    except OSError:
        return ""


def is_alive(pid: int) -> bool:
    """True for a live process (a zombie counts as gone)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


def _find_by_argv(argv: list[str]) -> int | None:
    """A live process started with exactly this command line (the lab's own paths are in it)."""
    return next((pid for pid in pids() if argv_of(pid) == argv and is_alive(pid)), None)


def owned_pid(spec: ProcessSpec) -> int | None:
    """The live process of this service: by its pid file, else by its exact command line (the pid file is rewritten).

    A pid file naming a dead or foreign process is stale and removed; that process is never signalled.
    """
    try:
        pid = int(spec.pid_file.read_text().strip())
        if is_alive(pid) and argv_of(pid) == list(spec.argv):
            return pid
    except (OSError, ValueError):  # missing, unreadable or corrupt: look for the process itself
        pass
    spec.pid_file.unlink(missing_ok=True)
    orphan = _find_by_argv(list(spec.argv))
    if orphan is not None:  # its pid file was lost (a crash, or its folder removed): adopt it
        spec.pid_file.parent.mkdir(parents=True, exist_ok=True)
        spec.pid_file.write_text(f"{orphan}\n")
    return orphan


def start(spec: ProcessSpec) -> int:
    """Start the service detached, record its pid, and return it."""
    spec.log_file.parent.mkdir(parents=True, exist_ok=True)
    spec.pid_file.parent.mkdir(parents=True, exist_ok=True)
    launched = run.check([sys.executable, "-c", _LAUNCHER, str(spec.log_file), *spec.argv], f"Starting the {spec.name}",
                         f"Read {spec.log_file}, then try again.", env=dict(spec.env))
    pid = int(launched.stdout.strip())
    spec.pid_file.write_text(f"{pid}\n")
    return pid


def stop(spec: ProcessSpec, timeout: float = 20.0) -> bool:
    """Stop the service by its recorded pid (TERM, then KILL); False when it was not running."""
    pid = owned_pid(spec)
    if pid is None:
        return False
    os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + timeout
    while is_alive(pid) and time.monotonic() < deadline:
        time.sleep(0.05)
    if is_alive(pid):
        os.kill(pid, signal.SIGKILL)
        while is_alive(pid):
            time.sleep(0.05)
    spec.pid_file.unlink(missing_ok=True)
    return True


def log_tail(spec: ProcessSpec, lines: int = 5) -> str:
    """The last lines of the service's log, for error messages."""
    try:
        text = spec.log_file.read_text(errors="replace")
    except OSError:
        return "(no log)"
    return "\n".join(text.strip().splitlines()[-lines:])
