"""Isolation and security: sockets, containers, and what belongs to the learner."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from pathlib import Path

from labkit.engine import hostmode
from labkit.engine.endpoints import Endpoints
from labkit.settings import Settings
from labkit.steps import multiarch_build
from tests.engine.test_hostmode import _env


def test_daemon_sockets_are_not_world_writable(lab: Endpoints, settings: Settings) -> None:
    assert stat.S_IMODE(settings.run_dir.stat().st_mode) & 0o077 == 0
    sockets = [p for p in settings.run_dir.rglob("*") if stat.S_ISSOCK(p.lstat().st_mode)]
    assert any(p.name == "classic.sock" for p in sockets) and any(p.name == "multiarch.sock" for p in sockets)
    assert [str(p) for p in sockets if p.lstat().st_mode & 0o002] == []


def test_containers_the_steps_run_have_no_network_and_no_privilege(lab: Endpoints) -> None:
    result = multiarch_build.run_image(lab, "busybox", "linux/amd64", ("cat", "/proc/self/status"))
    assert "--network none" in result.command and "--privileged" not in result.command
    cap_eff = next(line.split()[1] for line in result.stdout.splitlines() if line.startswith("CapEff"))
    assert int(cap_eff, 16) != (1 << 41) - 1  # not the full capability set of a privileged container
    links = multiarch_build.run_image(lab, "busybox", "linux/amd64", ("ip", "-o", "link")).stdout.splitlines()
    assert [line.split(": ")[1] for line in links] == ["lo"]


def _inventory(lab: Endpoints, context: str) -> dict[str, set[str]]:
    client = lab.client(context)
    return {
        "containers": {f"{c.id} {c.name} {c.state.status}" for c in client.container.list(all=True)},
        "images": {image.id for image in client.image.list()},
        "volumes": {v.name for v in client.volume.list()},
        "networks": {n.id for n in client.network.list()},
    }


def test_host_mode_leaves_the_learners_engine_as_it_was(lab: Endpoints, settings: Settings, tmp_path: Path) -> None:
    env = _env(settings, "multiarch", tmp_path / "state")
    lab.multiarch.run("busybox", ["true"], name="learners-own", networks=["none"])  # something of the learner's
    try:
        before = _inventory(lab, "multiarch")
        up = subprocess.run([sys.executable, "-m", "labkit", "up"], env=env, capture_output=True, text=True, check=False)
        assert up.returncode == 0, up.stderr
        ends = hostmode.endpoints(Settings.from_env(env))
        registry = ends.client(hostmode.CONTEXTS[0]).container.list(filters=[("label", hostmode.LABEL)])[0]
        assert registry.host_config.privileged is False
        has_bridge = any(n.name == "bridge" for n in lab.multiarch.network.list())
        assert (registry.host_config.network_mode == "host") == (not has_bridge)
        assert any(f"127.0.0.1:{ends.registry.rsplit(':', 1)[1]}" in arg for arg in registry.config.env or []) or has_bridge
        multiarch_build.prepare_builder(ends)
        down = subprocess.run([sys.executable, "-m", "labkit", "down"], env=env, capture_output=True, text=True, check=False)
        assert down.returncode == 0, down.stderr
        after = _inventory(lab, "multiarch")
        assert after["containers"] == before["containers"]
        assert after["volumes"] == before["volumes"] and after["networks"] == before["networks"]
        assert before["images"] <= after["images"]  # registry:2 may have been pulled; nothing of the learner's went
    finally:
        lab.multiarch.container.remove("learners-own", force=True)


def test_the_lab_never_reads_the_users_docker_host_variable_into_its_own_daemons(settings: Settings) -> None:
    for name in ("classic", "multiarch"):
        config = (settings.service_dir(name) / "daemon.json").read_text()
        assert '"hosts": [\n    "unix://' in config and "tcp://" not in config
    assert os.environ.get("DOCKER_CONFIG") is None or str(settings.docker_config) != os.environ["DOCKER_CONFIG"]
