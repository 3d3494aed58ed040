"""The few system-wide parts the sandbox needs: root, runc, and QEMU user emulation.

Only these are installed with apt, and only when missing; everything else
lives in the lab's own folders.
"""

from __future__ import annotations

import os
import shutil

from labkit.errors import LabError
from labkit.provision import emulators
from labkit.settings import SYSTEM_PATH, Settings
from labkit.system import apt

UP_AGAIN = "run `labkit up` again"


def require_root() -> None:
    """Stop with a clear message when the daemons cannot be started by this user."""
    if os.geteuid() != 0:
        raise LabError(
            "The sandbox runs its own Docker daemons, and that needs root.",
            "Run it as root (for example `sudo -E make lab` or `sudo -E labkit up`), "
            "or run the experiment on your own Docker engine instead.",
        )


def ensure_runc() -> None:
    """runc is what containerd starts containers with."""
    if shutil.which("runc", path=SYSTEM_PATH) is None:
        apt.install(["runc"], f"Run `apt-get update` and {UP_AGAIN}, or install runc yourself.")


def ensure_prerequisites(settings: Settings) -> list[str]:
    """Root, runc and QEMU for every platform of the base image: what must be system-wide; one line per change."""
    require_root()
    ensure_runc()
    return emulators.ensure(settings, UP_AGAIN)
