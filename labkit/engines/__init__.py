"""Engines the experiment runs on, seen by the rest of the lab only through `Engine` and its endpoints.

This is the one place that knows the modes: `choose` maps the settings' mode to a kind of engine.
"""

from __future__ import annotations

import os

from labkit.engines.base import DAEMONS, Daemon, Engine
from labkit.engines.host import HostEngine
from labkit.engines.rootless import RootlessEngine
from labkit.engines.sandbox import SandboxEngine
from labkit.settings import Mode, Settings, default_mode

KINDS: dict[Mode, type[Engine]] = {"sandbox": SandboxEngine, "rootless": RootlessEngine, "host": HostEngine}

__all__ = ["DAEMONS", "KINDS", "Daemon", "Engine", "choose", "classic_store_sandbox"]


def choose(settings: Settings) -> Engine:
    """The engine the settings ask for."""
    return KINDS[settings.mode](settings)


def classic_store_sandbox() -> Engine | None:
    """The sandbox, where step 2's failure can be shown on a classic image store, when it can run on this machine."""
    if default_mode() != "sandbox":
        return None
    clean = {name: value for name, value in os.environ.items() if not name.startswith("LABKIT_")}
    return SandboxEngine(Settings.from_env({**clean, "LABKIT_MODE": "sandbox"}))

