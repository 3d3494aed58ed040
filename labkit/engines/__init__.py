"""Engines the experiment runs on, seen by the rest of the lab only through `Engine` and its endpoints.

This is the one place that knows the modes: `choose` decides the mode the settings leave open and maps it to a kind
of engine. The sandbox and the rootless sandbox are siblings over `own.OwnEngine` (the lab's own services); host mode
drives the learner's Docker.
"""

from __future__ import annotations

import dataclasses

from labkit.engines.base import DAEMONS, Daemon, Engine
from labkit.engines.host import HostEngine
from labkit.engines.rootless import RootlessEngine
from labkit.engines.sandbox import SandboxEngine
from labkit.settings import Mode, Settings
from labkit.system import machine, subids

KINDS: dict[Mode, type[Engine]] = {"sandbox": SandboxEngine, "rootless": RootlessEngine, "host": HostEngine}

__all__ = ["DAEMONS", "KINDS", "Daemon", "Engine", "choose", "default_mode"]


def default_mode() -> Mode:
    """`sandbox` where the lab can run its own engine as root (Linux, apt); `rootless` for a user whom an administrator
    prepared for it (`labkit prepare-host`); else `host` (the learner's Docker)."""
    if not machine.has_apt():
        return "host"
    uid = machine.euid()
    if uid == 0:
        return "sandbox"
    return "rootless" if subids.prepared(uid) else "host"


def choose(settings: Settings) -> Engine:
    """The engine the settings ask for (LABKIT_MODE), or the one this machine offers when they leave it open."""
    mode = settings.mode or default_mode()
    return KINDS[mode](dataclasses.replace(settings, mode=mode))
