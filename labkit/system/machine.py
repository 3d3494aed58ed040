"""What this machine and this process are: the user the lab runs as, whether it has apt, its programs' folders."""

from __future__ import annotations

import os
import shutil
import sys

from labkit.settings import SYSTEM_PATH


def euid() -> int:
    """This process's effective uid (0 where the platform has none, as on Windows)."""
    return os.geteuid() if hasattr(os, "geteuid") else 0


def user_name(uid: int) -> str:
    """A uid's login name (the uid itself when it has none)."""
    import pwd  # Unix only

    try:
        return pwd.getpwuid(uid).pw_name
    except KeyError:
        return str(uid)


def has_apt() -> bool:
    """True on Linux with apt-get: where the lab can fetch and run its own engine."""
    return sys.platform == "linux" and shutil.which("apt-get") is not None


def has_program(name: str) -> bool:
    """True when a program is installed in the system's folders (sbin included)."""
    return shutil.which(name, path=SYSTEM_PATH) is not None

