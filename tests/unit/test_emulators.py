"""Which QEMU emulators the lab needs on a machine, offline: one per platform of the base image the machine does not
run itself, each entry's state read from a captured binfmt_misc (data/binfmt_misc: Debian 12, qemu-user-static
1:7.2+dfsg-7+deb12u18, registered by binfmt-support), and the doctor's and notebook 05's words for what is missing."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

import labkit.lab as nb
from labkit.diagnostics import doctor
from labkit.errors import LabError
from labkit.provision import emulators
from labkit.results import CommandResult, Emulation, VariantRun
from labkit.settings import Settings
from labkit.system import binfmt
from labkit.views import variants
from tests.support.captured import facts_of

EVERY = ("amd64", "arm64", "armel", "armhf", "i386", "ppc64el", "riscv64", "s390x")


def _settings(host: str) -> Settings:
    return dataclasses.replace(Settings.from_env({}), base_arches=EVERY, host_arch=host)


def test_an_amd64_machine_needs_qemu_for_six_platforms_through_five_entries() -> None:
    needed = emulators.needed(_settings("amd64"))
    assert needed == [("linux/arm64", "qemu-aarch64"), ("linux/arm/v5", "qemu-arm"), ("linux/arm/v7", "qemu-arm"),
                      ("linux/ppc64le", "qemu-ppc64le"), ("linux/riscv64", "qemu-riscv64"),
                      ("linux/s390x", "qemu-s390x")]


def test_an_arm64_machine_needs_qemu_for_x86_and_32_bit_arm() -> None:
    needed = dict(emulators.needed(_settings("arm64")))
    assert needed["linux/amd64"] == "qemu-x86_64" and needed["linux/386"] == "qemu-i386"
    assert needed["linux/arm/v7"] == "qemu-arm" and "linux/arm64" not in needed


def test_every_entry_registered_with_f_is_ready(root: Path) -> None:
    found = emulators.states(_settings("amd64"), root)
    assert [e.state for e in found] == ["registered"] * 6 and emulators.ready(found)
    assert emulators.summary(found) == ("6 of 6: linux/arm64, linux/arm/v5, linux/arm/v7, linux/ppc64le, linux/riscv64, "
                                        "linux/s390x")


def test_only_the_other_main_architecture_registered_is_not_enough(root: Path) -> None:
    """The state a machine is in after `--install arm64`, or an older prepare-host: only qemu-aarch64."""
    folder = root / "proc/sys/fs/binfmt_misc"
    for name in ("qemu-arm", "qemu-ppc64le", "qemu-riscv64", "qemu-s390x"):
        (folder / name).unlink()
    found = emulators.states(_settings("amd64"), root)
    assert not emulators.ready(found)
    assert emulators.summary(found) == ("1 of 6: qemu-arm missing (linux/arm/v5, linux/arm/v7); qemu-ppc64le missing "
                                        "(linux/ppc64le); qemu-riscv64 missing (linux/riscv64); qemu-s390x missing "
                                        "(linux/s390x)")
    assert emulators.fix(found, "`sudo labkit up`") == "`sudo labkit up`"


def test_an_entry_without_f_is_left_alone_and_its_removal_is_the_fix(root: Path) -> None:
    entry = root / "proc/sys/fs/binfmt_misc/qemu-arm"
    entry.write_text(entry.read_text().replace("flags: PF", "flags: P"))
    found = emulators.states(_settings("amd64"), root)
    assert {e.platform: e.state for e in found}["linux/arm/v7"] == "no F flag"
    fix = emulators.fix(found, "`sudo labkit up`")
    assert fix.startswith("`echo -1 | sudo tee /proc/sys/fs/binfmt_misc/qemu-arm`") and fix.endswith("`sudo labkit up`")


def test_the_doctor_predicts_notebook_05_per_platform(root: Path) -> None:
    (root / "proc/sys/fs/binfmt_misc/qemu-s390x").unlink()
    found = tuple(emulators.states(_settings("amd64"), root))
    facts = facts_of("containerd-store", emulation=found, emulator_fix="`sudo labkit up`")
    by_platform = {p.platform: p for p in doctor.predict_platforms(facts)}
    assert by_platform["linux/arm64"].outcome == "succeeds"
    assert by_platform["linux/s390x"].outcome == "fails"
    assert "qemu-s390x is not registered" in by_platform["linux/s390x"].why
    assert "`sudo labkit up`" in by_platform["linux/s390x"].why


def _run(platform: str, ok: bool, emulator: str = "", missing: str = "") -> VariantRun:
    output = "aarch64\n" if ok else ""
    error = "" if ok else "exec /bin/uname: exec format error\n"
    result = CommandResult("multiarch", f"docker run --platform {platform} demo uname -m", 0 if ok else 255, output, error)
    return VariantRun(platform, "ARM", output.strip(), emulator, "PF" if emulator else "", "/usr/bin/qemu" if emulator else "",
                      result, missing, "`sudo labkit up`" if missing else "")


def test_a_missing_emulator_is_marked_in_the_table_and_named_by_the_check() -> None:
    runs = [_run("linux/arm64", True, "qemu-aarch64"), _run("linux/arm/v5", False, missing="qemu-arm"),
            _run("linux/arm/v7", False, missing="qemu-arm")]
    frame = variants.variants_table(runs).frame
    assert list(frame["emulator (binfmt_misc entry)"]) == [
        "qemu-aarch64", "missing: qemu-arm (add it: `sudo labkit up`)", "missing: qemu-arm (add it: `sudo labkit up`)"]
    assert list(frame["F flag"]) == ["yes", "-", "-"]
    assert variants.missing_emulators(runs) == "qemu-arm is missing for linux/arm/v5, linux/arm/v7"
    assert variants.missing_emulators(runs[:1]) == ""
    with pytest.raises(LabError) as refused:
        nb.every_variant_ran(runs)
    assert refused.value.what == "Not every variant ran: qemu-arm is missing for linux/arm/v5, linux/arm/v7."
    assert refused.value.next_step == "Add them with `sudo labkit up`, then run this notebook again."
    assert nb.every_variant_ran(runs[:1])


def test_the_checked_table_holds_no_flags_or_interpreter_paths() -> None:
    """How an entry was registered (binfmt-support: PF; the lab from binfmt.d: POF) stays out of the checked table."""
    pf, pof = _run("linux/arm64", True, "qemu-aarch64"), dataclasses.replace(_run("linux/arm64", True, "qemu-aarch64"),
                                                                             flags="POF", interpreter="/usr/libexec/x")
    assert variants.variants_table([pf]).frame.equals(variants.variants_table([pof]).frame)
    assert list(variants.entries_table([pof]).frame.iloc[0]) == ["qemu-aarch64", "POF", "/usr/libexec/x"]


def test_the_emulator_for_a_platform_ignores_its_variant() -> None:
    assert binfmt.emulator_for("linux/arm/v5") == binfmt.emulator_for("linux/arm/v7") == "qemu-arm"
    assert binfmt.native("linux/386", "amd64") and not binfmt.native("linux/arm/v7", "arm64")
    assert Emulation("linux/arm64", "qemu-aarch64", "registered").ready
