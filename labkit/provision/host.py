"""The few system-wide parts the sandbox needs: root, runc, and QEMU user emulation.

Only these are installed with apt, and only when missing; everything else
lives in the lab's own folders.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

from labkit.errors import LabError
from labkit.settings import Settings

BINFMT_DIR = Path("/proc/sys/fs/binfmt_misc")
# QEMU emulator each host needs in order to run the other main architecture.
_FOREIGN_EMULATOR = {"amd64": "qemu-aarch64", "arm64": "qemu-x86_64"}


def require_root() -> None:
    """Stop with a clear message when the daemons cannot be started by this user."""
    if os.geteuid() != 0:
        raise LabError(
            "The sandbox runs its own Docker daemons, and that needs root.",
            "Run it as root (for example `sudo -E make lab` or `sudo -E labkit up`), "
            "or run the experiment on your own Docker engine instead.",
        )


def _apt_install(packages: list[str]) -> None:
    print(f"labkit: installing {' '.join(packages)} with apt (missing on this machine)", flush=True)
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    result = subprocess.run(["apt-get", "install", "-y", "--no-install-recommends", *packages],
                            env=env, stdout=2, stderr=subprocess.PIPE, text=True, check=False)
    if result.returncode != 0:
        raise LabError(
            f"apt-get install {' '.join(packages)} failed: {result.stderr.strip()[-300:]}",
            "Run `apt-get update` and try again, or install those packages yourself.",
        )


def ensure_runc() -> None:
    """runc is what containerd starts containers with."""
    if shutil.which("runc", path="/usr/sbin:/usr/bin:/sbin:/bin") is None:
        _apt_install(["runc"])


def emulator_name(settings: Settings) -> str:
    """binfmt_misc entry the sandbox relies on to run the other architecture."""
    return _FOREIGN_EMULATOR.get(settings.host_arch, "qemu-aarch64")


def emulator_registered(settings: Settings) -> bool:
    """True when binfmt_misc runs the other architecture's binaries through QEMU."""
    entry = BINFMT_DIR / emulator_name(settings)
    try:
        return entry.read_text().startswith("enabled")
    except OSError:
        return False


def emulator_flags(name: str) -> str:
    """The flags of a binfmt_misc entry (`F`: the interpreter is opened once, so it works in any mount namespace)."""
    try:
        text = (BINFMT_DIR / name).read_text()
    except OSError:
        return ""
    return next((line.split(":", 1)[1].strip() for line in text.splitlines() if line.startswith("flags:")), "")


def registered_emulators() -> list[str]:
    """Names of the enabled qemu-* entries in binfmt_misc."""
    if not BINFMT_DIR.is_dir():
        return []
    return sorted(p.name for p in BINFMT_DIR.glob("qemu-*") if p.read_text().startswith("enabled"))


def ensure_qemu(settings: Settings) -> None:
    """Register QEMU user emulation (qemu-user-static + binfmt_misc) when it is missing."""
    if emulator_registered(settings):
        return
    if not (BINFMT_DIR / "register").exists():
        result = subprocess.run(["mount", "-t", "binfmt_misc", "binfmt_misc", str(BINFMT_DIR)], capture_output=True, text=True, check=False)
        if result.returncode != 0:
            raise LabError(
                f"binfmt_misc could not be mounted: {result.stderr.strip()}",
                "Run the lab where the kernel allows binfmt_misc (a VM or a privileged container).",
            )
    if shutil.which("update-binfmts") is None or not Path(f"/usr/bin/{emulator_name(settings)}-static").exists():
        _apt_install(["qemu-user-static", "binfmt-support"])
    subprocess.run(["update-binfmts", "--enable"], capture_output=True, check=False)
    if not emulator_registered(settings):
        raise LabError(
            f"QEMU user emulation ({emulator_name(settings)}) is not registered in binfmt_misc.",
            "Run `update-binfmts --display` to see why, or reinstall qemu-user-static.",
        )


def ensure_prerequisites(settings: Settings) -> None:
    """Root, runc and QEMU: what must be system-wide."""
    require_root()
    ensure_runc()
    ensure_qemu(settings)
