"""up is idempotent, everything listens on loopback, down leaves nothing, the user's Docker setup is untouched.

Marked `last`: the session runs these after every other test, notebooks included, whatever the files' order; they
end with the sandbox up again.
"""

from __future__ import annotations

import json
import os
import socket
from pathlib import Path

import pytest

from labkit import engines
from labkit.docker.endpoints import Endpoints
from labkit.engines import DAEMONS, own
from labkit.engines.sandbox import SandboxEngine
from labkit.settings import Settings
from labkit.system import inventory, mounts, processes
from tests.conftest import WATCHED, tree_hash
from tests.support.runs import run_labkit as labkit

pytestmark = pytest.mark.last


def _pids(settings: Settings) -> dict[str, int | None]:
    return {name: processes.owned_pid(SandboxEngine(settings).spec_of(name)) for name in own.SERVICES}


def test_every_lab_socket_listens_on_loopback(endpoints: Endpoints, settings: Settings) -> None:
    pids = [p.pid for p in inventory.lab_processes(settings)]
    found = inventory.listening_sockets(pids)
    assert found, "the registry should be listening"
    assert [(pid, s.address, s.port) for pid, s in found if not s.is_loopback] == []


def test_second_up_changes_nothing(endpoints: Endpoints, settings: Settings) -> None:
    before = _pids(settings)
    configs = {p: p.read_text() for p in settings.state_dir.glob("*/*.json")}
    result = labkit("up")
    assert result.returncode == 0, result.stderr
    assert _pids(settings) == before
    assert {p: p.read_text() for p in settings.state_dir.glob("*/*.json")} == configs


def test_status_reports_every_service_running(endpoints: Endpoints) -> None:
    result = labkit("status")
    assert result.returncode == 0, result.stdout + result.stderr
    for service in ("registry", "classic", "multiarch"):
        assert any(line.split()[:2] == [service, "running"] for line in result.stdout.splitlines())


def test_down_leaves_no_process_and_up_recovers(endpoints: Endpoints, settings: Settings) -> None:
    result = labkit("down")
    assert result.returncode == 0, result.stderr
    assert inventory.lab_processes(settings) == []
    assert not any(settings.socket(name).exists() for name in DAEMONS)
    assert mounts.lab_mounts(mounts.sandbox_folders(settings)) == []
    result = labkit("up")
    assert result.returncode == 0, result.stderr
    assert engines.choose(settings).is_up()


def test_user_docker_folders_are_untouched(endpoints: Endpoints, untouched_before: dict[str, str]) -> None:
    assert {str(path): tree_hash(path) for path in WATCHED} == untouched_before


def test_a_busy_registry_port_is_named_with_the_setting_to_change(endpoints: Endpoints, settings: Settings, tmp_path: Path) -> None:
    with socket.socket() as other_program:
        other_program.bind(("127.0.0.1", 0))
        other_program.listen()
        port = other_program.getsockname()[1]
        env = {**os.environ, "LABKIT_NAME": "porttest", "LABKIT_STATE_DIR": str(tmp_path / "state"),
               "LABKIT_CACHE_DIR": str(settings.cache_dir), "LABKIT_REGISTRY_PORT": str(port)}
        result = labkit("up", env=env)
    assert result.returncode == 2
    assert f"Port {port} on 127.0.0.1 is taken" in result.stderr
    assert "LABKIT_REGISTRY_PORT" in result.stderr
    assert "Traceback" not in result.stderr
    assert not (tmp_path / "state" / "classic" / "pid").exists()


def test_doctor_reports_what_was_fetched_and_predicts_the_sandbox(endpoints: Endpoints) -> None:
    result = labkit("doctor", "--json")
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    fetched = {p["package"]: p for p in report["facts"]["packages"]}
    assert {"docker.io", "docker-cli", "docker-buildx", "containerd", "docker-registry", "busybox-static"} <= set(fetched)
    assert all(len(p["sha256"]) == 64 for p in report["facts"]["packages"])
    assert {p["step"][0]: p["outcome"] for p in report["predictions"]}["2"] == "fails"


def test_a_second_fetch_downloads_nothing(endpoints: Endpoints) -> None:
    env = {**os.environ, "LABKIT_DEBIAN_MIRROR": "http://127.0.0.1:9/debian"}  # nothing answers there
    result = labkit("fetch", env=env, timeout=120)
    assert result.returncode == 0, result.stderr
    assert "Get:" not in result.stderr and "fetching" not in result.stderr
    assert "docker.io" in result.stdout
