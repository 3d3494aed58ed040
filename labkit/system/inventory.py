"""Which processes on this host belong to the lab, and where they listen."""

from __future__ import annotations

import ipaddress
import os
from dataclasses import dataclass
from pathlib import Path

from labkit.settings import Settings
from labkit.system import processes


@dataclass(frozen=True)
class LabProcess:
    """A live process whose program comes from the lab's unpacked packages."""

    pid: int
    program: str


@dataclass(frozen=True)
class ListeningSocket:
    """A TCP socket in LISTEN state."""

    inode: int
    address: str
    port: int

    @property
    def is_loopback(self) -> bool:
        """True for 127.0.0.0/8 and ::1."""
        return ipaddress.ip_address(self.address).is_loopback


def lab_processes(settings: Settings, proc: Path = Path("/proc")) -> list[LabProcess]:
    """Processes of this sandbox: their program comes from the lab's unpacked packages and their command
    line names this sandbox's state or run folder (several sandboxes can share one package cache)."""
    root = str(settings.root_dir.resolve()) + os.sep
    own = (str(settings.state_dir) + os.sep, str(settings.run_dir) + os.sep)
    found = []
    for entry in proc.iterdir():
        if not entry.name.isdigit():
            continue
        try:
            exe = os.readlink(entry / "exe")
        except OSError:
            continue
        if exe.startswith(root) and any(folder in processes.command_line(int(entry.name), proc) for folder in own):
            found.append(LabProcess(int(entry.name), exe[len(root):]))
    return sorted(found, key=lambda p: p.pid)


def _decode_address(hex_address: str) -> tuple[str, int]:
    host_hex, port_hex = hex_address.split(":")
    raw = bytes.fromhex(host_hex)
    # /proc/net/tcp* prints each 32-bit word in host (little-endian) byte order.
    words = b"".join(raw[i:i + 4][::-1] for i in range(0, len(raw), 4))
    return str(ipaddress.ip_address(words)), int(port_hex, 16)


def parse_proc_net_tcp(text: str) -> list[ListeningSocket]:
    """Listening sockets from the text of /proc/net/tcp or /proc/net/tcp6."""
    sockets = []
    for line in text.splitlines()[1:]:
        fields = line.split()
        if len(fields) < 10 or fields[3] != "0A":  # 0A = TCP_LISTEN
            continue
        address, port = _decode_address(fields[1])
        sockets.append(ListeningSocket(int(fields[9]), address, port))
    return sockets


def _socket_inodes(pid: int, proc: Path) -> set[int]:
    inodes = set()
    try:
        for fd in (proc / str(pid) / "fd").iterdir():
            target = os.readlink(fd)
            if target.startswith("socket:["):
                inodes.add(int(target[8:-1]))
    except OSError:
        pass
    return inodes


def listening_sockets(pids: list[int], proc: Path = Path("/proc")) -> list[tuple[int, ListeningSocket]]:
    """(pid, socket) for every TCP socket those processes listen on."""
    listening = []
    for name in ("tcp", "tcp6"):
        try:
            listening += parse_proc_net_tcp((proc / "net" / name).read_text())
        except OSError:
            continue
    by_inode = {s.inode: s for s in listening}
    return [(pid, by_inode[inode]) for pid in pids for inode in sorted(_socket_inodes(pid, proc)) if inode in by_inode]
