"""The snapshot that proves the user's Docker folders untouched, on a folder of the test's own."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support import untouched

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture()
def watched(tmp_path: Path) -> Path:
    """A stand-in for ~/.docker: a config file, a sub-folder and a symlink."""
    root = tmp_path / "dot-docker"
    (root / "contexts").mkdir(parents=True)
    (root / "config.json").write_text('{"auths": {}}\n')
    (root / "contexts" / "meta.json").write_text("{}\n")
    (root / "cli-plugins").symlink_to("/usr/libexec/docker/cli-plugins")
    return root


def _changes_after(root: Path, change: str) -> list[str]:
    before = untouched.take([root])
    path = root / "config.json"
    if change == "content":
        path.write_text('{"auths": {"example.org": {}}}\n')
    elif change == "mode":
        path.chmod(0o666)
    elif change == "owner":
        assert os.geteuid() == 0, "giving a file to another owner needs root (as the lab's sandbox does)"
        os.chown(path, 4242, 4243)  # to a uid and gid nobody on this machine has
    elif change == "new file":
        (root / "contexts" / "new.json").write_text("{}\n")
    elif change == "symlink target":
        (root / "cli-plugins").unlink()
        (root / "cli-plugins").symlink_to("/usr/lib/docker/cli-plugins")
    return untouched.changes(before, untouched.take([root]))


def test_an_unchanged_folder_has_no_changes(watched: Path) -> None:
    assert untouched.changes(untouched.take([watched]), untouched.take([watched])) == []


@pytest.mark.parametrize(("change", "expected"), [
    ("content", "config.json: sha256 "),
    ("mode", "config.json: mode 0644 -> 0666"),
    ("owner", "config.json: gid {gid} -> 4243, uid {uid} -> 4242"),
    ("new file", "contexts/new.json: new file"),
    ("symlink target", "cli-plugins: target /usr/libexec/docker/cli-plugins -> /usr/lib/docker/cli-plugins"),
])
def test_each_kind_of_change_is_detected_and_named(watched: Path, change: str, expected: str) -> None:
    path = watched / "config.json"
    path.chmod(0o644)
    info = path.stat()
    found = _changes_after(watched, change)
    assert len(found) == 1, found
    assert found[0].startswith(f"{watched}/" + expected.format(uid=info.st_uid, gid=info.st_gid)), found


def test_a_folder_that_appears_or_goes_is_named(tmp_path: Path) -> None:
    root = tmp_path / "etc-docker"
    before = untouched.take([root])
    assert before == {str(root): "absent"}
    root.mkdir()
    assert untouched.changes(before, untouched.take([root])) == [f"{root}: absent -> present"]
    assert untouched.changes(untouched.take([root]), before) == [f"{root}: present -> absent"]


def test_the_snapshot_needs_only_the_standard_library_and_is_read_back(tmp_path: Path) -> None:
    target = tmp_path / "build" / "untouched-before.json"
    # -S: no site-packages, as with the system's python3 before `make setup` has made the venv
    result = subprocess.run([sys.executable, "-S", "-m", "tests.support.untouched", str(target)], cwd=REPO,
                            capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stderr
    assert untouched.read(target) == untouched.take()
    assert str(target) in result.stdout


def test_the_session_compares_with_the_snapshot_file_and_names_what_changed(tmp_path: Path) -> None:
    snapshot = untouched.take()
    first = next(iter(snapshot))
    snapshot[first] = {".": {"type": "folder", "mode": "0700", "uid": 0, "gid": 0}} if snapshot[first] == "absent" else "absent"
    baseline = tmp_path / "before.json"
    untouched.write(baseline, snapshot)
    (tmp_path / "test_nothing.py").write_text("def test_nothing() -> None:\n    pass\n")
    result = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-p", "no:nbval", "-p", "tests.conftest",
                             "--rootdir", str(tmp_path), "-c", os.devnull, str(tmp_path / "test_nothing.py")],
                            cwd=REPO, env={**os.environ, untouched.SNAPSHOT_VARIABLE: str(baseline)},
                            capture_output=True, text=True, timeout=120, check=False)
    assert result.returncode == 1, result.stdout + result.stderr
    assert "the user's Docker folders changed since" in result.stdout and f"{first}: " in result.stdout


def test_a_snapshot_variable_naming_no_file_stops_the_run(tmp_path: Path) -> None:
    (tmp_path / "test_nothing.py").write_text("def test_nothing() -> None:\n    pass\n")
    result = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-p", "no:nbval", "-p", "tests.conftest",
                             "--rootdir", str(tmp_path), "-c", os.devnull, str(tmp_path / "test_nothing.py")],
                            cwd=REPO, env={**os.environ, untouched.SNAPSHOT_VARIABLE: str(tmp_path / "missing.json")},
                            capture_output=True, text=True, timeout=120, check=False)
    assert result.returncode != 0
    assert "names no snapshot file" in result.stdout + result.stderr
