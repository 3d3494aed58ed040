"""`labkit class up|status|down`: the whole class, as root."""

from __future__ import annotations

import json
import re
import shutil
import time
from dataclasses import dataclass
from pathlib import Path

from labkit import engines
from labkit.classroom import accounts, cache, guard, hub
from labkit.classroom.course import Course, Member
from labkit.errors import LabError
from labkit.provision import packages, prereqs
from labkit.settings import SYSTEM_PATH, Settings
from labkit.system import apt, run
from labkit.system.machine import euid

VERIFIED = re.compile(r"\[OK\] Verified")


def _require_root() -> None:
    if euid() != 0:
        raise LabError("A class is run by root: it creates accounts, starts the hub, guards each learner's ports and reads "
                       "their homes.", "Run it as root: sudo labkit class up|status|down.")


def _ensure_nft() -> None:
    if shutil.which("nft", path=SYSTEM_PATH) is None:  # the guard of the learners' registry ports
        apt.install(["nftables"], "Install nftables yourself, then run `labkit class up` again.")


def up(instructor: Settings, course: Course, learners: int, group: str) -> list[Member]:
    """Accounts, prepare-host, the shared packages, the cache, the guard, the hub; returns the roster."""
    _require_root()
    if (learners > 0) == bool(group):
        raise LabError("Say who the learners are: --learners N (accounts the class creates) or --group NAME.",
                       "e.g. labkit class up --learners 30")
    hub.install_hub()
    members = accounts.create(course, learners) if learners else accounts.group_members(group)
    known = {member.name: member for member in course.roster()}
    members = [known.get(member.name, member) for member in members]
    course.save_roster(sorted({**known, **{m.name: m for m in members}}.values(), key=lambda m: m.uid))
    prereqs.prepare_host([member.name for member in members], [], False, instructor)
    packages.unpack(instructor, packages.fetch(instructor))
    accounts.share_packages(instructor, course)
    hub.prepare_shared(course)
    for member in members:
        accounts.link_cache(member, course)
    _ensure_nft()
    roster = course.roster()
    guard.apply(course.name, {m.uid: accounts.learner_settings(m, course).registry_port for m in roster})
    cache.up(instructor, course)
    hub.install_proxy(course)
    hub.up(course, roster)
    return roster


@dataclass(frozen=True)
class Row:
    learner: str
    server: str
    sandbox: str
    last_activity: str
    verified: str


def notebooks_verified(member: Member) -> tuple[int, int]:
    """(notebooks whose saved outputs show `[OK] Verified`, notebooks) in the learner's copy."""
    folder = Path(member.home) / accounts.NOTEBOOK_FOLDER
    found = sorted(folder.glob("*.ipynb")) if folder.is_dir() else []
    done = 0
    for path in found:
        try:
            cells = json.loads(path.read_text()).get("cells", [])
        except (OSError, ValueError):
            continue
        text = json.dumps([cell.get("outputs", []) for cell in cells if cell.get("cell_type") == "code"])
        done += bool(VERIFIED.search(text))
    return done, len(found)


def sandbox_state(member: Member, course: Course) -> str:
    try:
        rows = engines.choose(accounts.learner_settings(member, course)).status()
    except LabError:  # a sandbox stopping or crashing while it is asked
        return "not answering"
    services = [row for row in rows if row.service in ("registry", *engines.DAEMONS)]
    running = sum(row.ready for row in services)
    return "up" if running == len(services) else ("down" if running == 0 else f"{running}/{len(services)} up")


def status(course: Course) -> list[Row]:
    _require_root()  # the roster and the learners' homes are root's to read
    users = {user["name"]: user for user in hub.users(course) or []}
    rows = []
    for member in course.roster():
        user = users.get(member.name, {})
        server = (user.get("servers") or {}).get("", {})
        state = "ready" if server.get("ready") else ("starting" if server.get("pending") else "stopped")
        if not users:
            state = "hub down"
        done, total = notebooks_verified(member)
        rows.append(Row(member.name, state, sandbox_state(member, course), str(user.get("last_activity") or "-"),
                        f"{done}/{total}"))
    return rows


def down(instructor: Settings, course: Course, purge: bool) -> list[str]:
    """Stop the hub, every learner's sandbox, the cache and the guard; with purge, remove what the class made."""
    _require_root()
    done = []
    if hub.down(course):
        done.append("stopped the hub")
    for member in course.roster():
        if _labkit_down(member, course):
            done.append(f"stopped {member.name}'s sandbox")
    deadline = time.monotonic() + 30  # the learners' servers and kernels, stopped by the hub, finishing
    while any(accounts.processes_of(m.uid) for m in course.roster() if m.created) and time.monotonic() < deadline:
        time.sleep(0.2)
    if cache.down(instructor, course):
        done.append("stopped the base-image cache")
    if guard.remove(course.name):
        done.append("removed the registry guard")
    if purge:
        for member in course.roster():
            done.append(accounts.purge(member, course))
        shutil.rmtree(course.folder, ignore_errors=True)
        if course.folder.parent.name == "multiarch-lab" and not any(course.folder.parent.iterdir()):
            course.folder.parent.rmdir()  # /var/lib/multiarch-lab, made for the class
        done.append(f"removed {course.folder}")
    return done


def _labkit_down(member: Member, course: Course) -> bool:
    env = [f"HOME={member.home}", f"USER={member.name}", "LANG=C.UTF-8",
           *[f"{key}={value}" for key, value in accounts.learner_environment(course).items()]]
    result = run.run(["runuser", "-u", member.name, "--", "env", "-i", *env, str(course.python), "-m", "labkit", "down"])
    return result.ok and "stopped:" in result.stdout
