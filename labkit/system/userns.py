"""What the kernel and the machine allow an unprivileged user: user namespaces (and AppArmor's restriction of them),
overlayfs inside one, the tun device, setuid helpers (binfmt_misc is system/binfmt.py's).

Every function reads files under `root` (the machine's `/` unless a test gives a folder of captured files).
"""

from __future__ import annotations

import os
import re
import stat
from dataclasses import dataclass
from pathlib import Path

ROOT = Path("/")
OVERLAY_IN_USERNS = (5, 11)  # the first kernel that mounts overlayfs in a user namespace


def _read(root: Path, path: str) -> str | None:
    try:
        return (root / path.lstrip("/")).read_text().strip()
    except OSError:
        return None


@dataclass(frozen=True)
class Sysctl:
    """A kernel setting that must have a given value, what it has, and the command that sets it."""

    name: str  # dotted, as sysctl spells it
    value: str | None  # None: this kernel has no such setting
    wanted: str

    @property
    def ok(self) -> bool:
        """True when the setting is absent (the kernel does not restrict this) or has an acceptable value."""
        return self.value is None or self.value == self.wanted or (self.wanted == ">0" and self.value.isdigit()
                                                                      and int(self.value) > 0)

    @property
    def fix(self) -> str:
        """The command that sets it (until the next boot; /etc/sysctl.d keeps it)."""
        value = "15000" if self.wanted == ">0" else self.wanted
        return f"sudo sysctl -w {self.name}={value}"


def userns_sysctls(root: Path = ROOT) -> list[Sysctl]:
    """The settings that can forbid unprivileged user namespaces: Debian's older switch and the per-user limit."""
    return [
        Sysctl("kernel.unprivileged_userns_clone", _read(root, "/proc/sys/kernel/unprivileged_userns_clone"), "1"),
        Sysctl("user.max_user_namespaces", _read(root, "/proc/sys/user/max_user_namespaces"), ">0"),
    ]


def apparmor_restricts_userns(root: Path = ROOT) -> bool:
    """True where AppArmor lets only programs with a profile that allows it create user namespaces (Ubuntu 23.10+,
    24.04 by default)."""
    return _read(root, "/proc/sys/kernel/apparmor_restrict_unprivileged_userns") == "1"


def kernel_release(root: Path = ROOT) -> str:
    """The running kernel's release, e.g. `6.8.0-45-generic`."""
    return _read(root, "/proc/sys/kernel/osrelease") or os.uname().release


def kernel_version(release: str) -> tuple[int, int]:
    """(major, minor) of a kernel release string; (0, 0) when it cannot be read."""
    found = re.match(r"(\d+)\.(\d+)", release)
    return (int(found.group(1)), int(found.group(2))) if found else (0, 0)


def overlay_in_userns(release: str) -> bool:
    """True when the kernel can mount overlayfs in a user namespace (what both image stores use here)."""
    return kernel_version(release) >= OVERLAY_IN_USERNS


def cgroup_v2(root: Path = ROOT) -> bool:
    """True on the unified cgroup hierarchy; on cgroup v1 a rootless engine runs with no cgroup driver, so resource
    limits (`--memory`, `--cpus`) are ignored."""
    return (root / "sys/fs/cgroup/cgroup.controllers").exists()


def tun_usable(device: Path = Path("/dev/net/tun")) -> bool:
    """True when this user may open the tun device (slirp4netns, RootlessKit's network, needs it)."""
    return os.access(device, os.R_OK | os.W_OK)


def tun_open_to_all(device: Path = Path("/dev/net/tun")) -> bool:
    """True when the tun device is readable and writable by every user, as Debian's and Ubuntu's udev make it."""
    try:
        return stat.S_IMODE(device.stat().st_mode) & 0o006 == 0o006
    except OSError:
        return False


def may_set_ids(program: Path) -> bool:
    """True when newuidmap or newgidmap can write another user's id map: setuid root, or file capabilities."""
    try:
        info = program.stat()
    except OSError:
        return False
    if info.st_uid == 0 and info.st_mode & stat.S_ISUID:
        return True
    try:
        return bool(os.getxattr(program, "security.capability"))
    except OSError:
        return False
