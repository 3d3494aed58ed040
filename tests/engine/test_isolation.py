"""Isolation and security: sockets, containers, and what belongs to the learner."""

from __future__ import annotations

import json
import os
import socket
import stat
import subprocess
import sys
from pathlib import Path

import pytest
from python_on_whales import Container, DockerClient

from labkit.docker.endpoints import Endpoints
from labkit.engines import DAEMONS, own
from labkit.engines import host as hostmode
from labkit.settings import Settings
from labkit.steps import multiarch_build
from labkit.system import inventory
from tests.support import untouched
from tests.support.bridged_engine import BridgedEngine, bridged_engine
from tests.support.runs import STEPS, host_mode_env, labkit_argv, run_labkit, sandbox_env


def test_daemon_sockets_are_not_world_writable(endpoints: Endpoints, settings: Settings) -> None:
    assert stat.S_IMODE(settings.run_dir.stat().st_mode) & 0o077 == 0
    sockets = [p for p in settings.run_dir.rglob("*") if stat.S_ISSOCK(p.lstat().st_mode)]
    assert any(p.name == "classic.sock" for p in sockets) and any(p.name == "multiarch.sock" for p in sockets)
    assert [str(p) for p in sockets if p.lstat().st_mode & 0o002] == []


def test_containers_the_steps_run_have_no_network_and_no_privilege(endpoints: Endpoints) -> None:
    result = multiarch_build.run_image(endpoints, "busybox", "linux/amd64", ("cat", "/proc/self/status"))
    assert "--network none" in result.command and "--privileged" not in result.command
    cap_eff = next(line.split()[1] for line in result.stdout.splitlines() if line.startswith("CapEff"))
    assert int(cap_eff, 16) != (1 << 41) - 1  # not the full capability set of a privileged container
    links = multiarch_build.run_image(endpoints, "busybox", "linux/amd64", ("ip", "-o", "link")).stdout.splitlines()
    assert [line.split(": ")[1] for line in links] == ["lo"]


def _inventory(endpoints: Endpoints, context: str) -> dict[str, set[str]]:
    client = endpoints.client(context)
    return {
        "containers": {f"{c.id} {c.name} {c.state.status}" for c in client.container.list(all=True)},
        "images": {image.id for image in client.image.list()},
        "volumes": {v.name for v in client.volume.list()},
        "networks": {n.id for n in client.network.list()},
    }


def _registry_container(client: DockerClient, name: str) -> Container:
    found = client.container.list(filters=[("label", f"{hostmode.LABEL}={name}")])
    assert len(found) == 1, f"expected one registry container labelled {name}, found {len(found)}"
    return found[0]


def _tcp_tables(inside: BridgedEngine | None = None) -> list[str]:
    """/proc/net/tcp and tcp6 of this host's network, or of the bridged engine's."""
    names = ("/proc/net/tcp", "/proc/net/tcp6")
    return [inside.inside(["cat", name]).stdout if inside else Path(name).read_text() for name in names]


def _listeners(tcp_tables: list[str], port: int) -> list[str]:
    """Addresses with a listening TCP socket (IPv4 or IPv6) on the port."""
    return sorted(s.address for table in tcp_tables for s in inventory.parse_proc_net_tcp(table) if s.port == port)


def _assert_registry_on_loopback_only(client: DockerClient, registry: Container, port: int, tcp_tables: list[str]) -> None:
    """Host mode's registry listens on 127.0.0.1 only, whichever way the engine lets it: published on a bridge,
    or on the host network with its listen address set. `tcp_tables` are /proc/net/tcp and tcp6 where it runs."""
    has_bridge = any(n.name == "bridge" for n in client.network.list())
    if has_bridge:
        assert registry.host_config.network_mode in ("bridge", "default")
        assert registry.host_config.port_bindings is not None
        bindings = {key: [(b.host_ip, b.host_port) for b in value or []]
                    for key, value in registry.host_config.port_bindings.items()}
        assert bindings == {"5000/tcp": [("127.0.0.1", str(port))]}
        published = (registry.network_settings.ports or {}).get("5000/tcp") or []
        assert [(p["HostIp"], p["HostPort"]) for p in published] == [("127.0.0.1", str(port))]
    else:
        assert registry.host_config.network_mode == "host" and not registry.host_config.port_bindings
        assert f"REGISTRY_HTTP_ADDR=127.0.0.1:{port}" in (registry.config.env or [])
    assert _listeners(tcp_tables, port) == ["127.0.0.1"]


def test_host_mode_leaves_the_learners_engine_as_it_was(endpoints: Endpoints, settings: Settings, tmp_path: Path) -> None:
    env = host_mode_env(settings, "multiarch", tmp_path / "state")
    endpoints.multiarch.run("busybox", ["true"], name="learners-own", networks=["none"])  # something of the learner's
    try:
        before = _inventory(endpoints, "multiarch")
        up = run_labkit("up", env=env)
        assert up.returncode == 0, up.stderr
        ends = hostmode.HostEngine(Settings.from_env(env)).endpoints()
        client = ends.client(hostmode.CONTEXTS["classic"])
        registry = _registry_container(client, env["LABKIT_NAME"])
        assert registry.host_config.privileged is False
        # The sandbox's daemons have no bridge (`bridge: none`): the registry takes the host network, on loopback.
        # The bridge case is proven on a daemon that has one, in the next test.
        assert not any(n.name == "bridge" for n in client.network.list())
        _assert_registry_on_loopback_only(client, registry, ends.registry.port, _tcp_tables())
        multiarch_build.prepare_builder(ends)
        down = run_labkit("down", env=env)
        assert down.returncode == 0, down.stderr
        after = _inventory(endpoints, "multiarch")
        assert after["containers"] == before["containers"]
        assert after["volumes"] == before["volumes"] and after["networks"] == before["networks"]
        assert before["images"] <= after["images"]  # registry:2 may have been pulled; nothing of the learner's went
    finally:
        endpoints.multiarch.container.remove("learners-own", force=True)


def test_host_mode_on_an_engine_with_a_bridge_publishes_the_registry_on_loopback_only(
        endpoints: Endpoints, settings: Settings, tmp_path: Path) -> None:
    archive = tmp_path / "registry.tar"
    had_registry_image = endpoints.classic.image.exists(hostmode.REGISTRY_IMAGE)
    endpoints.classic.image.pull(hostmode.REGISTRY_IMAGE, quiet=True)  # from the sandbox's mirror (the lab's registry:2)
    endpoints.classic.image.save(hostmode.REGISTRY_IMAGE, output=archive)
    with bridged_engine(settings) as engine:
        assert os.readlink(engine.netns) != os.readlink("/proc/self/ns/net"), "the daemon must have its own network"
        client = engine.client()
        assert any(n.name == "bridge" and n.driver == "bridge" for n in client.network.list())
        client.image.load(archive, quiet=True)
        env = {**os.environ, "LABKIT_MODE": "host", "LABKIT_NAME": "bridged", "LABKIT_DOCKER_HOST": f"unix://{engine.socket}",
               "LABKIT_STATE_DIR": str(tmp_path / "state"), "LABKIT_RUN_DIR": str(tmp_path / "run"),
               "LABKIT_CACHE_DIR": str(settings.cache_dir), "LABKIT_REGISTRY_PORT": "5000"}
        up = engine.inside(labkit_argv("up"), env=env)  # in its namespace: the port is there
        assert up.returncode == 0, up.stdout + up.stderr
        port = hostmode.HostEngine(Settings.from_env(env)).endpoints().registry.port
        registry = _registry_container(client, "bridged")
        assert registry.host_config.privileged is False
        _assert_registry_on_loopback_only(client, registry, port, _tcp_tables(engine))
        # The same check fails a registry published on every interface (as `-p 5999:5000` would).
        exposed = client.container.run(hostmode.REGISTRY_IMAGE, detach=True, publish=[(5999, 5000)])
        try:
            with pytest.raises(AssertionError):
                _assert_registry_on_loopback_only(client, exposed, 5999, _tcp_tables(engine))
        finally:
            client.container.remove(exposed, force=True)
        down = engine.inside(labkit_argv("down"), env=env)
        assert down.returncode == 0, down.stdout + down.stderr
        assert client.container.list(all=True) == []
    if not had_registry_image:
        endpoints.classic.image.remove(hostmode.REGISTRY_IMAGE)


SENTINEL_CONFIG = {"currentContext": "sentinel-the-lab-must-not-use", "auths": {"sentinel.invalid": {}},
                   "psFormat": "sentinel: the lab read the user's DOCKER_CONFIG"}



@pytest.mark.parametrize("docker_host", ["tcp://127.0.0.1:9", "unix:///nonexistent.sock"], ids=["tcp", "unix"])
def test_docker_host_and_docker_config_are_ignored(endpoints: Endpoints, settings: Settings, tmp_path: Path,
                                                    docker_host: str) -> None:
    """In sandbox mode, the user's DOCKER_HOST (pointing where nothing answers) and DOCKER_CONFIG (a sentinel
    folder) change nothing: up, status and the four steps all work, and the sentinel folder is as it was."""
    if docker_host.startswith("tcp://"):
        with socket.socket() as probe:
            assert probe.connect_ex(("127.0.0.1", 9)) != 0, "something listens on 127.0.0.1:9"
    else:
        assert not Path("/nonexistent.sock").exists()
    sentinel = tmp_path / "users-docker-config"
    sentinel.mkdir()
    (sentinel / "config.json").write_text(json.dumps(SENTINEL_CONFIG, indent=1) + "\n")
    env = sandbox_env(DOCKER_HOST=docker_host, DOCKER_CONFIG=str(sentinel))
    plain = subprocess.run([str(settings.bin_dir / "docker"), "version"], env=env, capture_output=True, text=True,
                           timeout=60, check=False)
    assert plain.returncode != 0, "the variables are live: a docker command that names no context of its own fails"
    before = untouched.take([sentinel])

    up = run_labkit("up", env=env)
    assert up.returncode == 0, up.stdout + up.stderr
    for name in DAEMONS:  # the daemons listen on their own socket only
        config = json.loads((settings.service_dir(name) / "daemon.json").read_text())
        assert config["hosts"] == [f"unix://{settings.socket(name)}"]
    status = run_labkit("status", env=env)
    assert status.returncode == 0, status.stdout + status.stderr
    rows = [line.split() for line in status.stdout.splitlines()]
    assert {row[0]: row[1] for row in rows if row and row[0] in own.SERVICES} == dict.fromkeys(own.SERVICES, "running")

    tag = f"docker-host-{docker_host.split(':')[0]}"
    steps = subprocess.run([sys.executable, "-c", STEPS, str(tmp_path / "work"), tag], env=env, capture_output=True,
                           text=True, timeout=300, check=False)
    assert steps.returncode == 0, steps.stderr
    outcome = json.loads(steps.stdout.splitlines()[-1])
    assert outcome["step2"][0] != 0
    assert "Multi-platform build is not supported for the docker driver" in outcome["step2"][1]
    assert outcome["step3"][0] == 0, outcome["step3"][1]
    assert outcome["step4"] == ["linux/amd64", "linux/arm64"]

    assert untouched.changes(before, untouched.take([sentinel])) == []
    assert sorted(p.name for p in sentinel.iterdir()) == ["config.json"]
