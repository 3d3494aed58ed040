"""Engines the experiment runs on, seen by the rest of the lab only through `Engine` and its endpoints.

This is the one place that knows the modes: `choose` maps the settings' mode to a kind of engine.
"""

from __future__ import annotations

import os

from labkit.docker.endpoints import Endpoints
from labkit.docker.podman import Podman
from labkit.engines import rootless
from labkit.engines.base import DAEMONS, Daemon, Engine
from labkit.engines.host import HostEngine
from labkit.engines.rootless import RootlessEngine
from labkit.engines.sandbox import SandboxEngine
from labkit.errors import LabError
from labkit.provision import podman as podman_provision
from labkit.settings import Mode, Settings, default_mode

KINDS: dict[Mode, type[Engine]] = {"sandbox": SandboxEngine, "rootless": RootlessEngine, "host": HostEngine}

__all__ = ["DAEMONS", "KINDS", "Daemon", "Engine", "choose", "classic_store_sandbox", "podman"]


def choose(settings: Settings) -> Engine:
    """The engine the settings ask for."""
    return KINDS[settings.mode](settings)


def classic_store_sandbox() -> Engine | None:
    """The sandbox, where step 2's failure can be shown on a classic image store, when it can run on this machine."""
    if default_mode() != "sandbox":
        return None
    clean = {name: value for name, value in os.environ.items() if not name.startswith("LABKIT_")}
    return SandboxEngine(Settings.from_env({**clean, "LABKIT_MODE": "sandbox"}))


def podman(settings: Settings, endpoints: Endpoints) -> Podman:
    """podman beside the engine, pushing to its registry (fetched on first use): as root in the sandbox, inside the
    rootless sandbox's namespaces for a user; host mode has none."""
    if settings.mode == "sandbox":
        return podman_provision.ensure(settings, endpoints.registry, endpoints.mirror)
    if settings.mode == "rootless":
        holder_file = rootless.rootlesskit_dir(settings) / "child_pid"
        return podman_provision.ensure(settings, endpoints.registry, endpoints.mirror, holder_file)
    raise LabError("In host mode the lab does not install podman on your machine.",
                   "Install podman >= 4 yourself and type the commands shown, or run the lab as root (the sandbox).")
