"""Finding the lab's leftover mounts in /proc/self/mounts (captured on a real machine)."""

from pathlib import Path

from labkit.engine.mounts import lab_mounts, parse_mounts
from tests.conftest import DATA

MOUNTS = DATA / "proc-self-mounts.txt"


def test_mount_points_are_read_and_unescaped() -> None:
    points = parse_mounts(MOUNTS.read_text())
    assert "/" in points and "/proc/sys/fs/binfmt_misc" in points
    assert "/tmp/with space/data" in points


def test_only_mounts_under_the_lab_folders_are_the_labs_deepest_first() -> None:
    found = lab_mounts((Path("/root/.local/state/multiarch-lab/lab"), Path("/tmp/mlab-lab")), MOUNTS)
    assert found == ["/tmp/mlab-lab/multiarch/netns/default", "/tmp/mlab-lab/classic/netns/default",
                     "/root/.local/state/multiarch-lab/lab/multiarch/data", "/root/.local/state/multiarch-lab/lab/classic/data"]


def test_a_folder_that_merely_shares_a_prefix_is_not_the_labs() -> None:
    assert lab_mounts((Path("/tmp/mlab-la"),), MOUNTS) == []
