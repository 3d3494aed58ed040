"""Debian packages the lab needs system-wide (runc, QEMU user emulation, the rootless sandbox's helpers), installed
with apt, only when missing, and said as they are."""

from __future__ import annotations

import os
import re
import sys
from collections.abc import Sequence

from labkit.system import run


def install(packages: Sequence[str], then: str) -> None:
    """`apt-get install` the packages; the package lists are refreshed once when that fails (they may be missing or
    old, as in Debian's own container images). `then` is what to try when it still fails."""
    print(f"labkit: installing {' '.join(packages)} with apt (missing on this machine)", file=sys.stderr, flush=True)
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    command = ["apt-get", "install", "-y", "--no-install-recommends", *packages]
    result = run.run(command, env=env)
    if not result.ok:
        run.run(["apt-get", "update"], env=env)
        result = run.run(command, env=env)
    if not result.ok:
        raise run.CommandFailed(result, f"Installing {' '.join(packages)} with apt", then)


def candidate(package: str) -> str:
    """The version apt would install of a package ('' when it has none)."""
    result = run.run(["apt-cache", "policy", package])
    found = re.search(r"Candidate:\s*(\S+)", result.stdout)
    return found.group(1) if found and found.group(1) != "(none)" else ""
