"""The lab's own engine: two dockerds (classic and containerd image store) and a registry, all on loopback.

What the sandbox and the rootless sandbox share: the services and how each is started (its spec), their
configuration, the order `up` starts them in and how it waits, the status rows, the environment check and the
port-taken error. `OwnEngine` is the one `up`, `down`, `status` and `readiness` of both; its two kinds differ only in
how they launch a process: directly as root (`SandboxEngine`), or inside RootlessKit's namespaces as the learner
(`RootlessEngine`). Each service has its own state folder, pid file and log under `Settings.state_dir`; sockets live
under the short `run_dir`.
"""

from __future__ import annotations

import json
import os
import socket
import time
from abc import abstractmethod
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import ClassVar

from labkit.docker import config
from labkit.docker.endpoints import Endpoints
from labkit.docker.facts import image_store
from labkit.engines.base import DAEMONS, Daemon, Engine
from labkit.errors import LabError
from labkit.experiment import BASE_REPOSITORY, BASE_TAG
from labkit.oci.registry import Registry
from labkit.provision import base_image, emulators, packages, registry_image
from labkit.results import Check, ImageStore, ServiceState, ServiceStatus
from labkit.settings import SYSTEM_PATH, Settings
from labkit.system import processes
from labkit.system.files import exclusive, write_if_changed
from labkit.system.processes import ProcessSpec

STORES: dict[Daemon, ImageStore] = {"classic": "classic", "multiarch": "containerd"}  # the image store each daemon uses
SERVICES = ("registry", *DAEMONS)


def service_env(settings: Settings) -> tuple[tuple[str, str], ...]:
    """The environment every service starts with: the lab's programs first on PATH, HOME in the state folder."""
    return (("PATH", f"{settings.bin_dir}:{SYSTEM_PATH}"), ("HOME", str(settings.state_dir)))


def registry_spec(settings: Settings) -> ProcessSpec:
    """How the registry is started."""
    folder = settings.service_dir("registry")
    return ProcessSpec("registry", (str(settings.bin_dir / "docker-registry"), "serve", str(folder / "config.yml")),
                       service_env(settings), folder / "pid", folder / "log")


def daemon_spec(settings: Settings, name: Daemon, env: tuple[tuple[str, str], ...] = ()) -> ProcessSpec:
    """How one dockerd is started (everything else is in its config file), with `env` added to the services'."""
    folder = settings.service_dir(name)
    return ProcessSpec(name, (str(settings.bin_dir / "dockerd"), "--config-file", str(folder / "daemon.json")),
                       (*service_env(settings), *env), folder / "pid", folder / "log")


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


def daemon_config(settings: Settings, name: Daemon) -> dict[str, object]:
    """daemon.json of one of the lab's daemons: its own folders, no bridge or iptables, the local mirror."""
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


def port_taken(settings: Settings) -> LabError:
    """The registry's port is another program's: the error both sandboxes give, and what to do."""
    return LabError(f"Port {settings.registry_port} on {settings.registry_host} is taken by another program, "
                    "so the lab's registry cannot listen there.",
                    f"Set LABKIT_REGISTRY_PORT to a free port (e.g. `export LABKIT_REGISTRY_PORT={settings.registry_port + 1}`) "
                    "and run `labkit up` again.")


def base_image_status(settings: Settings, registry_up: bool) -> ServiceStatus:
    """The base image's row: pushed (with its number of platforms) or missing."""
    reference = f"{settings.registry}/{BASE_REPOSITORY}:{BASE_TAG}"
    index = Registry(settings.registry).get_manifest(BASE_REPOSITORY, BASE_TAG) if registry_up else None
    if index is None:
        return ServiceStatus("base image", "missing", None, reference, "")
    return ServiceStatus("base image", "pushed", None, reference, "", f"{len(index.json().get('manifests', []))} platforms")


class OwnEngine(Engine):
    """The lab's own services, started and stopped by pid; a kind of it says how a process is launched.

    `up` provisions what is missing and starts what is not running; `down` stops what the lab started, by pid.
    """

    context_description: ClassVar[str] = "lab sandbox daemon"  # how `docker context ls` describes its contexts
    daemon_settings: ClassVar[dict[str, object]] = {}  # daemon.json keys this kind adds to the lab's

    # --- how this kind launches a process -----------------------------------------------------------------------
    @abstractmethod
    def require(self) -> None:
        """What must hold before anything starts: prepared where it can be, a LabError naming what is missing."""

    @abstractmethod
    def open(self) -> None:
        """Make the place the services run in (the socket folder; for the rootless sandbox, its namespaces)."""

    @abstractmethod
    def in_place(self, spec: ProcessSpec) -> bool:
        """True when the service runs where it should (one left where it should not is stopped first)."""

    @abstractmethod
    def launch(self, spec: ProcessSpec) -> None:
        """Start a service."""

    @abstractmethod
    def clear(self, name: Daemon) -> None:
        """Remove what a daemon that does not run left behind (mounts, sockets, pid files), before it starts."""

    @abstractmethod
    def claim_port(self) -> None:
        """Before the registry starts: a LabError (`port_taken`) when another program has its port."""

    @abstractmethod
    def publish_registry(self) -> None:
        """Make the registry reachable on the host's loopback, once it runs."""

    @abstractmethod
    def close(self) -> list[str]:
        """After `down` stopped the services: what this kind still holds, undone; returns what it stopped."""

    def daemon_env(self, name: Daemon) -> tuple[tuple[str, str], ...]:
        """What a daemon's environment adds to the services'."""
        return ()

    def checked_rows(self, rows: list[ServiceStatus]) -> list[ServiceStatus]:
        """The status rows, as this kind judges them."""
        return rows

    def prerequisites(self) -> list[Check]:
        """The checks of what this machine lacks for this kind, shown before the environment check's lines."""
        return []

    # --- the same for both kinds ---------------------------------------------------------------------------------
    def spec_of(self, service: str) -> ProcessSpec:
        """How a service (`registry`, `classic` or `multiarch`) is started."""
        if service == "registry":
            return registry_spec(self.settings)
        name = daemon_named(service)
        return daemon_spec(self.settings, name, self.daemon_env(name))

    def daemon_config(self, name: Daemon) -> dict[str, object]:
        """daemon.json of one daemon of this kind."""
        return {**daemon_config(self.settings, name), **self.daemon_settings}

    def refuse_buildkit_tar(self, buildkit_tar: Path | None) -> None:
        """A moby/buildkit archive is for host mode: the sandboxes build with their own daemons' builders."""
        if buildkit_tar is not None:
            raise LabError(f"--buildkit-tar is for host mode: {self.title} builds with its own daemons' builders.",
                           "Run `LABKIT_MODE=host labkit up --buildkit-tar FILE` to use it with your Docker.")

    def up(self, buildkit_tar: Path | None = None, timeout: float = 60.0) -> Endpoints:
        self.refuse_buildkit_tar(buildkit_tar)
        self.require()
        settings = self.settings
        with locked(settings):
            record = packages.fetch(settings)
            packages.unpack(settings, record)
            self.open()
            self._start_registry()
            for name in DAEMONS:
                self._start_daemon(name)
            config.link_plugin(settings.docker_config, "docker-buildx", packages.buildx_plugin(settings))
            config.ensure_contexts(settings.bin_dir / "docker", settings.docker_config,
                                   {name: f"unix://{settings.socket(name)}" for name in DAEMONS}, self.context_description)
            self._wait_until_answering(timeout)
            registry = Registry(settings.registry)
            base_image.ensure_pushed(settings, registry, record)
            registry_image.ensure_pushed(settings, registry, record)
        return self.endpoints()

    def _start_registry(self) -> None:
        spec = self.spec_of("registry")
        write_if_changed(self.settings.service_dir("registry") / "config.yml", registry_config(self.settings))
        if not self.in_place(spec):
            self.claim_port()
            self.launch(spec)
        self.publish_registry()

    def _start_daemon(self, name: Daemon) -> None:
        spec = self.spec_of(name)
        folder = self.settings.service_dir(name)
        write_if_changed(folder / "daemon.json", json.dumps(self.daemon_config(name), indent=2) + "\n")
        if self.in_place(spec):
            data = folder / "data"
            if data.is_dir() and any(data.iterdir()):
                return
            print(f"labkit: the {name} daemon's data folder was emptied or removed under it; restarting it", flush=True)
            processes.stop(spec)
        self.clear(name)
        self.launch(spec)

    def _wait_until_answering(self, timeout: float) -> None:
        """Return when every service answers; a LabError quoting its log when one stops, or does not answer in time."""
        waiting = list(SERVICES)
        deadline = time.monotonic() + timeout
        while waiting and time.monotonic() < deadline:
            for name in list(waiting):
                service = self.spec_of(name)
                if answers(self.settings, name):
                    waiting.remove(name)
                elif processes.owned_pid(service) is None:
                    raise LabError(f"The {name} service stopped while starting:\n{processes.log_tail(service)}",
                                   f"Read its log ({service.log_file}), fix the cause, then run `labkit up` again.")
            time.sleep(0.05)
        if waiting:
            raise LabError(f"The {waiting[0]} service did not answer within {timeout:.0f} s.",
                           "Run `labkit status` and read its log, then `labkit up` again.")

    def down(self) -> list[str]:
        with locked(self.settings):
            stopped = [name for name in (*DAEMONS, "registry") if processes.stop(self.spec_of(name))]
            return stopped + self.close()

    def status(self) -> list[ServiceStatus]:
        """One row per service: registry, the daemons, the base image and QEMU (every platform of the base image this
        machine does not run itself; when one is missing, the emulator fix adds it)."""
        settings = self.settings
        rows = []
        for name in SERVICES:
            service = self.spec_of(name)
            pid = processes.owned_pid(service)
            address = f"http://{settings.registry}" if name == "registry" else f"unix://{settings.socket(daemon_named(name))}"
            running = pid is not None and answers(settings, name)
            state: ServiceState = "running" if running else ("not answering" if pid else "stopped")
            rows.append(ServiceStatus(name, state, pid, address, str(service.log_file)))
        rows.append(base_image_status(settings, registry_up=rows[0].state == "running"))
        found = emulators.states(settings)
        ready = emulators.ready(found)
        summary = emulators.summary(found)
        detail = summary if ready else f"{summary}; add them: {emulators.fix(found, self.emulator_fix())}"
        rows.append(ServiceStatus("qemu", "registered" if ready else "missing", None, "binfmt_misc", "", detail))
        return self.checked_rows(rows)

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
        """The environment check: this kind's missing prerequisites, then the packages fetched, QEMU, the registry, each
        daemon on its image store, the base image. The lines are the same whoever runs the daemons."""
        settings, endpoints = self.settings, self.endpoints()
        by_name = {row.service: row for row in self.status()}
        record = {(p.package, p.arch) for p in packages.read_record(settings)}
        fetched = all((name, settings.host_arch) in record for name in packages.ENGINE_PACKAGES)
        found = emulators.states(settings)

        def store(name: Daemon) -> ImageStore:
            return image_store(endpoints, name) if by_name[name].ready else "unknown"

        return [
            *self.prerequisites(),
            Check(fetched, "Docker engine, CLI, buildx, containerd and registry fetched from Debian",
                  "`labkit up` (it downloads them once)"),
            Check(emulators.ready(found), emulators.CHECK, emulators.fix(found, self.emulator_fix())),
            Check(by_name["registry"].ready, f"registry answers on {settings.registry}",
                  "`labkit up`; if the port is taken, set LABKIT_REGISTRY_PORT"),
            *(Check(store(name) == STORES[name], f"{name} daemon answers and uses the {STORES[name]} image store",
                    "`labkit up`, then `labkit status`") for name in DAEMONS),
            Check(by_name["base image"].ready, "busybox base image is in the local registry",
                  "`labkit up` (it builds and pushes the base image)"),
        ]
