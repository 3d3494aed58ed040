"""The environment check: is everything the lab needs here, and answering?"""

from __future__ import annotations

import importlib.util
import sys
from dataclasses import dataclass

from labkit.engine import facts, modes, sandbox
from labkit.provision import host, packages
from labkit.settings import Settings


@dataclass(frozen=True)
class Check:
    """One line of the environment check."""

    ok: bool
    what: str
    next_step: str


def _python_checks() -> list[Check]:
    missing = [name for name in ("python_on_whales", "pandas", "nbval", "jupyterlab") if importlib.util.find_spec(name) is None]
    return [
        Check(sys.version_info >= (3, 11), "Python 3.11 or newer", "installing Python 3.11+ and running `make setup`"),
        Check(not missing, "python-on-whales, pandas, nbval and jupyterlab are installed",
              f"`make setup` (missing: {', '.join(missing)})"),
    ]


def _host_checks(settings: Settings) -> list[Check]:
    endpoints = modes.endpoints(settings)
    engine = facts.engine_facts(endpoints, endpoints.classic_context)
    rows = {row.service: row for row in modes.status(settings)}
    return [
        *_python_checks(),
        Check(engine.answers, f"your Docker engine answers ({engine.engine_version or engine.error})",
              "starting Docker, or setting LABKIT_DOCKER_HOST"),
        Check(bool(engine.buildx_version), "the buildx plugin is installed", "installing docker-buildx-plugin"),
        Check(rows.get("registry") is not None and rows["registry"].state == "running",
              f"the lab's registry container answers on {endpoints.registry}", "`labkit up`"),
    ]


def environment(settings: Settings) -> list[Check]:
    """Every check, in the order a problem should be fixed."""
    if settings.mode == "host":
        return _host_checks(settings)
    rows = {row.service: row for row in sandbox.status(settings)}
    record = {(p.package, p.arch) for p in packages.read_record(settings)}
    engine_fetched = all((name, settings.host_arch) in record for name in packages.ENGINE_PACKAGES)

    def running(name: str) -> bool:
        return rows[name].state == "running"

    def store(name: str) -> str:
        return facts.image_store(sandbox.endpoints(settings), name) if running(name) else "unknown"

    return [
        *_python_checks(),
        Check(engine_fetched, "Docker engine, CLI, buildx, containerd and registry fetched from Debian",
              "`labkit up` (it downloads them once)"),
        Check(host.emulator_registered(settings), f"QEMU user emulation registered ({host.emulator_name(settings)})",
              "`labkit up` as root (it installs qemu-user-static and registers it)"),
        Check(running("registry"), f"registry answers on {settings.registry_address}",
              "`labkit up`; if the port is taken, set LABKIT_REGISTRY_PORT"),
        Check(store("classic") == "classic", "classic daemon answers and uses the classic image store",
              "`labkit up`, then `labkit status`"),
        Check(store("multiarch") == "containerd", "multiarch daemon answers and uses the containerd image store",
              "`labkit up`, then `labkit status`"),
        Check(rows["base image"].state.startswith("pushed"), "busybox base image is in the local registry",
              "`labkit up` (it builds and pushes the base image)"),
    ]
