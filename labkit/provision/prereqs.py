"""What the rootless sandbox needs from the machine, checked as the learner and put in place by `labkit prepare-host`.

The one step that needs root, once per machine: install what is missing from the system's package manager (uidmap,
rootlesskit, slirp4netns, runc, QEMU user emulation), register QEMU in binfmt_misc with the F flag, make the tun
device usable as Debian's udev does, allow RootlessKit under Ubuntu's AppArmor restriction when no profile does, and
give the named users (or a group's members) subordinate uid and gid ranges when they have none. It says what it
changed, and changes nothing else. The engine itself comes from Debian's archive into each learner's own cache.
"""

from __future__ import annotations

import grp
import pwd
import re
import shutil
import sys
from dataclasses import dataclass
from pathlib import Path

from labkit.errors import LabError
from labkit.provision import emulators
from labkit.results import Check
from labkit.settings import SYSTEM_PATH, Settings
from labkit.system import apt, run, subids, userns
from labkit.system.machine import euid
from labkit.system.subids import SUBID_FILES

TUN = Path("/dev/net/tun")
APPARMOR_PROFILE = Path("/etc/apparmor.d/multiarch-lab-rootlesskit")
# Programs the rootless sandbox runs from the system, and the Debian package of each.
PROGRAMS = {"newuidmap": "uidmap", "newgidmap": "uidmap", "rootlesskit": "rootlesskit", "rootlessctl": "rootlesskit",
            "slirp4netns": "slirp4netns", "runc": "runc", "nsenter": "util-linux", "ip": "iproute2"}
APPARMOR_DIR = Path("/etc/apparmor.d")


AGAIN = "run `labkit prepare-host` again"


def prepare_command(user: str) -> str:
    """What a learner asks an administrator to run, once."""
    return f"`sudo labkit prepare-host --user {user}` (an administrator, once per machine)"


def applies() -> bool:
    """True where the rootless sandbox is the lab's own engine for this user: Linux, not root."""
    return sys.platform == "linux" and euid() != 0


def _which(program: str) -> Path | None:
    found = shutil.which(program, path=SYSTEM_PATH)
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


def checks(settings: Settings, user: str, uid: int) -> list[Check]:
    """Every rootless prerequisite, checked for this user, each with the exact command that puts it in place."""
    found = emulators.states(settings)
    return [*required(user, uid), Check(emulators.ready(found), f"{emulators.CHECK} with the F flag",
                                        emulators.fix(found, prepare_command(user)))]


def required(user: str, uid: int) -> list[Check]:
    """The prerequisites without which the rootless sandbox cannot start (QEMU is not one: without an emulator the lab
    runs, and says which platforms it cannot run)."""
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
    wanted += emulators.packages_wanted(settings)  # one apt run for all
    if for_tests and _which("chromium") is None:
        wanted.append("chromium")  # the browser test drives Debian's chromium
    if wanted:
        apt.install(wanted, f"Check the machine's package sources (`apt-get update`), then {AGAIN}.")
        changes.append(f"installed {' '.join(wanted)} with apt")
    changes += emulators.ensure(settings, AGAIN)
    if TUN.exists() and not userns.tun_open_to_all(TUN):
        TUN.chmod(0o666)
        changes.append(f"made {TUN} usable by every user (mode 0666, as Debian's udev sets it)")
    if userns.apparmor_restricts_userns() and not apparmor_allows_rootlesskit():
        APPARMOR_PROFILE.write_text(apparmor_profile_text(_rootlesskit_path()))
        run.check(["apparmor_parser", "-r", str(APPARMOR_PROFILE)], f"Loading the AppArmor profile {APPARMOR_PROFILE}",
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
    run.check(command, f"Giving {learner.name} subordinate ids",
              f"Add `{learner.name}:{first}:{subids.RANGE_SIZE}` to {' and '.join(map(str, missing))} by hand.")
    return [f"gave {learner.name} subordinate ids {span} in {file}" for file in missing]
