"""binfmt_misc, offline: which registered entry the kernel hands each variant's busybox to, the ELF machine it is
for, and the `register` line that makes the same entry in a binfmt_misc of its own.

Captured on the lab's Debian 12 machine (kernel 6.18, qemu-user-static 1:7.2+dfsg-7+deb12u18 with binfmt-support):
data/binfmt_misc/ holds some of its `/proc/sys/fs/binfmt_misc` entries as registered (QEMU's, and two that match by
other magic bytes); data/busybox-elf-headers.json the first 64 bytes of `/bin/busybox` of Debian trixie's
busybox-static for each architecture.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from labkit.errors import LabError
from labkit.system import binfmt
from tests.conftest import DATA

HEADERS = {arch: bytes.fromhex(text) for arch, text in
           json.loads((DATA / "busybox-elf-headers.json").read_text())["headers"].items()}


def test_entries_are_read_with_their_magic_and_mask(root: Path) -> None:
    entries = {entry.name: entry for entry in binfmt.entries(root)}
    assert sorted(entries) == ["jar", "python3.11", "qemu-aarch64", "qemu-arm", "qemu-ppc64le", "qemu-riscv64",
                               "qemu-s390x"]
    arm64 = entries["qemu-aarch64"]
    assert (arm64.offset, arm64.magic[:4], len(arm64.mask), arm64.flags) == (0, b"\x7fELF", 20, "PF")
    assert entries["jar"].mask == b"\xff" * 4  # no mask line: every bit of the magic counts


@pytest.mark.parametrize(("arch", "entry", "machine"), [
    ("amd64", None, "x86-64"), ("i386", None, "Intel 80386"), ("arm64", "qemu-aarch64", "AArch64"),
    ("armel", "qemu-arm", "ARM"), ("armhf", "qemu-arm", "ARM"), ("ppc64el", "qemu-ppc64le", "PowerPC64"),
    ("riscv64", "qemu-riscv64", "RISC-V"), ("s390x", "qemu-s390x", "S/390"),
])
def test_each_variant_goes_to_the_entry_of_its_machine_code(root: Path, arch: str, entry: str | None,
                                                            machine: str) -> None:
    found = binfmt.interpreter_for(HEADERS[arch], binfmt.entries(root))
    assert (found.name if found else None) == entry
    assert binfmt.elf_machine(HEADERS[arch]) == machine


def test_a_disabled_entry_or_a_short_file_matches_nothing(root: Path) -> None:
    arm64 = binfmt.parse_entry("qemu-aarch64", (DATA / "binfmt_misc/qemu-aarch64").read_text())
    assert binfmt.matches(arm64, HEADERS["arm64"])
    disabled = binfmt.parse_entry("qemu-aarch64", "disabled\n" + "\n".join(
        (DATA / "binfmt_misc/qemu-aarch64").read_text().splitlines()[1:]))
    assert not binfmt.matches(disabled, HEADERS["arm64"])
    assert not binfmt.matches(arm64, HEADERS["arm64"][:10])
    assert binfmt.elf_machine(b"#!/bin/sh\n") == ""


def test_the_register_line_makes_the_same_entry() -> None:
    arm64 = binfmt.parse_entry("qemu-aarch64", (DATA / "binfmt_misc/qemu-aarch64").read_text())
    line = binfmt.register_line(arm64)
    assert line.startswith(":qemu-aarch64:M:0:\\x7f\\x45\\x4c\\x46\\x02")
    assert line.endswith(":/usr/libexec/qemu-binfmt/aarch64-binfmt-P:PF")
    assert line.count(":") == 7


def test_kernels_before_6_7_are_refused_before_anything_runs(tmp_path: Path) -> None:
    assert binfmt.kernel_version("6.18.44-fc-v857") == (6, 18)
    assert binfmt.kernel_version("5.15.0-91-generic") == (5, 15)
    with pytest.raises(LabError, match="Linux 6.7"):
        binfmt.run_private(tmp_path, ["true"], release="6.6.30")
