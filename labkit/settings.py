"""Where the sandbox keeps things, which ports it uses and what it fetches: data, and nothing else.

Every location, port and name lives here, and each can be overridden by an
environment variable, so several sandboxes can live side by side on one host.
The defaults come from the process alone (its environment, uid, home and machine
architecture); what the host offers (apt, newuidmap, subordinate ids) is asked in
`labkit.system`, and the mode left unset is decided by `labkit.engines.choose`.
"""

from __future__ import annotations

import os
import platform as _platform
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from labkit.errors import LabError

# Debian architecture -> OCI platform, for every architecture Debian builds
# busybox-static for in the base-image suite.
DEBIAN_PLATFORMS: dict[str, str] = {
    "amd64": "linux/amd64",
    "arm64": "linux/arm64",
    "armel": "linux/arm/v5",
    "armhf": "linux/arm/v7",
    "i386": "linux/386",
    "ppc64el": "linux/ppc64le",
    "riscv64": "linux/riscv64",
    "s390x": "linux/s390x",
}

# Where the system's programs are, for the services the lab starts and the programs it looks up (sbin included).
SYSTEM_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
_MACHINE_TO_DEBIAN = {"x86_64": "amd64", "aarch64": "arm64", "arm64": "arm64"}


def host_debian_arch() -> str:
    """The Debian architecture name of this machine (amd64 or arm64)."""
    machine = _platform.machine()
    return _MACHINE_TO_DEBIAN.get(machine, machine)


def oci_architecture(debian_arch: str) -> str:
    """A Debian architecture by its OCI name (`armhf` → `arm`; `amd64` stays `amd64`)."""
    return DEBIAN_PLATFORMS.get(debian_arch, f"linux/{debian_arch}").split("/")[1]


Mode = Literal["sandbox", "rootless", "host"]
MODES: tuple[Mode, ...] = ("sandbox", "rootless", "host")


@dataclass(frozen=True)
class RegistryAddress:
    """Where a registry listens: host and port, printed `host:port` as image references use it."""

    host: str
    port: int

    def __str__(self) -> str:
        return f"{self.host}:{self.port}"


def default_registry_port(uid: int) -> int:
    """5000 for root's lab (one a machine); for a user's, a port of its own, from the uid (20000-29999), so that
    several learners' labs listen side by side."""
    return 5000 if uid == 0 else 20000 + uid % 10000


def default_run_dir(name: str, uid: int, environ: Mapping[str, str]) -> Path:
    """Where daemon sockets go: /tmp/mlab-NAME for root; a user's own XDG_RUNTIME_DIR when it has one, else a folder
    under /tmp named after the uid too."""
    if uid == 0:
        return Path(f"/tmp/mlab-{name}")
    runtime = environ.get("XDG_RUNTIME_DIR", "")
    if runtime and Path(runtime).is_absolute():
        return Path(runtime) / f"mlab-{name}"
    return Path(f"/tmp/mlab-{uid}-{name}")


def _xdg(var: str, fallback: str, environ: Mapping[str, str]) -> Path:
    return Path(environ.get(var) or Path.home() / fallback)


@dataclass(frozen=True)
class Settings:
    """Every location, port and name one sandbox uses."""

    name: str
    cache_dir: Path
    state_dir: Path
    run_dir: Path
    registry_host: str = "127.0.0.1"
    registry_port: int = 5000
    debian_mirror: str = "http://deb.debian.org/debian"
    engine_suite: str = "forky"
    base_suite: str = "trixie"
    base_arches: tuple[str, ...] = tuple(DEBIAN_PLATFORMS)
    host_arch: str = field(default_factory=host_debian_arch)
    mode: Mode | None = None  # None: `engines.choose` decides from what the machine offers
    host_docker: str = ""
    class_mirror: str = ""  # host:port of a class-wide base-image cache the daemons use as a mirror (labkit class)

    @classmethod
    def from_env(cls, environ: Mapping[str, str] = os.environ) -> Settings:
        """Settings with every LABKIT_* variable of the environment applied."""

        def _env(name: str, default: str) -> str:
            return environ.get(name) or default

        name = _env("LABKIT_NAME", "lab")
        uid = os.geteuid() if hasattr(os, "geteuid") else 0  # the process's own uid, as environ is its own environment
        state_default = _xdg("XDG_STATE_HOME", ".local/state", environ) / "multiarch-lab" / name
        cache_default = _xdg("XDG_CACHE_HOME", ".cache", environ) / "multiarch-lab"
        port_text = _env("LABKIT_REGISTRY_PORT", str(default_registry_port(uid)))
        if not re.fullmatch(r"[0-9]{1,5}", port_text) or not 0 < int(port_text) < 65536:
            raise LabError(
                f"LABKIT_REGISTRY_PORT={port_text!r} is not a port number.",
                "Set it to a free TCP port between 1 and 65535, e.g. LABKIT_REGISTRY_PORT=5001.",
            )
        arches = tuple(a.strip() for a in _env("LABKIT_BASE_ARCHES", ",".join(DEBIAN_PLATFORMS)).split(",") if a.strip())
        unknown = [a for a in arches if a not in DEBIAN_PLATFORMS]
        if unknown or not {"amd64", "arm64"} <= set(arches):
            raise LabError(
                f"LABKIT_BASE_ARCHES={','.join(arches)!r} is not a list of busybox-static architectures with amd64 and arm64"
                + (f" (unknown: {', '.join(unknown)})." if unknown else "."),
                f"Use names from: {', '.join(DEBIAN_PLATFORMS)}; or unset it to build all of them.",
            )
        mode = environ.get("LABKIT_MODE") or None
        if mode is not None and mode not in MODES:
            raise LabError(f"LABKIT_MODE={mode!r} is not a mode of the lab.",
                           "Use LABKIT_MODE=sandbox (the lab's own engine, as root), LABKIT_MODE=rootless (the lab's own "
                           "engine, as your user) or LABKIT_MODE=host (your Docker).")
        settings = cls(
            name=name,
            cache_dir=Path(_env("LABKIT_CACHE_DIR", str(cache_default))),
            state_dir=Path(_env("LABKIT_STATE_DIR", str(state_default))),
            run_dir=Path(_env("LABKIT_RUN_DIR", str(default_run_dir(name, uid, environ)))),
            registry_port=int(port_text),
            debian_mirror=_env("LABKIT_DEBIAN_MIRROR", "http://deb.debian.org/debian"),
            engine_suite=_env("LABKIT_ENGINE_SUITE", "forky"),
            base_suite=_env("LABKIT_BASE_SUITE", "trixie"),
            base_arches=arches,
            mode=mode,
            host_docker=environ.get("LABKIT_DOCKER_HOST", ""),
            class_mirror=environ.get("LABKIT_CLASS_MIRROR", ""),
        )
        longest = max(len(str(settings.socket(daemon))) for daemon in ("classic", "multiarch"))
        if longest > 100:
            raise LabError(
                f"The daemon sockets would be {longest} bytes long; Unix sockets are limited to about 108.",
                "Use a shorter LABKIT_NAME or LABKIT_RUN_DIR (the default is /tmp/mlab-<name>, or for a user, "
                "$XDG_RUNTIME_DIR/mlab-<name> or /tmp/mlab-<uid>-<name>).",
            )
        return settings

    # --- downloads, shared by every sandbox on the host -------------------
    @property
    def apt_dir(self) -> Path:
        """Private apt state: sources, lists; the system's apt is never touched."""
        return self.cache_dir / "apt"

    @property
    def debs_dir(self) -> Path:
        """Downloaded .deb files."""
        return self.cache_dir / "debs"

    @property
    def root_dir(self) -> Path:
        """The engine packages, unpacked."""
        return self.cache_dir / "root"

    @property
    def record_file(self) -> Path:
        """What was fetched: package, version, architecture, sha256."""
        return self.cache_dir / "packages.json"

    @property
    def bin_dir(self) -> Path:
        """The lab's `docker`, `dockerd`, `containerd`, ... (links into root_dir)."""
        return self.cache_dir / "bin"

    # --- this sandbox ------------------------------------------------------
    @property
    def docker_config(self) -> Path:
        """The lab's own DOCKER_CONFIG (contexts, builders, the buildx plugin)."""
        return self.state_dir / "docker-config"

    @property
    def work_dir(self) -> Path:
        """The learner's working folder (the Dockerfile and build context), outside the repository."""
        return self.state_dir / "work"

    @property
    def host_dir(self) -> Path:
        """Host mode's own folder: a DOCKER_CONFIG pointing at the learner's engine, and what the lab created there."""
        return self.state_dir / "host"

    @property
    def lock_file(self) -> Path:
        """Held while `labkit up` or `down` runs."""
        return self.state_dir / "lock"

    def service_dir(self, service: str) -> Path:
        """State folder of one service: data, config, pid file and log."""
        return self.state_dir / service

    def socket(self, service: str) -> Path:
        """Unix socket of a daemon (kept short: sockets are limited to ~108 bytes)."""
        return self.run_dir / f"{service}.sock"

    @property
    def registry(self) -> RegistryAddress:
        """Where the sandbox's registry listens."""
        return RegistryAddress(self.registry_host, self.registry_port)

    @property
    def registry_address(self) -> str:
        """host:port of the sandbox's registry, as configuration files and image references spell it."""
        return str(self.registry)
