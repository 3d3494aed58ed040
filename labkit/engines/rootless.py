"""The rootless sandbox: the sandbox's services, run as the learner's own user; nothing of it runs as root.

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

import labkit.engines.sandbox as sandbox
from labkit.docker.endpoints import Endpoints
from labkit.docker.podman import Podman
from labkit.engines.base import DAEMONS, Daemon
from labkit.engines.sandbox import SandboxEngine
from labkit.errors import LabError
from labkit.oci.registry import Registry
from labkit.provision import base_image, packages, prereqs, registry_image
from labkit.provision import podman as podman_provision
from labkit.results import Check, ServiceStatus
from labkit.settings import SYSTEM_PATH, Mode, Settings, euid, user_name
from labkit.system import mounts, network, processes, run
from labkit.system.files import write_if_changed
from labkit.system.processes import ProcessSpec

SERVICES = sandbox.SERVICES
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
    return ProcessSpec("rootlesskit", argv, sandbox.service_env(settings), folder / "pid", folder / "log")


def daemon_spec(settings: Settings, name: Daemon) -> ProcessSpec:
    """How one dockerd is started (inside the namespaces): the sandbox's command, told it runs under RootlessKit."""
    spec = sandbox.daemon_spec(settings, name)
    rootless = (("ROOTLESSKIT_STATE_DIR", str(rootlesskit_dir(settings))), ("ROOTLESSKIT_PARENT_EUID", str(euid())),
                ("ROOTLESSKIT_PARENT_EGID", str(os.getegid())), ("XDG_RUNTIME_DIR", str(runtime_dir(settings, name))))
    return dataclasses.replace(spec, env=(*spec.env, *rootless))


def spec_of(settings: Settings, service: str) -> ProcessSpec:
    """How a service (`registry`, `classic` or `multiarch`) is started."""
    if service == "registry":
        return sandbox.registry_spec(settings)
    return daemon_spec(settings, sandbox.daemon_named(service))


def daemon_config(settings: Settings, name: Daemon) -> dict[str, object]:
    """daemon.json of one rootless daemon: the sandbox's (its folders, no bridge, the image store set explicitly, the
    local mirror), in rootless mode."""
    return {**sandbox.daemon_config(settings, name), "rootless": True}


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


def _netns(pid: int) -> str:
    try:
        return os.readlink(f"/proc/{pid}/ns/net")
    except OSError:
        return ""


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
    return holder is not None and _netns(pid) != "" and _netns(pid) == _netns(holder)


def _start_inside(spec: ProcessSpec, holder: int) -> None:
    """Start a service in the namespaces RootlessKit holds; nsenter becomes the service, so its pid is the service's."""
    enter = (_program("nsenter"), f"--target={holder}", "--user", "--mount", "--net", "--preserve-credentials", "--")
    pid = processes.start(dataclasses.replace(spec, argv=(*enter, *spec.argv)))
    deadline = time.monotonic() + 10
    while processes.is_alive(pid) and processes.argv_of(pid) != list(spec.argv) and time.monotonic() < deadline:
        time.sleep(0.005)  # until nsenter has entered and run the service: then the pid file names the service


def _stop_if_outside(spec: ProcessSpec, holder: int) -> bool:
    """Stop a service that runs in the namespaces of a RootlessKit that is gone; True when it still runs inside."""
    pid = processes.owned_pid(spec)
    if pid is None:
        return False
    if runs_inside(pid, holder):
        return True
    print(f"labkit: the {spec.name} service was left in the namespaces of a RootlessKit that stopped; restarting it", flush=True)
    processes.stop(spec)
    return False


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


def _publish_registry(settings: Settings) -> None:
    """The registry's port, published on the host's loopback by RootlessKit (replacing a port it published before)."""
    listed = _rootlessctl(settings, "list-ports", "--json")
    found, others = port_plan(listed.stdout, settings.registry_host, settings.registry_port)
    for stale in others:
        _rootlessctl(settings, "remove-ports", stale)
    if found:
        return
    taken = sandbox.port_taken(settings)
    if not network.port_is_free(settings.registry_host, settings.registry_port):
        raise taken
    added = _rootlessctl(settings, "add-ports", f"{settings.registry}:{settings.registry_port}/tcp")
    if not added.ok:
        raise taken if "in use" in added.stderr else run.CommandFailed(
            added, "Publishing the registry's port with RootlessKit", "Run `labkit down`, then `labkit up` again.")


def _start_registry(settings: Settings, holder: int) -> None:
    spec = sandbox.registry_spec(settings)
    write_if_changed(settings.service_dir("registry") / "config.yml", sandbox.registry_config(settings))
    if not _stop_if_outside(spec, holder):
        _start_inside(spec, holder)


def _start_daemon(settings: Settings, name: Daemon, holder: int) -> None:
    spec = daemon_spec(settings, name)
    write_if_changed(settings.service_dir(name) / "daemon.json", json.dumps(daemon_config(settings, name), indent=2) + "\n")
    if _stop_if_outside(spec, holder):
        data = settings.service_dir(name) / "data"
        if data.is_dir() and any(data.iterdir()):
            return
        print(f"labkit: the {name} daemon's data folder was emptied or removed under it; restarting it", flush=True)
        processes.stop(spec)
    _unmount_inside(settings, name, holder)
    _clean(settings, name)
    runtime_dir(settings, name).mkdir(mode=0o700, exist_ok=True)
    _start_inside(spec, holder)


def _unmount_inside(settings: Settings, name: Daemon, holder: int) -> None:
    """Undo, in the lab's mount namespace, what a daemon that was killed left mounted under its folders."""
    try:
        points = mounts.lab_mounts(mounts.sandbox_folders(settings, name), Path(f"/proc/{holder}/mounts"))
    except OSError:
        return
    enter = [_program("nsenter"), f"--target={holder}", "--user", "--mount", "--preserve-credentials", "--"]
    for point in points:
        run.run([*enter, "umount", "-l", point])


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


def _remove_tree(folder: Path) -> None:
    """Remove a folder the daemon filled as root of its user namespace: some of its folders have no x bit for their
    owner (root there needs none), so they are opened up first, all of them being the learner's."""
    for parent, folders, _ in os.walk(folder):
        for name in folders:
            path = os.path.join(parent, name)
            if not os.path.islink(path):
                os.chmod(path, 0o700)
    shutil.rmtree(folder, ignore_errors=True)


def _require_prerequisites(settings: Settings) -> None:
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


class RootlessEngine(SandboxEngine):
    """The sandbox's services as the learner's own user: two rootless dockerds (classic and containerd image store)
    and a registry, in namespaces RootlessKit holds, the registry published on the host's loopback.

    `up` provisions what is missing and starts what is not running; `down` stops what the lab started, by pid.
    """

    mode: ClassVar[Mode] = "rootless"
    title: ClassVar[str] = "the rootless sandbox"

    def up(self, buildkit_tar: Path | None = None, timeout: float = 60.0) -> Endpoints:
        self.refuse_buildkit_tar(buildkit_tar)
        settings = self.settings
        _require_prerequisites(settings)
        with sandbox.locked(settings):
            record = packages.fetch(settings)
            packages.unpack(settings, record)
            own_private_folder(settings.run_dir)
            holder = _ensure_namespaces(settings)
            _start_registry(settings, holder)
            _publish_registry(settings)
            for name in DAEMONS:
                _start_daemon(settings, name, holder)
            sandbox.ensure_docker_config(settings, "lab rootless sandbox daemon")
            sandbox.wait_until_answering(settings, timeout, spec_of)
            registry = Registry(settings.registry)
            base_image.ensure_pushed(settings, registry, record)
            registry_image.ensure_pushed(settings, registry, record)
        return self.endpoints()

    def down(self) -> list[str]:
        settings = self.settings
        with sandbox.locked(settings):
            stopped = [name for name in (*DAEMONS, "registry") if processes.stop(spec_of(settings, name))]
            if processes.stop(rootlesskit_spec(settings)):
                stopped.append("rootlesskit")
            for name in DAEMONS:
                _clean(settings, name)
            if rootlesskit_dir(settings).exists():
                _remove_tree(rootlesskit_dir(settings))
            if settings.run_dir.is_dir() and not any(settings.run_dir.iterdir()):
                settings.run_dir.rmdir()
        return stopped

    def status(self) -> list[ServiceStatus]:
        """The sandbox's rows; a service left outside the namespaces RootlessKit holds now does not count as running."""
        settings = self.settings
        holder = namespace_holder(settings)
        rows = sandbox.service_rows(settings, self.emulator_fix(), spec_of)
        for index, row in enumerate(rows):
            if row.service in SERVICES and row.pid is not None and not runs_inside(row.pid, holder):
                rows[index] = dataclasses.replace(row, state="not answering",
                                                  detail="its RootlessKit stopped; `labkit up` restarts it")
        return rows

    def readiness(self) -> list[Check]:
        """The sandbox's checks, in the same lines; before them, only the rootless prerequisites this machine lacks."""
        settings = self.settings
        user = user_name(euid())
        missing = [check for check in prereqs.checks(settings, user, euid()) if not check.ok]
        return [*missing, *sandbox.readiness_checks(settings, self.endpoints(), self.status(), packages.ENGINE_PACKAGES,
                                                    self.emulator_fix())]

    def emulator_fix(self) -> str:
        return prereqs.prepare_command(user_name(euid()))

    def podman(self, endpoints: Endpoints) -> Podman:
        """podman inside the namespaces RootlessKit holds."""
        return podman_provision.ensure(self.settings, endpoints.registry, endpoints.mirror,
                                       rootlesskit_dir(self.settings) / "child_pid")
