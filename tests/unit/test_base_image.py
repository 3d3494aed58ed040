"""The busybox base image's layer and platforms: built offline from a small synthetic binary."""

import io
import tarfile

import pytest

from labkit.oci import media
from labkit.provision.base_image import layer_tar, platform_of
from labkit.settings import DEBIAN_PLATFORMS

BINARY = b"\x7fELF synthetic busybox \x00\x01\x02" * 7
APPLETS = ["cat", "echo", "ls", "sh"]


def _members(data: bytes) -> dict[str, tarfile.TarInfo]:
    with tarfile.open(fileobj=io.BytesIO(data)) as archive:
        return {member.name: member for member in archive.getmembers()}


def test_layer_is_byte_for_byte_reproducible() -> None:
    assert layer_tar(BINARY, APPLETS) == layer_tar(BINARY, list(APPLETS))


def test_layer_digest_depends_on_the_binary() -> None:
    assert media.digest_of(layer_tar(BINARY, APPLETS)) != media.digest_of(layer_tar(BINARY + b"!", APPLETS))


def test_layer_holds_folders_busybox_applets_and_account_files() -> None:
    names = set(_members(layer_tar(BINARY, APPLETS)))
    expected = {"bin", "etc", "root", "tmp", "bin/busybox", "etc/passwd", "etc/group"} | {f"bin/{a}" for a in APPLETS}
    assert names == expected


def test_busybox_is_a_regular_executable_with_the_given_bytes() -> None:
    data = layer_tar(BINARY, APPLETS)
    member = _members(data)["bin/busybox"]
    assert member.isreg() and member.mode == 0o755
    with tarfile.open(fileobj=io.BytesIO(data)) as archive:
        extracted = archive.extractfile("bin/busybox")
        assert extracted is not None and extracted.read() == BINARY


def test_every_applet_is_a_symlink_to_busybox() -> None:
    members = _members(layer_tar(BINARY, APPLETS))
    for applet in APPLETS:
        assert members[f"bin/{applet}"].issym()
        assert members[f"bin/{applet}"].linkname == "busybox"


def test_every_member_has_mtime_zero_and_root_owner() -> None:
    for member in _members(layer_tar(BINARY, APPLETS)).values():
        assert (member.mtime, member.uid, member.gid, member.uname, member.gname) == (0, 0, 0, "", "")


def test_folder_modes_include_sticky_tmp_and_private_root() -> None:
    members = _members(layer_tar(BINARY, APPLETS))
    assert {name: members[name].mode for name in ("bin", "etc", "root", "tmp")} == {
        "bin": 0o755, "etc": 0o755, "root": 0o700, "tmp": 0o1777}
    assert all(members[name].isdir() for name in ("bin", "etc", "root", "tmp"))


def test_passwd_defines_root_with_busybox_shell() -> None:
    data = layer_tar(BINARY, APPLETS)
    with tarfile.open(fileobj=io.BytesIO(data)) as archive:
        extracted = archive.extractfile("etc/passwd")
        assert extracted is not None
        assert extracted.read().decode().splitlines()[0] == "root:x:0:0:root:/root:/bin/sh"


@pytest.mark.parametrize(("arch", "expected"), [
    ("amd64", {"os": "linux", "architecture": "amd64"}),
    ("arm64", {"os": "linux", "architecture": "arm64", "variant": "v8"}),
    ("armhf", {"os": "linux", "architecture": "arm", "variant": "v7"}),
    ("armel", {"os": "linux", "architecture": "arm", "variant": "v5"}),
    ("i386", {"os": "linux", "architecture": "386"}),
    ("ppc64el", {"os": "linux", "architecture": "ppc64le"}),
    ("riscv64", {"os": "linux", "architecture": "riscv64"}),
    ("s390x", {"os": "linux", "architecture": "s390x"}),
])
def test_debian_architecture_maps_to_ociplatform_of(arch: str, expected: dict[str, str]) -> None:
    assert platform_of(arch) == expected


def test_every_debianplatform_of_has_a_mapping() -> None:
    assert all(platform_of(arch)["os"] == "linux" for arch in DEBIAN_PLATFORMS)
