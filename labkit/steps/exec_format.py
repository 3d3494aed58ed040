"""`exec format error`, for real: a variant's binary run where no emulator is registered, then with one.

The machine's binfmt_misc is left alone. The binary runs in a user namespace with a binfmt_misc instance of its own,
which starts empty (a machine without QEMU); the fix registers there the same entry the machine has.
"""

from __future__ import annotations

from pathlib import Path

from labkit.docker.endpoints import Endpoints
from labkit.errors import LabError
from labkit.experiment import REPOSITORY
from labkit.results import CommandResult, ExecFormatDemo
from labkit.steps import inspect_index
from labkit.steps.every_variant import EVERY_TAG, variant_file
from labkit.system import binfmt

CONTEXT = "host"  # these commands run on the machine, not against a Docker context


def _result(run: binfmt.PrivateRun, folder: Path) -> CommandResult:
    return CommandResult(CONTEXT, run.command.replace(str(folder), "."), run.return_code, run.output, "")


def exec_format_error(endpoints: Endpoints, folder: Path, platform: str = "linux/arm64", tag: str = EVERY_TAG) -> ExecFormatDemo:
    """Copy the variant's /bin/busybox to `folder`, run `./busybox uname -m` without and with its emulator."""
    report = inspect_index.read_index(endpoints, REPOSITORY, tag)
    binary = variant_file(endpoints, report, platform)
    before = binfmt.entries()
    entry = binfmt.interpreter_for(binary[:64], before)
    if entry is None:
        raise LabError(f"No binfmt_misc entry of this machine matches {platform} binaries: the kernel runs them "
                       "itself, or no emulator is registered here (then its variant already failed in the table above).",
                       "Pick a platform whose variant ran through QEMU in the table above, e.g. linux/arm64.")
    folder.mkdir(parents=True, exist_ok=True)
    program = folder / "busybox"
    program.write_bytes(binary)
    program.chmod(0o755)
    argv = ["./busybox", "uname", "-m"]
    without = binfmt.run_private(folder, argv)
    with_emulator = binfmt.run_private(folder, argv, [entry])
    after = binfmt.entries()
    return ExecFormatDemo(platform, entry.name, _result(without, folder), _result(with_emulator, folder),
                          _listed(before), _listed(after))


def _listed(entries: list[binfmt.BinfmtEntry]) -> tuple[str, ...]:
    """Each entry as one line: name, state, flags, interpreter (what must stay the same)."""
    return tuple(f"{e.name} {'enabled' if e.enabled else 'disabled'} {e.flags} {e.interpreter}" for e in entries)
