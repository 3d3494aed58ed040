"""The rootless sandbox: the lab's own services (own.py), run as the learner's own user; nothing of it runs as root.

The same services as the sandbox, from the learner's own cache, in folders the learner owns: a classic-store and a
containerd-store dockerd, the registry, the busybox base image as the docker.io mirror.

One RootlessKit holds the namespaces they share: a user namespace (the learner's uid as root, their subordinate ids
above it), a mount namespace, and a network namespace of the lab's own (slirp4netns, with no way to the host's
loopback). The registry and both daemons are started inside them (`nsenter`), each with its own pid and pid file.
The registry listens on 127.0.0.1:PORT in that network namespace, and RootlessKit's port driver publishes the same
port on the host's 127.0.0.1. So `127.0.0.1:PORT/demo:multi` names the same registry on both sides: for the daemons
(their pushes, their docker.io mirror) and for the docker CLI (`buildx imagetools inspect`) and the lab's own HTTP
client, which run outside.

`up` provisions what is missing and starts what is not running (a service left in the namespaces of a RootlessKit that
is gone is restarted in the new ones); `down` stops what the lab started, by pid: the daemons, the registry, then
RootlessKit (with its slirp4netns).
"""

from __future__ import annotations

import dataclasses
import json
import os
import shutil
import stat
import time
from pathlib import Path
from typing import ClassVar

from labkit.docker.endpoints import Endpoints
from labkit.docker.podman import Podman
from labkit.engines.base import DAEMONS, Daemon
from labkit.engines.own import SERVICES, OwnEngine, port_taken, service_env
from labkit.errors import LabError
from labkit.provision import podman as podman_provision
from labkit.provision import prereqs
from labkit.results import Check, ServiceStatus
from labkit.settings import SYSTEM_PATH, Mode, Settings
from labkit.system import mounts, network, processes, run
from labkit.system.machine import euid, user_name
from labkit.system.processes import ProcessSpec

# RootlessKit's child, which holds the namespaces. The copied-up /run still links to the host's /run/docker and
# /run/containerd (root's); the daemons create their own there (dockerd keeps plugin sockets in /run/docker whatever
# its exec-root), as dockerd-rootless.sh does.
HOLDER = "rm -f /run/docker /run/containerd /run/xtables.lock; exec sleep infinity"
ROOTLESSKIT_FLAGS = (
    "--net=slirp4netns", "--mtu=65520", "--slirp4netns-sandbox=auto", "--slirp4netns-seccomp=auto",
    "--disable-host-loopback", "--port-driver=builtin", "--copy-up=/etc", "--copy-up=/run",
)


def _program(name: str) -> str:
    return shutil.which(name, path=SYSTEM_PATH) or f"/usr/bin/{name}"


def rootlesskit_dir(settings: Settings) -> Path:
    """RootlessKit's state folder: its API socket and the pid of the child that holds the namespaces."""
    return settings.run_dir / "rootlesskit"


def runtime_dir(settings: Settings, name: Daemon) -> Path:
    """XDG_RUNTIME_DIR of one daemon (rootless runc keeps its container state there)."""
    return settings.run_dir / f"{name}-runtime"


def rootlesskit_spec(settings: Settings) -> ProcessSpec:
    """How RootlessKit is started: the namespaces, slirp4netns, the port driver; its child only holds them."""
    folder = settings.service_dir("rootlesskit")
    # A class-wide base-image cache (labkit class) is reached on the host's loopback, which slirp4netns names 10.0.2.2.
    flags = [flag for flag in ROOTLESSKIT_FLAGS if not (settings.class_mirror and flag == "--disable-host-loopback")]
    argv = (_program("rootlesskit"), f"--state-dir={rootlesskit_dir(settings)}", *flags, "/bin/sh", "-c", HOLDER)
    return ProcessSpec("rootlesskit", argv, service_env(settings), folder / "pid", folder / "log")


def own_private_folder(folder: Path) -> None:
    """Create the folder (mode 0700), or accept it only when it is this user's, not a link, and closed to others:
    it may sit under /tmp, where anyone could have made it first."""
    folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    info = folder.lstat()
    if stat.S_ISLNK(info.st_mode) or not stat.S_ISDIR(info.st_mode) or info.st_uid != euid():
        raise LabError(f"{folder} is not a folder of yours, so the lab will not put its daemon sockets there.",
                       "Set LABKIT_RUN_DIR to a folder of your own, then run `labkit up` again.")
    if stat.S_IMODE(info.st_mode) & 0o077:
        folder.chmod(0o700)


def namespace_holder(settings: Settings) -> int | None:
    """The pid of RootlessKit's child, which holds the lab's namespaces (None when RootlessKit does not run)."""
    if processes.owned_pid(rootlesskit_spec(settings)) is None:
        return None
    try:
        child = int((rootlesskit_dir(settings) / "child_pid").read_text().strip())
    except (OSError, ValueError):
        return None
    return child if processes.is_alive(child) else None


def runs_inside(pid: int, holder: int | None) -> bool:
    """True when a process is in the network namespace RootlessKit's child holds now."""
    inside = processes.net_namespace(pid)
    return holder is not None and inside != "" and inside == processes.net_namespace(holder)


def _ensure_namespaces(settings: Settings, timeout: float = 30.0) -> int:
    spec = rootlesskit_spec(settings)
    state = rootlesskit_dir(settings)
    if processes.owned_pid(spec) is None:
        if state.exists():  # left by a RootlessKit that was killed
            _remove_tree(state)
        processes.start(spec)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        holder = namespace_holder(settings)
        if holder is not None and (state / "api.sock").exists():
            return holder
        if processes.owned_pid(spec) is None:
            raise LabError(f"RootlessKit stopped while starting:\n{processes.log_tail(spec)}",
                           f"Run `labkit doctor`, read {spec.log_file}, then run `labkit up` again.")
        time.sleep(0.02)
    raise LabError(f"RootlessKit did not set up its namespaces within {timeout:.0f} s.",
                   f"Read {spec.log_file}, then run `labkit up` again.")


def _rootlessctl(settings: Settings, *args: str) -> run.Ran:
    socket = rootlesskit_dir(settings) / "api.sock"
    return run.run([_program("rootlessctl"), f"--socket={socket}", *args])


def port_plan(listed: str, host: str, port: int) -> tuple[bool, list[str]]:
    """From `rootlessctl list-ports --json` (one JSON object a line): whether host:port is published to the same port
    inside, and the ids of every other published port (one the registry used before its port setting changed)."""
    wanted = {"proto": "tcp", "parentIP": host, "parentPort": port, "childPort": port}
    found, others = False, []
    for line in listed.splitlines():
        if line.strip():
            entry = json.loads(line)
            if {key: entry["spec"].get(key) for key in wanted} == wanted:
                found = True
            else:
                others.append(str(entry["id"]))
    return found, others


def _remove_tree(folder: Path) -> None:
    """Remove a folder the daemon filled as root of its user namespace: some of its folders have no x bit for their
    owner (root there needs none), so they are opened up first, all of them being the learner's."""
    for parent, folders, _ in os.walk(folder):
        for name in folders:
            path = os.path.join(parent, name)
            if not os.path.islink(path):
                os.chmod(path, 0o700)
    shutil.rmtree(folder, ignore_errors=True)


def _clean(settings: Settings, name: Daemon) -> list[Path]:
    """Remove what a daemon that is not running left behind (after a crash, a kill or `down`); returns what went."""
    left = [path for path in (settings.socket(name), settings.run_dir / f"{name}.pid") if path.exists() or path.is_symlink()]
    for path in left:
        path.unlink()
    for folder in (settings.run_dir / name, runtime_dir(settings, name)):  # its exec-root: stale sockets, runc's state
        if folder.exists():
            _remove_tree(folder)
            left.append(folder)
    return left


class RootlessEngine(OwnEngine):
    """The lab's own engine as the learner's own user: two rootless dockerds (classic and containerd image store) and
    a registry, in namespaces RootlessKit holds, the registry published on the host's loopback."""

    mode: ClassVar[Mode] = "rootless"
    title: ClassVar[str] = "the rootless sandbox"
    context_description: ClassVar[str] = "lab rootless sandbox daemon"
    daemon_settings: ClassVar[dict[str, object]] = {"rootless": True}

    def _holder(self) -> int:
        holder = namespace_holder(self.settings)
        if holder is None:
            raise LabError("RootlessKit, which holds the rootless sandbox's namespaces, is not running.",
                           "Run `labkit up` again.")
        return holder

    def _enter(self, *namespaces: str) -> tuple[str, ...]:
        """nsenter into the namespaces RootlessKit holds (user and mount, and those given)."""
        return (_program("nsenter"), f"--target={self._holder()}", "--user", "--mount", *namespaces,
                "--preserve-credentials", "--")

    def require(self) -> None:
        uid = euid()
        user = user_name(uid)
        if uid == 0:
            raise LabError("The rootless sandbox runs as your own user, and this is root.",
                           "Run the lab as a user, or use the sandbox as root (LABKIT_MODE=sandbox).")
        missing = [check for check in prereqs.required(user, uid) if not check.ok]
        if missing:
            lines = "\n".join(f"  - {check.what}: {check.next_step}" for check in missing)
            raise LabError(f"The rootless sandbox needs what this machine does not have yet:\n{lines}",
                           f"Ask your administrator to run {prereqs.prepare_command(user)}, then run `labkit up` again.")

    def open(self) -> None:
        own_private_folder(self.settings.run_dir)
        _ensure_namespaces(self.settings)

    def daemon_env(self, name: Daemon) -> tuple[tuple[str, str], ...]:
        """Told it runs under RootlessKit, with a runtime folder of its own."""
        return (("ROOTLESSKIT_STATE_DIR", str(rootlesskit_dir(self.settings))), ("ROOTLESSKIT_PARENT_EUID", str(euid())),
                ("ROOTLESSKIT_PARENT_EGID", str(os.getegid())), ("XDG_RUNTIME_DIR", str(runtime_dir(self.settings, name))))

    def in_place(self, spec: ProcessSpec) -> bool:
        """A service left in the namespaces of a RootlessKit that is gone is stopped, to start again in the new ones."""
        pid = processes.owned_pid(spec)
        if pid is None:
            return False
        if runs_inside(pid, namespace_holder(self.settings)):
            return True
        print(f"labkit: the {spec.name} service was left in the namespaces of a RootlessKit that stopped; restarting it",
              flush=True)
        processes.stop(spec)
        return False

    def launch(self, spec: ProcessSpec) -> None:
        """Inside the namespaces RootlessKit holds; nsenter becomes the service, so its pid is the service's."""
        pid = processes.start(dataclasses.replace(spec, argv=(*self._enter("--net"), *spec.argv)))
        deadline = time.monotonic() + 10
        while processes.is_alive(pid) and processes.argv_of(pid) != list(spec.argv) and time.monotonic() < deadline:
            time.sleep(0.005)  # until nsenter has entered and run the service: then the pid file names the service

    def clear(self, name: Daemon) -> None:
        """Undo, in the lab's mount namespace, what a daemon that was killed left mounted; then its files."""
        settings = self.settings
        try:
            points = mounts.lab_mounts(mounts.sandbox_folders(settings, name), Path(f"/proc/{self._holder()}/mounts"))
        except OSError:
            points = []
        for point in points:
            run.run([*self._enter(), "umount", "-l", point])
        _clean(settings, name)
        runtime_dir(settings, name).mkdir(mode=0o700, exist_ok=True)

    def claim_port(self) -> None:
        """The registry listens inside the namespaces; its port is claimed on the host when it is published."""

    def publish_registry(self) -> None:
        """The registry's port, published on the host's loopback by RootlessKit (replacing a port it published before)."""
        settings = self.settings
        listed = _rootlessctl(settings, "list-ports", "--json")
        found, others = port_plan(listed.stdout, settings.registry_host, settings.registry_port)
        for stale in others:
            _rootlessctl(settings, "remove-ports", stale)
        if found:
            return
        if not network.port_is_free(settings.registry_host, settings.registry_port):
            raise port_taken(settings)
        added = _rootlessctl(settings, "add-ports", f"{settings.registry}:{settings.registry_port}/tcp")
        if not added.ok:
            raise port_taken(settings) if "in use" in added.stderr else run.CommandFailed(
                added, "Publishing the registry's port with RootlessKit", "Run `labkit down`, then `labkit up` again.")

    def close(self) -> list[str]:
        """RootlessKit (with its slirp4netns) stopped, and the daemons' leftovers and its state removed."""
        settings = self.settings
        stopped = ["rootlesskit"] if processes.stop(rootlesskit_spec(settings)) else []
        for name in DAEMONS:
            _clean(settings, name)
        if rootlesskit_dir(settings).exists():
            _remove_tree(rootlesskit_dir(settings))
        if settings.run_dir.is_dir() and not any(settings.run_dir.iterdir()):
            settings.run_dir.rmdir()
        return stopped

    def checked_rows(self, rows: list[ServiceStatus]) -> list[ServiceStatus]:
        """A service left outside the namespaces RootlessKit holds now does not count as running."""
        holder = namespace_holder(self.settings)
        return [dataclasses.replace(row, state="not answering", detail="its RootlessKit stopped; `labkit up` restarts it")
                if row.service in SERVICES and row.pid is not None and not runs_inside(row.pid, holder) else row
                for row in rows]

    def prerequisites(self) -> list[Check]:
        """Only the rootless prerequisites this machine lacks."""
        return [check for check in prereqs.checks(self.settings, user_name(euid()), euid()) if not check.ok]

    def emulator_fix(self) -> str:
        return prereqs.prepare_command(user_name(euid()))

    def podman(self, endpoints: Endpoints) -> Podman:
        """podman inside the namespaces RootlessKit holds."""
        return podman_provision.ensure(self.settings, endpoints.registry, endpoints.mirror,
                                       rootlesskit_dir(self.settings) / "child_pid")
