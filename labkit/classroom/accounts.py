"""The learners' Unix accounts, and the lab's folders in their homes.

`labkit class up --learners N` creates accounts PREFIX1..PREFIXN (comment `multiarch lab class learner`, home 0700); an
account of such a name without that comment is never touched. `--group NAME` takes the group's members as they are.
Each learner's package cache is a folder of their own whose engine packages link to the class's one unpacked copy, so a
class downloads and unpacks the engine once.
"""

from __future__ import annotations

import contextlib
import grp
import os
import pwd
import shutil
import signal
import time
from pathlib import Path

from labkit.classroom.course import ACCOUNT_COMMENT, Course, Member
from labkit.errors import LabError
from labkit.provision import packages
from labkit.settings import SYSTEM_PATH, Settings, default_registry_port, default_run_dir
from labkit.system import run
from labkit.system.files import chown_tree, readable_by_all

NOTEBOOK_FOLDER = "multiarch-lab"  # the learner's copy of the notebooks, in their home
SLIRP_HOST = "10.0.2.2"  # the host's loopback, as slirp4netns names it inside a rootless sandbox


def learner_settings(member: Member, course: Course) -> Settings:
    """The settings the learner's own labkit uses (their defaults, as `Settings.from_env` computes them as them)."""
    home = Path(member.home)
    return Settings(name="lab", cache_dir=home / ".cache" / "multiarch-lab",
                    state_dir=home / ".local" / "state" / "multiarch-lab" / "lab",
                    run_dir=default_run_dir("lab", member.uid, {}), registry_port=default_registry_port(member.uid),
                    mode="rootless", class_mirror=class_mirror(course))


def class_mirror(course: Course) -> str:
    """host:port of the class's base-image cache as a learner's daemons reach it."""
    return f"{SLIRP_HOST}:{course.cache_port}"


def learner_environment(course: Course) -> dict[str, str]:
    """What every learner's server and labkit run with."""
    return {"LABKIT_CLASS_MIRROR": class_mirror(course), "JUPYTER_CONFIG_PATH": str(course.jupyter_config),
            "PATH": f"{course.venv / 'bin'}:{SYSTEM_PATH}"}


def _member(entry: pwd.struct_passwd, created: bool) -> Member:
    return Member(entry.pw_name, entry.pw_uid, entry.pw_dir, created)


def create(course: Course, count: int) -> list[Member]:
    """Accounts PREFIX1..PREFIXcount: made when missing, kept when the class made them before."""
    members = []
    for index in range(1, count + 1):
        name = f"{course.prefix}{index}"
        try:
            entry = pwd.getpwnam(name)
        except KeyError:
            run.check(["useradd", "--create-home", "--comment", ACCOUNT_COMMENT, "--shell", "/bin/bash", name],
                      f"Making the account {name}", "Check /etc/passwd and that this runs as root, then run it again.")
            entry = pwd.getpwnam(name)
        if entry.pw_gecos != ACCOUNT_COMMENT:
            raise LabError(f"The account {name} exists and was not made by a class, so the class will not use it.",
                           "Choose another prefix (LABKIT_CLASS_PREFIX) or give the learners' group with --group.")
        os.chmod(entry.pw_dir, 0o700)
        members.append(_member(entry, True))
    return members


def group_members(group: str) -> list[Member]:
    """The members of an existing group (listed in it or having it as their primary group), as they are."""
    try:
        found = grp.getgrnam(group)
    except KeyError:
        raise LabError(f"There is no group {group!r} on this machine.", "Create it and add the learners first.") from None
    names = set(found.gr_mem) | {entry.pw_name for entry in pwd.getpwall() if entry.pw_gid == found.gr_gid}
    if not names:
        raise LabError(f"The group {group!r} has no members.", f"Add the learners: usermod --append --groups {group} NAME.")
    return [_member(pwd.getpwnam(name), False) for name in sorted(names)]


def _link_or_copy(source: str, target: str) -> object:
    try:
        os.link(source, target)
    except OSError:
        shutil.copy2(source, target)
    return target


def share_packages(instructor: Settings, course: Course) -> None:
    """The engine packages, unpacked, where every learner can read them (from the instructor's cache)."""
    stamp = course.packages / "packages.json"
    if stamp.is_file() and stamp.read_bytes() == instructor.record_file.read_bytes():
        return
    shutil.rmtree(course.packages, ignore_errors=True)
    course.packages.mkdir(parents=True)
    for part in ("debs", "root"):
        shutil.copytree(instructor.cache_dir / part, course.packages / part, symlinks=True, copy_function=_link_or_copy)
    shutil.copy2(instructor.record_file, stamp)
    readable_by_all(course.packages)


def link_cache(member: Member, course: Course) -> None:
    """The learner's package cache: their own folder, its engine packages links to the class's copy."""
    cache = learner_settings(member, course).cache_dir
    if (cache / "packages.json").is_file():
        return
    entry = pwd.getpwnam(member.name)
    made = [folder for folder in (cache.parent, cache) if not folder.exists()]
    cache.mkdir(parents=True, exist_ok=True)
    for part in ("debs", "root"):
        (cache / part).symlink_to(course.packages / part)
    shutil.copy2(course.packages / "packages.json", cache / "packages.json")
    (cache / "bin").mkdir()
    for name, relative in packages.PROGRAMS.items():
        (cache / "bin" / name).symlink_to(course.packages / "root" / relative)
    for folder in made:
        os.lchown(folder, entry.pw_uid, entry.pw_gid)
    chown_tree(cache, entry.pw_uid, entry.pw_gid)


def lab_folders(member: Member, course: Course) -> list[Path]:
    """What the lab keeps in a learner's home: the notebooks (their work), the cache, the sandbox's state."""
    settings = learner_settings(member, course)
    return [Path(member.home) / NOTEBOOK_FOLDER, settings.cache_dir, settings.state_dir.parent]


def processes_of(uid: int) -> list[int]:
    """The live processes running as this uid."""
    found = []
    for entry in os.listdir("/proc"):
        try:
            if entry.isdigit() and os.stat(f"/proc/{entry}").st_uid == uid:
                found.append(int(entry))
        except OSError:
            continue
    return found


def end_processes(uid: int, timeout: float = 20.0) -> list[int]:
    """Stop what still runs as an account the class made (TERM, then KILL); returns the pids that were left."""
    left = processes_of(uid)
    for signal_number in (signal.SIGTERM, signal.SIGKILL):
        for pid in processes_of(uid):
            with contextlib.suppress(OSError):
                os.kill(pid, signal_number)
        deadline = time.monotonic() + timeout
        while processes_of(uid) and time.monotonic() < deadline:
            time.sleep(0.1)
    return left


def purge(member: Member, course: Course) -> str:
    """Remove the learner's account when the class made it (and whatever still runs as it), else only the lab's
    folders in their home."""
    if member.created:
        end_processes(member.uid)
        run.run(["userdel", "--remove", member.name])
        return f"removed the account {member.name}"
    for folder in lab_folders(member, course):
        shutil.rmtree(folder, ignore_errors=True)
    return f"removed the lab's folders from {member.home}"
