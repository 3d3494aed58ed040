"""Faults a learner's machine meets, each injected for real; `labkit up` and a rerun recover, nothing is lost."""

from __future__ import annotations

import fcntl
import os
import shutil
import signal
import subprocess
import sys
import textwrap
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from labkit.engine import modes, processes, sandbox
from labkit.engine.endpoints import Endpoints
from labkit.settings import Settings
from labkit.steps import default_build, dockerfile, inspect_index, multiarch_build
from tests.helpers import run_labkit as labkit


@pytest.fixture()
def healthy(lab: Endpoints, settings: Settings) -> Iterator[Endpoints]:
    """The sandbox, healthy before the fault and made healthy again after it (whatever the test did)."""
    yield lab
    modes.up(settings)


def _pid(settings: Settings, service: str) -> int:
    pid = processes.owned_pid(sandbox.spec_of(settings, service))
    assert pid is not None, f"{service} is not running"
    return pid


def _steps_work(lab: Endpoints, settings: Settings, tag: str = "multi") -> None:
    workdir = dockerfile.write(settings.work_dir).workdir
    assert not default_build.build(lab, workdir).result.succeeded
    pushed = multiarch_build.build_and_push(lab, workdir, tag=tag)
    assert pushed.result.succeeded, pushed.result.stderr
    assert inspect_index.read_index(lab, "demo", tag).platforms() == ["linux/amd64", "linux/arm64"]


def _background_push(tag: str) -> subprocess.Popen[str]:
    code = textwrap.dedent(f"""
        from labkit.engine import modes
        from labkit.settings import Settings
        from labkit.steps import dockerfile, multiarch_build
        settings = Settings.from_env()
        multiarch_build.build_and_push(modes.endpoints(settings), dockerfile.write(settings.work_dir).workdir, tag={tag!r})
    """)
    return subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            start_new_session=True)


def test_registry_killed_during_a_push_then_a_rerun_succeeds(healthy: Endpoints, settings: Settings) -> None:
    push = _background_push("killed")
    time.sleep(0.3)
    os.kill(_pid(settings, "registry"), signal.SIGKILL)
    push.wait(timeout=120)
    assert not sandbox.answers(settings, "registry")
    assert labkit("up").returncode == 0
    _steps_work(healthy, settings, tag="killed")


def test_a_killed_daemon_is_recovered_by_up(healthy: Endpoints, settings: Settings) -> None:
    for daemon in sandbox.DAEMONS:
        os.kill(_pid(settings, daemon), signal.SIGKILL)
        deadline = time.monotonic() + 10
        while sandbox.answers(settings, daemon) and time.monotonic() < deadline:
            time.sleep(0.05)
        status = {row.service: row.state for row in sandbox.status(settings)}
        assert status[daemon] != "running"
        result = labkit("up")
        assert result.returncode == 0, result.stderr
    _steps_work(healthy, settings)


def test_stale_pid_files_and_sockets_after_a_crash(healthy: Endpoints, settings: Settings) -> None:
    os.kill(_pid(settings, "classic"), signal.SIGKILL)
    time.sleep(0.5)
    bystander = subprocess.Popen(["sleep", "60"])  # a process the lab did not start, named in its pid file
    try:
        sandbox.daemon_spec(settings, "classic").pid_file.write_text(f"{bystander.pid}\n")
        settings.socket("classic").touch(exist_ok=True)
        assert labkit("up").returncode == 0
        assert bystander.poll() is None, "the lab signalled a process it did not start"
        assert _pid(settings, "classic") != bystander.pid
    finally:
        bystander.kill()
    _steps_work(healthy, settings)


def test_two_ups_at_once_one_waits_for_the_other(healthy: Endpoints, settings: Settings) -> None:
    with settings.lock_file.open("w") as held:
        fcntl.flock(held, fcntl.LOCK_EX)
        waiting = subprocess.Popen([sys.executable, "-m", "labkit", "up"], stdout=subprocess.PIPE, text=True)
        time.sleep(1.5)
        assert waiting.poll() is None, "up did not wait for the lock"
        fcntl.flock(held, fcntl.LOCK_UN)
    output, _ = waiting.communicate(timeout=120)
    assert waiting.returncode == 0 and "waiting" in output
    both = [subprocess.Popen([sys.executable, "-m", "labkit", "up"], stdout=subprocess.PIPE, text=True) for _ in range(2)]
    assert [p.wait(timeout=120) for p in both] == [0, 0]


def test_an_interrupted_build_leaves_nothing_half_made(healthy: Endpoints, settings: Settings) -> None:
    push = _background_push("interrupted")
    time.sleep(0.4)
    os.killpg(push.pid, signal.SIGINT)  # Ctrl-C, as the notebook's interrupt sends it
    _, stderr = push.communicate(timeout=120)
    assert push.returncode != 0 or "KeyboardInterrupt" not in stderr
    _steps_work(healthy, settings, tag="interrupted")


def test_a_service_folder_removed_under_it(healthy: Endpoints, settings: Settings) -> None:
    for service in ("registry", "classic"):
        # as `rm -rf` would: a daemon bind-mounts its data folder, so that empty mount point stays behind
        shutil.rmtree(settings.service_dir(service), ignore_errors=True)
        result = labkit("up")
        assert result.returncode == 0, result.stderr
        assert sandbox.answers(settings, service)
        assert sandbox.spec_of(settings, service).pid_file.is_file()
    _steps_work(healthy, settings)
    assert Path(settings.service_dir("registry") / "config.yml").is_file()
