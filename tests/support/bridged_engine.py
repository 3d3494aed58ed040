"""A third dockerd, with a bridge network, in a network namespace of its own: a learner's engine as it usually is.

The sandbox's two daemons run with `bridge: none`, so on them host mode's registry container can only take the
host network. A learner's Docker Engine has a bridge, and there host mode publishes the registry's port instead.
This daemon lets the tests see that for real without touching the host's network: the lab's own unpacked dockerd,
started by `unshare --net` in a network namespace of its own (made for it, gone when it and its children exit;
nothing is named or mounted under /run/netns). Only the network namespace changes: cgroups and mounts stay the
host's, so whatever it mounts is found in /proc/self/mounts and undone afterwards. It has its own data-root,
exec-root, pidfile and socket under one short folder, iptables off (published ports then go through docker-proxy),
and the classic image store. Commands reach its namespace with `nsenter --net=/proc/PID/ns/net`.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import tempfile
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from python_on_whales import DockerClient

from labkit.engines import own
from labkit.settings import SYSTEM_PATH, Settings
from labkit.system import mounts, processes
from tests.support.signals import with_default_signals


@dataclass(frozen=True)
class BridgedEngine:
    """The running daemon: its folder, socket and pid (its network namespace is /proc/PID/ns/net)."""

    folder: Path
    socket: Path
    pid: int
    docker_cli: Path

    @property
    def netns(self) -> Path:
        """The daemon's network namespace, for `nsenter --net=`."""
        return Path(f"/proc/{self.pid}/ns/net")

    def inside(self, argv: list[str], env: Mapping[str, str] | None = None,
               timeout: float = 300) -> subprocess.CompletedProcess[str]:
        """Run a command in the daemon's network namespace (where its published ports are)."""
        return subprocess.run(["nsenter", f"--net={self.netns}", *argv], env=dict(env) if env is not None else None,
                              capture_output=True, text=True, timeout=timeout, check=False)

    def client(self) -> DockerClient:
        """A client for this daemon, with a config folder of its own (never the user's ~/.docker)."""
        return DockerClient(host=f"unix://{self.socket}", config=self.folder / "docker-config",
                            client_call=[str(self.docker_cli)])


def _processes_under(folder: Path) -> list[int]:
    """Live processes whose command line names the folder (the daemon's containerd and shims)."""
    return [pid for pid in processes.pids() if str(folder) in processes.command_line(pid) and processes.is_alive(pid)]


def _wait_gone(pid: int, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while processes.is_alive(pid) and time.monotonic() < deadline:
        time.sleep(0.1)
    return not processes.is_alive(pid)


@contextmanager
def bridged_engine(settings: Settings) -> Iterator[BridgedEngine]:
    """Start the daemon (and its namespace); on the way out stop it by pid, undo its mounts, remove everything.

    What cannot be cleaned up (a process, a mount, the folder) fails the test that used it; the namespace goes
    with the last of its processes.
    """
    folder = Path(tempfile.mkdtemp(prefix="mlab-bridge-", dir="/tmp"))  # short: sockets are limited to ~108 bytes
    folder.chmod(0o700)
    socket = folder / "docker.sock"
    config = {
        "data-root": str(folder / "data"),
        "exec-root": str(folder / "exec"),
        "pidfile": str(folder / "docker.pid"),
        "hosts": [f"unix://{socket}"],
        "iptables": False,
        "ip6tables": False,
        "userland-proxy": True,  # with iptables off, docker-proxy is what listens on a published port
        "features": {"containerd-snapshotter": False},
    }
    (folder / "daemon.json").write_text(json.dumps(config, indent=2) + "\n")
    (folder / "docker-config").mkdir()
    daemon: subprocess.Popen[bytes] | None = None
    try:
        with (folder / "log").open("wb") as log:  # the signals' reset, unshare and sh exec: the pid is the daemon's
            daemon = subprocess.Popen(
                with_default_signals(["unshare", "--net", "--", "sh", "-c", 'ip link set lo up && exec "$0" "$@"',
                                      str(settings.bin_dir / "dockerd"), "--config-file", str(folder / "daemon.json")]),
                env={"PATH": f"{settings.bin_dir}:{SYSTEM_PATH}", "HOME": str(folder)},
                stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        deadline = time.monotonic() + 60
        while not own.daemon_answers(socket):
            if daemon.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"the bridged dockerd did not answer:\n{(folder / 'log').read_text()[-2000:]}")
            time.sleep(0.1)
        yield BridgedEngine(folder, socket, daemon.pid, settings.bin_dir / "docker")
    finally:
        if daemon is not None:
            daemon.send_signal(signal.SIGTERM)
            try:
                daemon.wait(timeout=60)
            except subprocess.TimeoutExpired:
                daemon.kill()
                daemon.wait(timeout=30)
        for pid in _processes_under(folder):  # started by that daemon (its containerd, shims) and still alive
            os.kill(pid, signal.SIGKILL)
            _wait_gone(pid, 10)
        mounts.unmount((folder,))
        shutil.rmtree(folder, ignore_errors=True)
        leftovers = [f"process {pid}" for pid in _processes_under(folder)]
        leftovers += [f"mount {point}" for point in mounts.lab_mounts((folder,))]
        leftovers += [str(folder)] if folder.exists() else []
    assert leftovers == [], f"the bridged dockerd could not be cleaned up: {leftovers}"
