"""The sandbox: two dockerds (classic and containerd image store) and a registry, all on loopback.

`up` provisions what is missing and starts what is not running; `down` stops
what the lab started, by pid. Each service has its own state folder, pid file
and log under `Settings.state_dir`; sockets live under the short `run_dir`.
The rootless sandbox (rootless.py) shares the pieces that do not depend on root.
"""

from __future__ import annotations

import json
import os
import socket
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import ClassVar

from labkit.docker import config
from labkit.docker.endpoints import Endpoints
from labkit.docker.facts import image_store
from labkit.docker.podman import Podman
from labkit.engines.base import DAEMONS, Daemon, Engine
from labkit.errors import LabError
from labkit.experiment import BASE_REPOSITORY, BASE_TAG
from labkit.oci.registry import Registry
from labkit.provision import base_image, emulators, host, packages, registry_image
from labkit.provision import podman as podman_provision
from labkit.results import Check, ImageStore, ServiceState, ServiceStatus
from labkit.settings import SYSTEM_PATH, Mode, Settings
from labkit.system import mounts, network, processes
from labkit.system.files import exclusive, write_if_changed
from labkit.system.processes import ProcessSpec

STORES: dict[Daemon, ImageStore] = {"classic": "classic", "multiarch": "containerd"}  # the image store each daemon uses
SERVICES = ("registry", *DAEMONS)
EMULATOR_FIX = "`sudo labkit up` (it registers QEMU for every platform of the base image)"


def service_env(settings: Settings) -> tuple[tuple[str, str], ...]:
    """The environment every service starts with: the lab's programs first on PATH, HOME in the state folder."""
    return (("PATH", f"{settings.bin_dir}:{SYSTEM_PATH}"), ("HOME", str(settings.state_dir)))


def registry_spec(settings: Settings) -> ProcessSpec:
    """How the registry is started."""
    folder = settings.service_dir("registry")
    return ProcessSpec("registry", (str(settings.bin_dir / "docker-registry"), "serve", str(folder / "config.yml")),
                       service_env(settings), folder / "pid", folder / "log")


def daemon_spec(settings: Settings, name: Daemon) -> ProcessSpec:
    """How one dockerd is started (everything else is in its config file)."""
    folder = settings.service_dir(name)
    return ProcessSpec(name, (str(settings.bin_dir / "dockerd"), "--config-file", str(folder / "daemon.json")),
                       service_env(settings), folder / "pid", folder / "log")


def spec_of(settings: Settings, service: str) -> ProcessSpec:
    """How a service (`registry`, `classic` or `multiarch`) is started."""
    return registry_spec(settings) if service == "registry" else daemon_spec(settings, daemon_named(service))


def daemon_named(name: str) -> Daemon:
    """The daemon called `name` (a LabError when there is none)."""
    for daemon in DAEMONS:
        if daemon == name:
            return daemon
    raise LabError(f"There is no sandbox daemon called {name!r}.", f"Use one of: {', '.join(DAEMONS)}.")


def answers(settings: Settings, service: str) -> bool:
    """True when a service answers: /v2/ for the registry, /_ping for a daemon."""
    if service == "registry":
        return Registry(settings.registry).ping()
    return daemon_answers(settings.socket(daemon_named(service)))


def daemon_config(settings: Settings, name: Daemon) -> dict[str, object]:
    """daemon.json of one sandbox daemon: its own folders, no bridge or iptables, the local mirror."""
    registry = settings.registry_address
    return {
        "data-root": str(settings.service_dir(name) / "data"),
        "exec-root": str(settings.run_dir / name),
        "pidfile": str(settings.run_dir / f"{name}.pid"),
        "hosts": [f"unix://{settings.socket(name)}"],
        "bridge": "none",
        "iptables": False,
        "ip6tables": False,
        "userland-proxy": False,
        "features": {"containerd-snapshotter": STORES[name] == "containerd"},  # explicit: newer engines change the default
        "registry-mirrors": [f"http://{mirror}" for mirror in (settings.class_mirror, registry) if mirror],
        "insecure-registries": [mirror for mirror in (settings.class_mirror, registry) if mirror],
    }


def registry_config(settings: Settings) -> str:
    """config.yml of the registry: loopback only, storage in its own folder."""
    data = settings.service_dir("registry") / "data"
    return (
        "version: 0.1\n"
        "log:\n  level: warn\n"
        f"storage:\n  filesystem:\n    rootdirectory: {data}\n  delete:\n    enabled: true\n"
        f"http:\n  addr: {settings.registry_address}\n"
    )


@contextmanager
def locked(settings: Settings) -> Iterator[None]:
    """Held while `labkit up` or `down` runs: a second one says it waits, then waits."""
    with exclusive(settings.lock_file, "another `labkit up` or `down` is running; waiting for it to finish"):
        yield


def daemon_answers(sock: Path) -> bool:
    """True when a dockerd answers /_ping on its socket."""
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as client:
            client.settimeout(2)
            client.connect(str(sock))
            client.sendall(b"GET /_ping HTTP/1.0\r\nHost: docker\r\n\r\n")
            reply = client.recv(4096)
    except OSError:
        return False
    return reply.startswith(b"HTTP/1.") and b" 200 " in reply.split(b"\r\n", 1)[0]


def port_taken(settings: Settings) -> LabError:
    """The registry's port is another program's: the error both sandboxes give, and what to do."""
    return LabError(f"Port {settings.registry_port} on {settings.registry_host} is taken by another program, "
                    "so the lab's registry cannot listen there.",
                    f"Set LABKIT_REGISTRY_PORT to a free port (e.g. `export LABKIT_REGISTRY_PORT={settings.registry_port + 1}`) "
                    "and run `labkit up` again.")


def start_registry(settings: Settings) -> None:
    """Start the registry on loopback unless it runs (a LabError naming LABKIT_REGISTRY_PORT when the port is taken)."""
    spec = registry_spec(settings)
    write_if_changed(settings.service_dir("registry") / "config.yml", registry_config(settings))
    if processes.owned_pid(spec) is not None:
        return
    if not network.port_is_free(settings.registry_host, settings.registry_port):
        raise port_taken(settings)
    processes.start(spec)


def _start_daemon(settings: Settings, name: Daemon) -> None:
    spec = daemon_spec(settings, name)
    write_if_changed(settings.service_dir(name) / "daemon.json", json.dumps(daemon_config(settings, name), indent=2) + "\n")
    if processes.owned_pid(spec) is not None:
        data = settings.service_dir(name) / "data"
        if data.is_dir() and any(data.iterdir()):
            return
        print(f"labkit: the {name} daemon's data folder was emptied or removed under it; restarting it", flush=True)
        processes.stop(spec)
    settings.run_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
    mounts.unmount(mounts.sandbox_folders(settings, name))  # left by a daemon that was killed
    for stale in (settings.socket(name), settings.run_dir / f"{name}.pid"):
        stale.unlink(missing_ok=True)
    processes.start(spec)


def wait_until_answering(settings: Settings, timeout: float,
                         spec: Callable[[Settings, str], ProcessSpec] = spec_of) -> None:
    """Return when every service answers; a LabError quoting its log when one stops, or does not answer in time."""
    waiting = list(SERVICES)
    deadline = time.monotonic() + timeout
    while waiting and time.monotonic() < deadline:
        for name in list(waiting):
            service = spec(settings, name)
            if answers(settings, name):
                waiting.remove(name)
            elif processes.owned_pid(service) is None:
                raise LabError(f"The {name} service stopped while starting:\n{processes.log_tail(service)}",
                               f"Read its log ({service.log_file}), fix the cause, then run `labkit up` again.")
        time.sleep(0.05)
    if waiting:
        name = waiting[0]
        raise LabError(f"The {name} service did not answer within {timeout:.0f} s.",
                       "Run `labkit status` and read its log, then `labkit up` again.")


def ensure_docker_config(settings: Settings, description: str = "lab sandbox daemon") -> None:
    """The lab's own DOCKER_CONFIG: the buildx plugin and one context per daemon."""
    config.link_plugin(settings.docker_config, "docker-buildx", packages.buildx_plugin(settings))
    config.ensure_contexts(settings.bin_dir / "docker", settings.docker_config,
                           {name: f"unix://{settings.socket(name)}" for name in DAEMONS}, description)


def service_rows(settings: Settings, qemu_fix: str,
                 spec: Callable[[Settings, str], ProcessSpec] = spec_of) -> list[ServiceStatus]:
    """One row per service: registry, the daemons, the base image and QEMU (every platform of the base image this
    machine does not run itself; when one is missing, `qemu_fix` adds it)."""
    rows = []
    for name in SERVICES:
        service = spec(settings, name)
        pid = processes.owned_pid(service)
        address = f"http://{settings.registry}" if name == "registry" else f"unix://{settings.socket(daemon_named(name))}"
        running = pid is not None and answers(settings, name)
        state: ServiceState = "running" if running else ("not answering" if pid else "stopped")
        rows.append(ServiceStatus(name, state, pid, address, str(service.log_file)))
    rows.append(base_image_status(settings, registry_up=rows[0].state == "running"))
    found = emulators.states(settings)
    ready = emulators.ready(found)
    detail = emulators.summary(found) if ready else f"{emulators.summary(found)}; add them: {emulators.fix(found, qemu_fix)}"
    rows.append(ServiceStatus("qemu", "registered" if ready else "missing", None, "binfmt_misc", "", detail))
    return rows


def readiness_checks(settings: Settings, endpoints: Endpoints, rows: list[ServiceStatus], wanted: tuple[str, ...],
                     qemu_fix: str) -> list[Check]:
    """The environment check of an engine made of these services: the packages in `wanted` fetched, QEMU, the
    registry, each daemon on its image store, the base image. The lines are the same whoever runs the daemons."""
    by_name = {row.service: row for row in rows}
    record = {(p.package, p.arch) for p in packages.read_record(settings)}
    fetched = all((name, settings.host_arch) in record for name in wanted)
    found = emulators.states(settings)

    def store(name: Daemon) -> ImageStore:
        return image_store(endpoints, name) if by_name[name].ready else "unknown"

    return [
        Check(fetched, "Docker engine, CLI, buildx, containerd and registry fetched from Debian",
              "`labkit up` (it downloads them once)"),
        Check(emulators.ready(found), emulators.CHECK, emulators.fix(found, qemu_fix)),
        Check(by_name["registry"].ready, f"registry answers on {settings.registry}",
              "`labkit up`; if the port is taken, set LABKIT_REGISTRY_PORT"),
        *(Check(store(name) == STORES[name], f"{name} daemon answers and uses the {STORES[name]} image store",
                "`labkit up`, then `labkit status`") for name in DAEMONS),
        Check(by_name["base image"].ready, "busybox base image is in the local registry",
              "`labkit up` (it builds and pushes the base image)"),
    ]


def base_image_status(settings: Settings, registry_up: bool) -> ServiceStatus:
    """The base image's row: pushed (with its number of platforms) or missing."""
    reference = f"{settings.registry}/{BASE_REPOSITORY}:{BASE_TAG}"
    index = Registry(settings.registry).get_manifest(BASE_REPOSITORY, BASE_TAG) if registry_up else None
    if index is None:
        return ServiceStatus("base image", "missing", None, reference, "")
    return ServiceStatus("base image", "pushed", None, reference, "", f"{len(index.json().get('manifests', []))} platforms")


class SandboxEngine(Engine):
    """The lab's own engine: two root dockerds (classic and containerd image store) and a registry, on loopback.

    `up` provisions what is missing and starts what is not running; `down` stops what the lab started, by pid.
    """

    mode: ClassVar[Mode] = "sandbox"
    title: ClassVar[str] = "the sandbox"
    first_start: ClassVar[str] = "the first time this downloads about 85 MB"

    def refuse_buildkit_tar(self, buildkit_tar: Path | None) -> None:
        """A moby/buildkit archive is for host mode: the sandboxes build with their own daemons' builders."""
        if buildkit_tar is not None:
            raise LabError(f"--buildkit-tar is for host mode: {self.title} builds with its own daemons' builders.",
                           "Run `LABKIT_MODE=host labkit up --buildkit-tar FILE` to use it with your Docker.")

    def up(self, buildkit_tar: Path | None = None, timeout: float = 60.0) -> Endpoints:
        self.refuse_buildkit_tar(buildkit_tar)
        settings = self.settings
        for change in host.ensure_prerequisites(settings):
            print(f"labkit: {change}", file=sys.stderr, flush=True)
        with locked(settings):
            record = packages.fetch(settings)
            packages.unpack(settings, record)
            start_registry(settings)
            for name in DAEMONS:
                _start_daemon(settings, name)
            ensure_docker_config(settings)
            wait_until_answering(settings, timeout)
            registry = Registry(settings.registry)
            base_image.ensure_pushed(settings, registry, record)
            registry_image.ensure_pushed(settings, registry, record)
        return self.endpoints()

    def down(self) -> list[str]:
        with locked(self.settings):
            stopped = [name for name in (*DAEMONS, "registry") if processes.stop(spec_of(self.settings, name))]
            mounts.unmount(mounts.sandbox_folders(self.settings))  # daemons leave their data and netns mounts behind
        return stopped

    def status(self) -> list[ServiceStatus]:
        return service_rows(self.settings, self.emulator_fix())

    def endpoints(self) -> Endpoints:
        settings = self.settings
        return Endpoints(settings.bin_dir / "docker", settings.docker_config, "classic", "multiarch", settings.registry,
                         mirror=settings.registry)

    def prepare(self) -> Endpoints:
        return self.endpoints()

    def shell_environment(self, daemon: Daemon) -> dict[str, str]:
        return {
            "PATH": f"{self.settings.bin_dir}:{os.environ.get('PATH', SYSTEM_PATH)}",
            "DOCKER_CONFIG": str(self.settings.docker_config),
            "DOCKER_CONTEXT": daemon,
        }

    def readiness(self) -> list[Check]:
        return readiness_checks(self.settings, self.endpoints(), self.status(), packages.ENGINE_PACKAGES,
                                self.emulator_fix())

    def emulator_fix(self) -> str:
        return EMULATOR_FIX

    def podman(self, endpoints: Endpoints) -> Podman:
        return podman_provision.ensure(self.settings, endpoints.registry, endpoints.mirror)
