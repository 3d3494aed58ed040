"""binfmt_misc: which registered interpreter the kernel hands a binary to, and a private, empty instance of it.

The kernel compares the first bytes of a file it is asked to run with every enabled entry's magic (under its mask);
the first entry that matches names the interpreter (QEMU, for another architecture's ELF files). No entry matching
means the kernel runs the file itself, or refuses it with ENOEXEC: `exec format error`.

Since Linux 6.7 a user namespace can mount a binfmt_misc instance of its own. It starts empty and the kernel uses it,
not the machine's, for every process in that namespace: a machine with no emulator registered, made without touching
the machine's own entries (nothing is written outside the new namespace, which ends with its last process).
"""

from __future__ import annotations

import shlex
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from labkit.errors import LabError
from labkit.system import run
from labkit.system.userns import ROOT

__all__ = ["BINFMT_MISC", "ELF_ARCHITECTURES", "ELF_MACHINES", "NATIVE", "PRIVATE_INSTANCE", "QEMU_ENTRIES", "ROOT", "BinfmtEntry",
           "PrivateRun", "elf_architecture", "elf_machine", "emulator_for", "entries", "entry", "interpreter_for", "kernel_version",
           "matches", "native", "parse_entry", "register", "register_line", "remove", "run_private"]

BINFMT_MISC = "/proc/sys/fs/binfmt_misc"
PRIVATE_INSTANCE = (6, 7)  # the first kernel that lets a user namespace mount binfmt_misc

# ELF e_machine numbers of the architectures Debian builds busybox-static for (the ELF specification's names).
ELF_MACHINES = {3: "Intel 80386", 8: "MIPS", 20: "PowerPC", 21: "PowerPC64", 22: "S/390", 40: "ARM", 62: "x86-64",
                183: "AArch64", 243: "RISC-V", 258: "LoongArch"}

# The binfmt_misc entry QEMU registers for each architecture, by its OCI name: the names of Debian's qemu-user-static
# and qemu-user-binfmt (`/usr/share/binfmts`, `/usr/lib/binfmt.d`), which tonistiigi/binfmt uses too.
QEMU_ENTRIES = {"amd64": "qemu-x86_64", "386": "qemu-i386", "arm64": "qemu-aarch64", "arm": "qemu-arm",
                "ppc64le": "qemu-ppc64le", "riscv64": "qemu-riscv64", "s390x": "qemu-s390x", "mips64le": "qemu-mips64el",
                "loong64": "qemu-loongarch64"}
# The architectures a machine's CPU runs itself, by the machine's own: an x86-64 kernel runs 32-bit x86 code too.
# (Many arm64 CPUs run no 32-bit ARM code, so arm64 counts only itself.)
NATIVE = {"amd64": ("amd64", "386"), "arm64": ("arm64",)}


def _architecture(platform: str) -> str:
    parts = platform.split("/")
    return parts[1] if len(parts) > 1 else parts[0]


def emulator_for(platform: str) -> str:
    """The binfmt_misc entry that runs a platform's binaries through QEMU (`linux/arm/v5` → `qemu-arm`)."""
    architecture = _architecture(platform)
    return QEMU_ENTRIES.get(architecture, f"qemu-{architecture}")


def native(platform: str, host_architecture: str) -> bool:
    """True when a machine of `host_architecture` (OCI name) runs the platform's binaries without an emulator."""
    return _architecture(platform) in NATIVE.get(host_architecture, (host_architecture,))


@dataclass(frozen=True)
class BinfmtEntry:
    """One binfmt_misc entry: enabled or not, its interpreter and its flags (F: the kernel opens the interpreter when
    it is registered, so it works inside containers and user namespaces that cannot see its path)."""

    name: str
    enabled: bool
    interpreter: str
    flags: str
    offset: int = 0  # where the magic bytes sit in a file (entries that match by magic)
    magic: bytes = b""
    mask: bytes = b""

    @property
    def fix_binary(self) -> bool:
        """True when the F flag is set."""
        return "F" in self.flags


def parse_entry(name: str, text: str) -> BinfmtEntry:
    """An entry from the text of /proc/sys/fs/binfmt_misc/NAME."""
    lines = text.splitlines()
    fields = dict(line.split(" ", 1) for line in lines[1:] if " " in line)
    magic = bytes.fromhex(fields.get("magic", "").strip())
    return BinfmtEntry(name, bool(lines) and lines[0].strip() == "enabled", fields.get("interpreter", "").strip(),
                       fields.get("flags:", "").strip(), int(fields.get("offset", "0").strip() or 0), magic,
                       bytes.fromhex(fields.get("mask", "").strip()) if "mask" in fields else b"\xff" * len(magic))


def entry(name: str, root: Path = ROOT) -> BinfmtEntry | None:
    """The binfmt_misc entry called `name`, or None when it is not registered (or binfmt_misc is not mounted)."""
    try:
        text = (root / BINFMT_MISC.lstrip("/") / name).read_text().strip()
    except OSError:
        return None
    return parse_entry(name, text)


def entries(root: Path = ROOT) -> list[BinfmtEntry]:
    """Every entry registered in binfmt_misc, by name (none when binfmt_misc is not mounted)."""
    folder = root / BINFMT_MISC.lstrip("/")
    names = sorted(p.name for p in folder.iterdir() if p.name not in ("register", "status")) if folder.is_dir() else []
    found = [entry(name, root) for name in names]
    return [one for one in found if one is not None]


def register(line: str) -> None:
    """Write a `:name:type:offset:magic:mask:interpreter:flags` line to binfmt_misc's `register` (as root)."""
    (Path(BINFMT_MISC) / "register").write_text(line)


def remove(name: str) -> None:
    """Remove an entry from binfmt_misc (as root)."""
    (Path(BINFMT_MISC) / name).write_text("-1")


def matches(entry: BinfmtEntry, header: bytes) -> bool:
    """True when the kernel would hand a file starting with `header` to this entry's interpreter."""
    if not entry.enabled or not entry.magic:
        return False
    window = header[entry.offset:entry.offset + len(entry.magic)]
    if len(window) < len(entry.magic):
        return False
    return all(b & m == want & m for b, m, want in zip(window, entry.mask, entry.magic, strict=True))


def interpreter_for(header: bytes, registered: Sequence[BinfmtEntry]) -> BinfmtEntry | None:
    """The entry whose interpreter runs a file starting with `header`; None when the kernel runs it alone."""
    return next((entry for entry in registered if matches(entry, header)), None)


def elf_machine(header: bytes) -> str:
    """What an ELF header says the file's machine code is for (`AArch64`, `x86-64`, …); '' for other files."""
    if header[:4] != b"\x7fELF" or len(header) < 20:
        return ""
    number = int.from_bytes(header[18:20], "little" if header[5] == 1 else "big")
    return ELF_MACHINES.get(number, f"e_machine {number}")


# The OCI architecture each ELF machine is, by the ELF specification's name (PowerPC64 by its byte order).
ELF_ARCHITECTURES = {"Intel 80386": "386", "x86-64": "amd64", "AArch64": "arm64", "ARM": "arm", "S/390": "s390x",
                     "RISC-V": "riscv64", "LoongArch": "loong64", "PowerPC": "ppc"}


def elf_architecture(header: bytes) -> str:
    """The OCI architecture an ELF file's machine code is for (`amd64`, `arm64`, …); '' for other files."""
    machine = elf_machine(header)
    if machine == "PowerPC64":
        return "ppc64le" if header[5] == 1 else "ppc64"
    return ELF_ARCHITECTURES.get(machine, machine)


def register_line(entry: BinfmtEntry) -> str:
    """The line written to binfmt_misc's `register` file that makes the same entry (name, magic, mask, flags)."""
    def escaped(data: bytes) -> str:
        return "".join(f"\\x{byte:02x}" for byte in data)
    flags = "".join(flag for flag in entry.flags if flag in "POCF")
    return f":{entry.name}:M:{entry.offset}:{escaped(entry.magic)}:{escaped(entry.mask)}:{entry.interpreter}:{flags}"


@dataclass(frozen=True)
class PrivateRun:
    """A command run in a user namespace with a binfmt_misc instance of its own, and what it printed."""

    command: str  # as typed in the folder, which is shown as the current one
    return_code: int
    output: str  # stdout and stderr, in order


def kernel_version(release: str) -> tuple[int, int]:
    """(major, minor) of a kernel release string such as 6.18.44-fc."""
    parts = release.split(".")
    try:
        return int(parts[0]), int("".join(c for c in parts[1] if c.isdigit()) or 0)
    except (IndexError, ValueError):
        return (0, 0)


def run_private(folder: Path, argv: Sequence[str], register: Sequence[BinfmtEntry] = (), release: str = "") -> PrivateRun:
    """Run argv in `folder` inside a new user and mount namespace whose binfmt_misc holds only `register`."""
    release = release or Path("/proc/sys/kernel/osrelease").read_text().strip()
    if kernel_version(release) < PRIVATE_INSTANCE:
        raise LabError(f"This kernel ({release}) cannot give a user namespace a binfmt_misc of its own (Linux 6.7 can).",
                       "Run this part of the notebook on a newer kernel; the rest of the notebook does not need it.")
    steps = [f"mount -t binfmt_misc binfmt_misc {BINFMT_MISC}"]
    steps += [f'printf "%s\\n" "{register_line(entry)}" > {BINFMT_MISC}/register' for entry in register]
    steps += [f"ls {BINFMT_MISC}", shlex.join(argv)]
    script = "\n".join(steps)
    command = ["unshare", "--user", "--map-root-user", "--mount", "--fork", "sh", "-c", script]
    result = run.run(command, cwd=folder, merge=True)
    if result.returncode == 127 and not result.stdout:
        raise LabError("`unshare` is not installed, so no user namespace can be made here.",
                       "Install util-linux (`apt-get install util-linux`) and run the cell again.")
    if "mount:" in result.stdout or "unshare:" in result.stdout:
        raise LabError(f"A user namespace with its own binfmt_misc could not be made: {result.tail(300)}",
                       "Check that user namespaces are allowed here (`unshare --user --map-root-user true`).")
    shown = "\n".join(f"  {step}" for step in steps)
    return PrivateRun(f"{shlex.join(command[:-1])} '\n{shown}'", result.returncode, result.stdout)
