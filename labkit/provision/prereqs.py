"""What the rootless sandbox needs from the machine, checked as the learner and put in place by `labkit prepare-host`.

The one step that needs root, once per machine: install what is missing from the system's package manager (uidmap,
rootlesskit, slirp4netns, runc, QEMU user emulation), register QEMU in binfmt_misc with the F flag, make the tun
device usable as Debian's udev does, allow RootlessKit under Ubuntu's AppArmor restriction when no profile does, and
give the named users (or a group's members) subordinate uid and gid ranges when they have none. It says what it
changed, and changes nothing else. The engine itself comes from Debian's archive into each learner's own cache.
"""

from __future__ import annotations

import grp
import os
import pwd
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from labkit.errors import LabError
from labkit.provision import host
from labkit.results import Check
from labkit.settings import SUBID_FILES, Settings, euid
from labkit.system import subids, userns

SBIN_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
BINFMT_DIR = Path("/proc/sys/fs/binfmt_misc")
BINFMT_D = Path("/usr/lib/binfmt.d")  # systemd's format: one `:name:type:offset:magic:mask:interpreter:flags` line
BINFMTS = Path("/usr/share/binfmts")  # binfmt-support's format: `key value` lines
TUN = Path("/dev/net/tun")
APPARMOR_PROFILE = Path("/etc/apparmor.d/multiarch-lab-rootlesskit")
# Programs the rootless sandbox runs from the system, and the Debian package of each.
PROGRAMS = {"newuidmap": "uidmap", "newgidmap": "uidmap", "rootlesskit": "rootlesskit", "rootlessctl": "rootlesskit",
            "slirp4netns": "slirp4netns", "runc": "runc", "nsenter": "util-linux", "ip": "iproute2"}
APPARMOR_DIR = Path("/etc/apparmor.d")
QEMU_SPLIT = (9, 1)  # from QEMU 9.1 on, Debian's static emulators are in qemu-user, their binfmt entries in qemu-user-binfmt


def prepare_command(user: str) -> str:
    """What a learner asks an administrator to run, once."""
    return f"`sudo labkit prepare-host --user {user}` (an administrator, once per machine)"


def applies() -> bool:
    """True where the rootless sandbox is the lab's own engine for this user: Linux, not root."""
    return sys.platform == "linux" and euid() != 0


def _which(program: str) -> Path | None:
    found = shutil.which(program, path=SBIN_PATH)
    return Path(found) if found else None


def _id_mappers_ok() -> bool:
    return all((path := _which(name)) is not None and userns.may_set_ids(path) for name in ("newuidmap", "newgidmap"))


def _subids_ok(user: str, uid: int) -> bool:
    return all(found.size >= subids.RANGE_SIZE for found in subids.read(user, uid))


def _rootlesskit_path() -> str:
    found = _which("rootlesskit")
    return str(found.resolve()) if found else "/usr/bin/rootlesskit"


def apparmor_profile_text(program: str) -> str:
    """An AppArmor profile that lets `program` create user namespaces (and confines it no further)."""
    return APPARMOR_TEXT.replace("PROGRAM", program)


def apparmor_allows_rootlesskit(folder: Path = APPARMOR_DIR, program: str = "") -> bool:
    """True when a profile in /etc/apparmor.d names the RootlessKit binary and allows `userns` (Ubuntu's apparmor
    package ships one for /usr/bin/rootlesskit; `prepare-host` adds its own when there is none)."""
    program = program or _rootlesskit_path()
    try:
        files = [path for path in folder.iterdir() if path.is_file()]
    except OSError:
        return False
    for path in files:
        try:
            text = path.read_text(errors="replace")
        except OSError:
            continue
        if program in text and re.search(r"^\s*userns\s*,", text, re.MULTILINE):
            return True
    return False


def emulator_ready(settings: Settings) -> bool:
    """True when QEMU for the other architecture is registered, enabled, with the F flag (the rootless sandbox's
    containers cannot see the interpreter's path; F makes the kernel open it at registration)."""
    entry = userns.binfmt_entry(host.emulator_name(settings))
    return entry is not None and entry.enabled and entry.fix_binary


def checks(settings: Settings, user: str, uid: int) -> list[Check]:
    """Every rootless prerequisite, checked for this user, each with the exact command that puts it in place."""
    prepare = prepare_command(user)
    release = userns.kernel_release()
    found = [
        Check(_id_mappers_ok(), "newuidmap and newgidmap are installed, setuid (Debian's uidmap)", prepare),
        Check(_subids_ok(user, uid), f"{user} has {subids.RANGE_SIZE} subordinate uids and gids (/etc/subuid, /etc/subgid)",
              prepare),
    ]
    for setting in (setting for setting in userns.userns_sysctls() if setting.value is not None):
        found.append(Check(setting.ok, f"unprivileged user namespaces are allowed ({setting.name} = {setting.value})",
                           f"`{setting.fix}` (an administrator; add it to /etc/sysctl.d/ to keep it)"))
    if userns.apparmor_restricts_userns():
        found.append(Check(apparmor_allows_rootlesskit(),
                           "AppArmor lets RootlessKit create user namespaces (apparmor_restrict_unprivileged_userns = 1)",
                           f"{prepare}: it adds the AppArmor profile {APPARMOR_PROFILE} when no profile allows "
                           f"{_rootlesskit_path()} (`sudo apparmor_parser -r` loads one by hand)"))
    found += [
        Check(userns.overlay_in_userns(release),
              f"the kernel mounts overlayfs in a user namespace (5.11 or newer; this one is {release})",
              "a newer kernel, or host mode (LABKIT_MODE=host) on a Docker of your own"),
        Check(userns.tun_usable(TUN), f"{TUN} is usable by {user} (RootlessKit's slirp4netns network needs it)", prepare),
        *(Check(_which(program) is not None, f"{program} is installed ({package})", prepare)
          for program, package in PROGRAMS.items() if program not in ("newuidmap", "newgidmap")),
        Check(emulator_ready(settings), f"QEMU user emulation registered with the F flag ({host.emulator_name(settings)})",
              prepare),
    ]
    return found


def notes() -> list[str]:
    """What the rootless sandbox cannot do on this machine, though it runs."""
    if userns.cgroup_v2():
        return []
    return ["cgroup v1 and a rootless engine: `docker info` says `Cgroup Driver: none`, so resource limits "
            "(`--memory`, `--cpus`, `--pids-limit`) are ignored in the rootless sandbox"]


# --- labkit prepare-host ------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Learner:
    """A user to prepare: login name and uid."""

    name: str
    uid: int


def learners(users: list[str], groups: list[str]) -> list[Learner]:
    """The named users and every member of the named groups (listed, or by primary group), each once."""
    found: dict[str, Learner] = {}
    for name in users:
        try:
            entry = pwd.getpwnam(name)
        except KeyError:
            raise LabError(f"There is no user called {name!r} on this machine.", "Name an existing user (`getent passwd`).") from None
        found[entry.pw_name] = Learner(entry.pw_name, entry.pw_uid)
    for name in groups:
        try:
            group = grp.getgrnam(name)
        except KeyError:
            raise LabError(f"There is no group called {name!r} on this machine.", "Name an existing group (`getent group`).") from None
        members = set(group.gr_mem) | {entry.pw_name for entry in pwd.getpwall() if entry.pw_gid == group.gr_gid}
        for member in sorted(members):
            entry = pwd.getpwnam(member)
            if entry.pw_uid != 0:
                found.setdefault(entry.pw_name, Learner(entry.pw_name, entry.pw_uid))
    return list(found.values())


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


def _candidate(package: str) -> str:
    result = subprocess.run(["apt-cache", "policy", package], capture_output=True, text=True, check=False)
    found = re.search(r"Candidate:\s*(\S+)", result.stdout)
    return found.group(1) if found and found.group(1) != "(none)" else ""


def _apt_install(packages: list[str]) -> None:
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    command = ["apt-get", "install", "-y", "--no-install-recommends", *packages]
    result = subprocess.run(command, env=env, capture_output=True, text=True, check=False)
    if result.returncode != 0:  # the package lists may be missing or old: refresh them once
        subprocess.run(["apt-get", "update"], env=env, capture_output=True, check=False)
        result = subprocess.run(command, env=env, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        raise LabError(f"apt-get install {' '.join(packages)} failed: {result.stderr.strip()[-400:]}",
                       "Check the machine's package sources (`apt-get update`), then run `labkit prepare-host` again.")


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


def _register_emulator(name: str) -> str:
    if not (BINFMT_DIR / "register").exists():
        mounted = subprocess.run(["mount", "-t", "binfmt_misc", "binfmt_misc", str(BINFMT_DIR)],
                                 capture_output=True, text=True, check=False)
        if mounted.returncode != 0:
            raise LabError(f"binfmt_misc could not be mounted: {mounted.stderr.strip()}",
                           "Run the lab where the kernel allows binfmt_misc (a VM, or a privileged container).")
    entry = userns.binfmt_entry(name)
    if entry is not None and entry.enabled and entry.fix_binary:
        return ""
    line = register_line(name)
    if line is None:
        raise LabError(f"No binfmt description for {name} was installed with QEMU.",
                       "Install QEMU's user emulation and its binfmt entries, then run `labkit prepare-host` again.")
    if entry is not None:  # registered without F (or disabled): replace it
        (BINFMT_DIR / name).write_text("-1")
    (BINFMT_DIR / "register").write_text(line)
    done = userns.binfmt_entry(name)
    if done is None or not done.fix_binary:
        raise LabError(f"{name} did not register with the F flag.", "Read `cat /proc/sys/fs/binfmt_misc/" + name + "`.")
    was = "re-registered" if entry is not None else "registered"
    return f"{was} {name} in binfmt_misc with flags {done.flags} (interpreter {done.interpreter})"


APPARMOR_TEXT = """\
# Written by `labkit prepare-host`: lets RootlessKit create user namespaces for the multi-arch lab's rootless
# sandbox where AppArmor restricts them (kernel.apparmor_restrict_unprivileged_userns = 1).
abi <abi/4.0>,
include <tunables/global>

profile multiarch-lab-rootlesskit PROGRAM flags=(unconfined) {
  userns,

  include if exists <local/multiarch-lab-rootlesskit>
}
"""


def prepare_host(users: list[str], groups: list[str], for_tests: bool, settings: Settings) -> list[str]:
    """Put every rootless prerequisite in place for these users; returns one line per change made."""
    if euid() != 0:
        raise LabError("prepare-host changes the machine (packages, binfmt_misc, /etc/subuid), so it needs root.",
                       "Ask an administrator to run `sudo labkit prepare-host --user YOUR_NAME` once.")
    if shutil.which("apt-get") is None:
        raise LabError("prepare-host installs packages with apt, and this machine has no apt-get.",
                       "Install uidmap, slirp4netns, runc and static QEMU emulators with this system's package manager.")
    targets = learners(users, groups)
    changes: list[str] = []
    wanted = sorted({package for program, package in PROGRAMS.items() if _which(program) is None})
    emulator = host.emulator_name(settings)
    if userns.binfmt_entry(emulator) is None and register_line(emulator) is None:
        wanted += qemu_packages(_candidate("qemu-user"))
    if for_tests and _which("chromium") is None:
        wanted.append("chromium")  # the browser test drives Debian's chromium
    if wanted:
        _apt_install(wanted)
        changes.append(f"installed {' '.join(wanted)} with apt")
    if registered := _register_emulator(emulator):
        changes.append(registered)
    if TUN.exists() and not userns.tun_open_to_all(TUN):
        TUN.chmod(0o666)
        changes.append(f"made {TUN} usable by every user (mode 0666, as Debian's udev sets it)")
    if userns.apparmor_restricts_userns() and not apparmor_allows_rootlesskit():
        APPARMOR_PROFILE.write_text(apparmor_profile_text(_rootlesskit_path()))
        loaded = subprocess.run(["apparmor_parser", "-r", str(APPARMOR_PROFILE)], capture_output=True, text=True, check=False)
        if loaded.returncode != 0:
            raise LabError(f"apparmor_parser refused {APPARMOR_PROFILE}: {loaded.stderr.strip()[-300:]}",
                           "Read the profile, fix it for this AppArmor version, and load it with `apparmor_parser -r`.")
        changes.append(f"added and loaded the AppArmor profile {APPARMOR_PROFILE} (userns for {_rootlesskit_path()})")
    for learner in targets:
        changes += _give_subids(learner)
    return changes


def _give_subids(learner: Learner) -> list[str]:
    have = {found.file: found.size for found in subids.read(learner.name, learner.uid)}
    missing = [file for file in SUBID_FILES if have.get(file, 0) == 0]
    if not missing:
        return []
    first = subids.next_free()
    span = f"{first}-{first + subids.RANGE_SIZE - 1}"
    options = {SUBID_FILES[0]: ["--add-subuids", span], SUBID_FILES[1]: ["--add-subgids", span]}
    command = ["usermod", *[arg for file in missing for arg in options[file]], learner.name]
    result = subprocess.run(command, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        raise LabError(f"`{' '.join(command)}` failed: {result.stderr.strip()}",
                       f"Add `{learner.name}:{first}:{subids.RANGE_SIZE}` to {' and '.join(map(str, missing))} by hand.")
    return [f"gave {learner.name} subordinate ids {span} in {file}" for file in missing]
