"""Pid files: a stale one is removed, a live one is kept only when its process is the service.

Only processes started by these tests are used; none is signalled except our own `sleep`.
"""

import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from labkit.system.processes import ProcessSpec, is_alive, owned_pid

SLEEP = shutil.which("sleep") or "/bin/sleep"


def _spec(tmp_path: Path, argv: tuple[str, ...]) -> ProcessSpec:
    return ProcessSpec("svc", argv, (), tmp_path / "svc" / "pid", tmp_path / "svc" / "log")


@pytest.fixture
def sleeper() -> Iterator[subprocess.Popen[bytes]]:
    process = subprocess.Popen([SLEEP, "30"])
    try:
        yield process
    finally:
        process.kill()
        process.wait()


def _dead_pid() -> int:
    process = subprocess.Popen([SLEEP, "0"])
    process.wait()
    return process.pid


def test_missing_pid_file_means_not_running(tmp_path: Path) -> None:
    assert owned_pid(_spec(tmp_path, (SLEEP, "30"))) is None


def test_dead_pid_is_stale_and_its_file_is_removed(tmp_path: Path) -> None:
    spec = _spec(tmp_path, (SLEEP, "30"))
    pid = _dead_pid()
    assert not is_alive(pid)
    spec.pid_file.parent.mkdir(parents=True)
    spec.pid_file.write_text(f"{pid}\n")
    assert owned_pid(spec) is None
    assert not spec.pid_file.exists()


def test_live_process_that_is_not_the_service_is_stale(tmp_path: Path, sleeper: subprocess.Popen[bytes]) -> None:
    spec = _spec(tmp_path, (SLEEP, "31"))
    spec.pid_file.parent.mkdir(parents=True)
    spec.pid_file.write_text(f"{sleeper.pid}\n")
    assert owned_pid(spec) is None
    assert not spec.pid_file.exists()
    assert sleeper.poll() is None  # never signalled


def test_live_process_with_the_spec_argv_is_owned(tmp_path: Path, sleeper: subprocess.Popen[bytes]) -> None:
    spec = _spec(tmp_path, (SLEEP, "30"))
    spec.pid_file.parent.mkdir(parents=True)
    spec.pid_file.write_text(f"{sleeper.pid}\n")
    assert owned_pid(spec) == sleeper.pid
    assert spec.pid_file.exists()


def test_unreadable_pid_file_means_not_running(tmp_path: Path) -> None:
    spec = _spec(tmp_path, (SLEEP, "30"))
    spec.pid_file.parent.mkdir(parents=True)
    spec.pid_file.write_text("not a pid\n")
    assert owned_pid(spec) is None


def test_zombie_counts_as_gone() -> None:
    process = subprocess.Popen([SLEEP, "0"])
    try:
        deadline = 200
        while is_alive(process.pid) and deadline:
            deadline -= 1
            subprocess.run([SLEEP, "0.01"], check=True)
        assert not is_alive(process.pid)
        assert Path(f"/proc/{process.pid}").exists()  # not yet reaped: a zombie
    finally:
        process.wait()
