"""The orders in which the README sets a machine up, each from the state that once broke notebook 05: only the host's
other emulator registered (an older setup, or `--install arm64`), or none at all (a class on a machine where root never
ran `labkit up`). Root's `labkit up` here; `prepare-host` then a learner's whole lab in test_rootless.py; `class up`
then each learner's every notebook in test_classroom.py, from the same states (tests/emulation.py).
"""

from __future__ import annotations

import re

from labkit.docker.endpoints import Endpoints
from labkit.provision import emulators
from labkit.settings import Settings
from labkit.steps import multiarch_build
from labkit.system import binfmt
from tests.support.emulation import registered_only, the_other_emulator
from tests.support.runs import run_labkit

BASE = "busybox"  # the base image, from the daemons' mirror


def _qemu_row() -> str:
    """The qemu row of `labkit status` (which exits non-zero while a service is not ready)."""
    status = run_labkit("status")
    return next(line for line in status.stdout.splitlines() if line.startswith("qemu "))


def test_root_up_registers_every_emulator_when_only_the_other_one_is_there(endpoints: Endpoints, settings: Settings) -> None:
    other = the_other_emulator(settings)  # registered as binfmt-support does (P and F), not as the lab does (P, O, F)
    with registered_only(settings, keep=[other], replace={other: "PF"}) as removed:
        assert removed, "the machine had no emulator to remove: nothing was tested"
        assert " missing " in _qemu_row()
        assert all(not multiarch_build.run_image(endpoints, BASE, platform, ("uname", "-m")).succeeded
                   for platform, name in emulators.needed(settings) if name in removed)
        up = run_labkit("up")
        assert up.returncode == 0, up.stdout + up.stderr
        said = re.search(r"registered (.+) in binfmt_misc with the F flag", up.stderr)
        assert said is not None and sorted(said.group(1).split(", ")) == sorted(removed), up.stderr
        needed = emulators.needed(settings)
        assert re.search(rf"registered \({len(needed)} of {len(needed)}: ", _qemu_row())
        kept = binfmt.entry(other)
        assert kept is not None and kept.flags == "PF", "up replaced an entry it did not make"
        for platform, _ in needed:
            ran = multiarch_build.run_image(endpoints, BASE, platform, ("uname", "-m"))
            assert ran.succeeded, f"{platform}: {ran.stderr}"
        again = run_labkit("up")
        assert again.returncode == 0 and "binfmt_misc" not in again.stderr, again.stderr


def test_status_and_the_doctor_name_a_missing_emulator_and_what_adds_it(endpoints: Endpoints, settings: Settings) -> None:
    with registered_only(settings, keep=[name for _, name in emulators.needed(settings) if name != "qemu-s390x"]):
        assert "qemu-s390x missing (linux/s390x)" in _qemu_row()
        doctor = run_labkit("doctor")
        assert doctor.returncode == 0, doctor.stderr
        row = next(line for line in doctor.stdout.splitlines() if line.startswith("linux/s390x "))
        assert "fails" in row and "qemu-s390x is not registered" in row and "`sudo labkit up`" in row
        assert re.search(r"^05_every_variant\s+fails", doctor.stdout, re.MULTILINE)
