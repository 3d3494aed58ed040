"""QEMU user emulation for every platform of the base image this machine does not run itself, from one place.

`labkit up` as root, `labkit prepare-host` and `labkit class up` all call `ensure`: it installs QEMU's static
emulators when their binfmt descriptions are missing, mounts binfmt_misc when it is not, and registers each entry the
base image needs and binfmt_misc lacks, with the F flag (the kernel opens the interpreter when the entry is
registered, so it works in containers and in the rootless sandbox's namespaces, which cannot see its path). Entries
already registered are left as they are, whoever made them: one without the F flag, or disabled, is reported with the
command that lets the lab register it again, never replaced.
"""

from __future__ import annotations

import re
import shutil
from collections.abc import Sequence
from pathlib import Path

from labkit.errors import LabError
from labkit.results import Emulation, EmulationState
from labkit.settings import DEBIAN_PLATFORMS, Settings, oci_architecture
from labkit.system import apt, binfmt, run

BINFMT_DIR = Path(binfmt.BINFMT_MISC)
BINFMT_D = Path("/usr/lib/binfmt.d")  # systemd's format: one `:name:type:offset:magic:mask:interpreter:flags` line
BINFMTS = Path("/usr/share/binfmts")  # binfmt-support's format: `key value` lines
CHECK = "QEMU user emulation registered for every platform of the base image this machine does not run itself"
QEMU_SPLIT = (9, 1)  # from QEMU 9.1 on, Debian's static emulators are in qemu-user, their binfmt entries in qemu-user-binfmt


def platforms(settings: Settings) -> list[str]:
    """The base image's platforms, in its order."""
    return [DEBIAN_PLATFORMS[arch] for arch in settings.base_arches]


def host_architecture(settings: Settings) -> str:
    """This machine's architecture, by its OCI name (`amd64`)."""
    return oci_architecture(settings.host_arch)


def needed(settings: Settings) -> list[tuple[str, str]]:
    """(platform, binfmt_misc entry) for each platform of the base image that needs QEMU here."""
    native = host_architecture(settings)
    return [(platform, binfmt.emulator_for(platform)) for platform in platforms(settings)
            if not binfmt.native(platform, native)]


def _state(entry: binfmt.BinfmtEntry | None) -> EmulationState:
    if entry is None:
        return "missing"
    if not entry.enabled:
        return "disabled"
    return "registered" if entry.fix_binary else "no F flag"


def states(settings: Settings, root: Path = binfmt.ROOT) -> list[Emulation]:
    """Each platform that needs QEMU here, and the state of its entry in binfmt_misc."""
    return [Emulation(platform, name, _state(binfmt.entry(name, root))) for platform, name in needed(settings)]


def registered() -> list[str]:
    """Names of the enabled qemu-* entries in binfmt_misc, whatever made them."""
    return [entry.name for entry in binfmt.entries() if entry.enabled and entry.name.startswith("qemu-")]


def ready(found: Sequence[Emulation]) -> bool:
    """True when every platform that needs QEMU has it, with the F flag."""
    return all(emulation.ready for emulation in found)


def summary(found: Sequence[Emulation]) -> str:
    """`6 of 6: linux/arm64, …`, or which entries are missing or unusable, by platform."""
    ok = [e.platform for e in found if e.ready]
    head = f"{len(ok)} of {len(found)}"
    if len(ok) == len(found):
        return f"{head}: {', '.join(ok)}" if found else "none needed: the machine runs every platform itself"
    problems: dict[tuple[str, EmulationState], list[str]] = {}
    for emulation in found:
        if not emulation.ready:
            problems.setdefault((emulation.emulator, emulation.state), []).append(emulation.platform)
    said = "; ".join(f"{name} {state} ({', '.join(names)})" for (name, state), names in problems.items())
    return f"{head}: {said}"


def upstream_version(debian_version: str) -> tuple[int, int]:
    """(major, minor) of a Debian version string such as `1:10.0.13+ds-0+deb13u1`; (0, 0) when there is none."""
    found = re.match(r"(?:\d+:)?(\d+)\.(\d+)", debian_version.strip())
    return (int(found.group(1)), int(found.group(2))) if found else (0, 0)


def qemu_packages(candidate: str) -> list[str]:
    """The packages that give static QEMU emulators and their binfmt entries, by the candidate version of qemu-user:
    qemu-user-static and binfmt-support up to Debian 12 (QEMU 7.2) and Ubuntu 24.04 (8.2); from QEMU 9.1 (Debian 13
    and later) qemu-user holds the static emulators and qemu-user-binfmt their entries."""
    if upstream_version(candidate) >= QEMU_SPLIT:
        return ["qemu-user", "qemu-user-binfmt"]
    return ["qemu-user-static", "binfmt-support"]


def register_line(name: str, binfmt_d: Path = BINFMT_D, binfmts: Path = BINFMTS) -> str | None:
    """The line to write to binfmt_misc's `register` for an emulator, with the F flag, from the description its
    package installed (systemd's binfmt.d, else binfmt-support's); None when there is none."""
    for conf in sorted(binfmt_d.glob("*.conf")) if binfmt_d.is_dir() else []:
        for line in conf.read_text().splitlines():
            if line.startswith(f":{name}:"):
                fields = line.strip().split(":")
                if len(fields) >= 8:
                    flags = fields[7] if "F" in fields[7] else fields[7] + "F"
                    return ":".join([*fields[:7], flags])
    description = binfmts / name
    if description.is_file():
        keys = {key: value.strip() for key, _, value in (line.partition(" ") for line in description.read_text().splitlines())}
        if keys.get("magic") and keys.get("interpreter"):
            flags = "F" + ("P" if keys.get("preserve") == "yes" else "") + ("C" if keys.get("credentials") == "yes" else "")
            return f":{name}:M:{keys.get('offset', '0')}:{keys['magic']}:{keys.get('mask', '')}:{keys['interpreter']}:{flags}"
    return None


def _mount() -> None:
    if (BINFMT_DIR / "register").exists():
        return
    run.check(["mount", "-t", "binfmt_misc", "binfmt_misc", str(BINFMT_DIR)], "Mounting binfmt_misc",
              "Run the lab where the kernel allows binfmt_misc (a VM, or a privileged container).")


def _missing(settings: Settings) -> list[str]:
    return sorted({e.emulator for e in states(settings) if e.state == "missing"})


def packages_wanted(settings: Settings) -> list[str]:
    """The QEMU packages to install first: those that describe the missing entries, when a description is missing."""
    if not any(register_line(name) is None for name in _missing(settings)):
        return []
    return qemu_packages(apt.candidate("qemu-user"))


def ensure(settings: Settings, then: str) -> list[str]:
    """Register QEMU for every platform of the base image that needs it and has no entry (as root); one line per
    change. `then` is the command to run again once a failure is fixed."""
    missing = _missing(settings)
    if not missing:
        return []
    changes = []
    if wanted := packages_wanted(settings):
        if shutil.which("apt-get") is None:
            raise LabError(f"QEMU user emulation ({', '.join(missing)}) is missing, and this machine has no apt-get "
                           "to install it.", f"Install static QEMU emulators with this system's package manager, then "
                           f"{then}.")
        apt.install(wanted, f"Check the machine's package sources (`apt-get update`), then {then}.")
        changes.append(f"installed {' '.join(wanted)} with apt")
    _mount()
    registered = []
    for name in missing:
        if binfmt.entry(name) is not None:  # registered meanwhile (binfmt-support's own postinst)
            continue
        line = register_line(name)
        if line is None:
            raise LabError(f"No binfmt description for {name} was installed with QEMU.",
                           f"Install QEMU's user emulation and its binfmt entries for {name}, then {then}.")
        binfmt.register(line)
        done = binfmt.entry(name)
        if done is None or not done.fix_binary:
            raise LabError(f"{name} did not register with the F flag.", f"Read `cat {BINFMT_DIR / name}`.")
        registered.append(name)
    if registered:
        served = [platform for platform, name in needed(settings) if name in registered]
        changes.append(f"registered {', '.join(registered)} in binfmt_misc with the F flag (for {', '.join(served)})")
    return changes


def fix(found: Sequence[Emulation], command: str) -> str:
    """What adds the emulators that are not ready: `command` (the engine's way to register them), after removing the
    entries the lab did not make and cannot use (no F flag, or disabled), which it leaves as they are."""
    unusable = sorted({e.emulator for e in found if e.state in ("no F flag", "disabled")})
    if not unusable:
        return command
    removes = "; ".join(f"echo -1 | sudo tee {BINFMT_DIR / name}" for name in unusable)
    return f"`{removes}` (entries without the F flag, which the lab does not replace), then {command}"
