"""The sandbox: the lab's own services (own.py) run as root, each launched directly.

`up` first installs what the host lacks (runc, iptables, QEMU's emulators) through provision/host.py.
"""

from __future__ import annotations

import sys
from typing import ClassVar

from labkit.docker.endpoints import Endpoints
from labkit.docker.podman import Podman
from labkit.engines.base import Daemon
from labkit.engines.own import OwnEngine, port_taken
from labkit.provision import host
from labkit.provision import podman as podman_provision
from labkit.settings import Mode
from labkit.system import mounts, network, processes
from labkit.system.processes import ProcessSpec

EMULATOR_FIX = "`sudo labkit up` (it registers QEMU for every platform of the base image)"


class SandboxEngine(OwnEngine):
    """The lab's own engine as root: two dockerds (classic and containerd image store) and a registry, on loopback."""

    mode: ClassVar[Mode] = "sandbox"
    title: ClassVar[str] = "the sandbox"
    first_start: ClassVar[str] = "the first time this downloads about 85 MB"

    def require(self) -> None:
        for change in host.ensure_prerequisites(self.settings):
            print(f"labkit: {change}", file=sys.stderr, flush=True)

    def open(self) -> None:
        self.settings.run_dir.mkdir(mode=0o700, parents=True, exist_ok=True)

    def in_place(self, spec: ProcessSpec) -> bool:
        return processes.owned_pid(spec) is not None

    def launch(self, spec: ProcessSpec) -> None:
        processes.start(spec)

    def clear(self, name: Daemon) -> None:
        settings = self.settings
        mounts.unmount(mounts.sandbox_folders(settings, name))  # left by a daemon that was killed
        for stale in (settings.socket(name), settings.run_dir / f"{name}.pid"):
            stale.unlink(missing_ok=True)

    def claim_port(self) -> None:
        if not network.port_is_free(self.settings.registry_host, self.settings.registry_port):
            raise port_taken(self.settings)

    def publish_registry(self) -> None:
        """The registry listens on the host's loopback itself."""

    def close(self) -> list[str]:
        mounts.unmount(mounts.sandbox_folders(self.settings))  # daemons leave their data and netns mounts behind
        return []

    def emulator_fix(self) -> str:
        return EMULATOR_FIX

    def podman(self, endpoints: Endpoints) -> Podman:
        return podman_provision.ensure(self.settings, endpoints.registry, endpoints.mirror)
