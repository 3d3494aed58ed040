"""Finding the lab's leftover mounts in /proc/self/mounts, over a capture from a real machine.

proc-self-mounts.txt is `/proc/self/mounts` copied byte for byte on the lab's Debian 12 machine while a sandbox
named `hc` ran (its daemons' data-root mounts under ~/.local/state/multiarch-lab/hc and a network namespace
under /tmp/mlab-hc; two other sandboxes, `lab` and `me`, ran beside it), with a tmpfs mounted for the capture at
a path with a space (`mount -t tmpfs -o size=1m,mode=755 tmpfs "/tmp/with space/data"`, unmounted right after),
which the kernel writes as `with\\040space`.
"""

from pathlib import Path

from labkit.system.mounts import lab_mounts, parse_mounts
from tests.conftest import DATA

MOUNTS = DATA / "proc-self-mounts.txt"
STATE = Path("/root/.local/state/multiarch-lab")


def test_mount_points_are_read_and_unescaped() -> None:
    points = parse_mounts(MOUNTS.read_text())
    assert "/" in points and "/proc/sys/fs/binfmt_misc" in points
    assert "/tmp/with space/data" in points
    assert "tmpfs /tmp/with\\040space/data tmpfs " in MOUNTS.read_text()


def test_only_mounts_under_the_lab_folders_are_the_labs_deepest_first() -> None:
    found = lab_mounts((STATE / "hc", Path("/tmp/mlab-hc")), MOUNTS)
    assert found == ["/tmp/mlab-hc/multiarch/netns/default", str(STATE / "hc/multiarch/data"), str(STATE / "hc/classic/data")]


def test_a_folder_that_merely_shares_a_prefix_is_not_the_labs() -> None:
    assert lab_mounts((STATE / "h", Path("/tmp/mlab-h")), MOUNTS) == []
