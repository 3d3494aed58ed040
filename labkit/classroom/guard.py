"""Each learner's registry port, closed to every other user of the host.

A learner's registry is published by RootlessKit on the host's loopback, and loopback is shared by every Unix user. The
class adds one nftables table of its own (`inet mlab_class_NAME`): on the output hook, a TCP connection to a learner's
registry port on any loopback address (127.0.0.0/8, ::1) is reset unless the socket belongs to that learner or to root.
Loopback traffic leaves through the output hook, and nftables matches the socket's owner there (`meta skuid`), so this
holds for a learner's shell, their kernels, and their rootless daemons' slirp4netns alike. `class down` deletes the table.
"""

from __future__ import annotations

import shutil

from labkit.errors import LabError
from labkit.settings import SYSTEM_PATH
from labkit.system import run


def table(class_name: str) -> str:
    return "mlab_class_" + "".join(ch if ch.isalnum() else "_" for ch in class_name)


def ruleset(class_name: str, ports: dict[int, int]) -> str:
    """The table, as `nft -f` reads it: uid -> registry port of every learner."""
    name = table(class_name)
    rules = "".join(
        f"    tcp dport {port} ip daddr 127.0.0.0/8 meta skuid != {{ 0, {uid} }} counter reject with tcp reset\n"
        f"    tcp dport {port} ip6 daddr ::1 meta skuid != {{ 0, {uid} }} counter reject with tcp reset\n"
        for uid, port in sorted(ports.items()))
    return (f"table inet {name}\ndelete table inet {name}\n"
            f"table inet {name} {{\n  chain output {{\n    type filter hook output priority 0; policy accept;\n{rules}  }}\n}}\n")


def _nft() -> str:
    found = shutil.which("nft", path=SYSTEM_PATH)
    if found is None:
        raise LabError("The class keeps each learner's registry to themselves with nftables, and `nft` is not installed.",
                       "Install it: apt-get install nftables (`labkit class up` does when it runs as root).")
    return found


def apply(class_name: str, ports: dict[int, int]) -> None:
    """Create or replace the class's table."""
    run.check([_nft(), "-f", "-"], "Loading the class's nftables rules",
              "Check that this kernel has nftables (CONFIG_NF_TABLES) and run `labkit class up` again.",
              stdin=ruleset(class_name, ports))


def remove(class_name: str) -> bool:
    """Delete the class's table; True when there was one."""
    if shutil.which("nft", path=SYSTEM_PATH) is None:
        return False
    return run.run([_nft(), "delete", "table", "inet", table(class_name)]).ok


def rules(class_name: str) -> str:
    """The table as nftables lists it (empty when there is none)."""
    if shutil.which("nft", path=SYSTEM_PATH) is None:
        return ""
    listed = run.run([_nft(), "list", "table", "inet", table(class_name)])
    return listed.stdout if listed.ok else ""
