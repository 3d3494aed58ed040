"""Faults a learner's machine meets, each injected for real at the moment it matters; `labkit up` and a rerun
recover, and nothing pushed before is lost."""

from __future__ import annotations

import fcntl
import os
import shutil
import signal
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from labkit import engines
from labkit.docker.endpoints import Endpoints
from labkit.engines import own
from labkit.engines.sandbox import SandboxEngine
from labkit.experiment import REPOSITORY
from labkit.oci.registry import Registry
from labkit.settings import Settings
from labkit.steps import inspect_index
from labkit.system import processes
from tests.support.contract import EngineContract, Subject
from tests.support.runs import (
    SlowBuild,
    build_outcome,
    labkit_argv,
    lost_content,
    processes_running,
    run_labkit,
    served_content,
    session_members,
    upload_sessions,
    uploading,
    wait_for,
    whole_lab,
)


@pytest.fixture()
def healthy(endpoints: Endpoints, settings: Settings) -> Iterator[Endpoints]:
    """The sandbox, healthy before the fault and made healthy again after it (whatever the test did)."""
    yield endpoints
    engines.choose(settings).up()


def _pid(settings: Settings, service: str) -> int:
    pid = processes.owned_pid(SandboxEngine(settings).spec_of(service))
    assert pid is not None, f"{service} is not running"
    return pid


def _wait_until_silent(settings: Settings, service: str) -> None:
    wait_for(lambda: not own.answers(settings, service), 10, f"the {service} service to stop answering", every=0.05)


def _host_platform(settings: Settings) -> str:
    return f"linux/{settings.host_arch}"


def test_registry_killed_during_an_upload(healthy: Endpoints, settings: Settings, tmp_path: Path) -> None:
    whole_lab(healthy, settings, "before-fault")
    registry = Registry(settings.registry)
    before = served_content(registry, REPOSITORY, "before-fault")
    assert {"index", "manifest", "blob"} <= set(before.values())

    build = SlowBuild.big_layer(tmp_path / "big", _host_platform(settings))
    push = build.start(None, "killed")
    wait_for(lambda: uploading(settings), 120, "the registry to receive the layer's bytes")
    os.kill(_pid(settings, "registry"), signal.SIGKILL)
    exit_code, pushed = build_outcome(push)
    assert exit_code == 0 and pushed["return_code"] != 0, "the push went through although the registry was killed"
    assert "connection refused" in pushed["stderr"] or "closed network connection" in pushed["stderr"], pushed["stderr"]
    assert not own.answers(settings, "registry")

    result = run_labkit("up")
    assert result.returncode == 0, result.stderr
    assert lost_content(registry, REPOSITORY, "before-fault", before) == []
    rerun = build.start(None, "killed")
    exit_code, pushed = build_outcome(rerun)
    assert (exit_code, pushed["return_code"]) == (0, 0), pushed.get("stderr")
    assert inspect_index.read_index(healthy, REPOSITORY, "killed").platforms() == [_host_platform(settings)]


def _client_builds(text: str) -> list[int]:
    """buildx client processes building that folder (a process may end while the list is read)."""
    return [pid for pid in processes_running("docker-buildx") if pid in processes_running(text)]


@pytest.mark.parametrize("who", ["terminal", "notebook"])
def test_an_interrupted_build_leaves_nothing_half_made(who: str, healthy: Endpoints, settings: Settings,
                                                       tmp_path: Path) -> None:
    """Ctrl-C in a terminal signals the whole foreground group; a notebook's stop button signals the kernel alone."""
    containers_before = {c.id for d in (healthy.classic, healthy.multiarch) for c in d.container.list(all=True)}
    uploads_before = upload_sessions(settings)
    build = SlowBuild.long_step(tmp_path / "slow", ("linux/amd64", "linux/arm64"))
    push = build.start(None, f"interrupted-{who}")
    wait_for(lambda: _client_builds(str(build.workdir)), 60, "buildx to start building")
    wait_for(lambda: processes_running(build.nonce), 60, "BuildKit to run the RUN step")
    assert any("docker-buildx" in line for line in session_members(push.pid)), session_members(push.pid)

    if who == "terminal":
        os.killpg(push.pid, signal.SIGINT)
    else:
        os.kill(push.pid, signal.SIGINT)
    exit_code, pushed = build_outcome(push, timeout=60)
    assert exit_code != 0 and pushed == {}, "the build was not interrupted"

    assert wait_for(lambda: not session_members(push.pid) or None, 20, "the build's processes to end", every=0.1) is True
    assert wait_for(lambda: not processes_running(build.nonce) or None, 20, "BuildKit to cancel the step", every=0.1)
    containers_after = {c.id for d in (healthy.classic, healthy.multiarch) for c in d.container.list(all=True)}
    assert containers_after == containers_before
    assert upload_sessions(settings) == uploads_before

    rerun = build.start(None, f"interrupted-{who}")
    exit_code, pushed = build_outcome(rerun)
    assert (exit_code, pushed["return_code"]) == (0, 0), pushed.get("stderr")


class SandboxSubject(Subject):
    """The sandbox, driven as root."""

    def __init__(self, endpoints: Endpoints, settings: Settings) -> None:
        self.engine, self.endpoints = SandboxEngine(settings), endpoints

    def labkit(self, *args: str) -> subprocess.CompletedProcess[str]:
        return run_labkit(*args)

    def bystander(self) -> subprocess.Popen[bytes]:
        return subprocess.Popen(["sleep", "300"])

    def experiment_runs(self, tag: str) -> None:
        whole_lab(self.endpoints, self.settings, tag)


class TestTheSandboxKeepsTheEngineContract(EngineContract):
    @pytest.fixture()
    def subject(self, healthy: Endpoints, settings: Settings) -> SandboxSubject:
        return SandboxSubject(healthy, settings)


def test_two_ups_at_once_one_waits_for_the_other(healthy: Endpoints, settings: Settings) -> None:
    with settings.lock_file.open("w") as held:
        fcntl.flock(held, fcntl.LOCK_EX)
        waiting = subprocess.Popen(labkit_argv("up"), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        wait_for(lambda: _lock_waiter(settings), 30, "the second up to block on the lock")
        assert waiting.poll() is None, "up did not wait for the lock"
        fcntl.flock(held, fcntl.LOCK_UN)
    _, said = waiting.communicate(timeout=120)
    assert waiting.returncode == 0 and "waiting for it to finish" in said
    both = [subprocess.Popen(labkit_argv("up"), stdout=subprocess.PIPE, text=True) for _ in range(2)]
    assert [p.wait(timeout=120) for p in both] == [0, 0]


def _lock_waiter(settings: Settings) -> bool:
    """True when some process is blocked on the lab's lock file (as /proc/locks shows a waiting lock)."""
    inode = settings.lock_file.stat().st_ino
    return any(" -> " in line and f":{inode} " in line for line in Path("/proc/locks").read_text().splitlines())


@pytest.mark.parametrize("service", own.SERVICES)
def test_a_lost_pid_file_is_adopted(service: str, healthy: Endpoints, settings: Settings) -> None:
    running = _pid(settings, service)
    spec = SandboxEngine(settings).spec_of(service)
    spec.pid_file.unlink()
    spec.log_file.unlink(missing_ok=True)
    result = run_labkit("up")
    assert result.returncode == 0, result.stderr
    assert spec.pid_file.read_text().strip() == str(running), f"the running {service} was not adopted"
    assert _pid(settings, service) == running


def test_a_service_folder_removed_under_it(healthy: Endpoints, settings: Settings) -> None:
    """The registry's folder goes: the running registry is adopted (same pid) and its config rewritten. The classic
    daemon's folder goes: its data folder is an empty mount point now, so it is restarted (a new pid)."""
    before = {service: _pid(settings, service) for service in ("registry", "classic")}
    for service in before:
        # as `rm -rf` would: a daemon bind-mounts its data folder, so that empty mount point stays behind
        shutil.rmtree(settings.service_dir(service), ignore_errors=True)
        result = run_labkit("up")
        assert result.returncode == 0, result.stderr
        assert own.answers(settings, service)
        assert SandboxEngine(settings).spec_of(service).pid_file.is_file()
    assert _pid(settings, "registry") == before["registry"], "the running registry was not adopted"
    assert _pid(settings, "classic") != before["classic"], "the emptied classic daemon was not restarted"
    assert "restarting it" in result.stdout + result.stderr
    whole_lab(healthy, settings, "multi")
    assert Path(settings.service_dir("registry") / "config.yml").is_file()
