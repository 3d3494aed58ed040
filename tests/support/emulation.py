"""binfmt_misc as the documented orders of setting a machine up find it: with only some of the lab's QEMU entries, or
none, registered; put back, entry by entry, as it was when the test began.

The entries are the machine's, shared by every test of the session: a test changes them only inside `registered_only`,
and nothing else runs meanwhile (the session runs one test at a time).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager

from labkit.provision import emulators
from labkit.settings import Settings
from labkit.system import binfmt


def _register(entry: binfmt.BinfmtEntry) -> None:
    binfmt.register(binfmt.register_line(entry))


def the_other_emulator(settings: Settings) -> str:
    """The entry for the machine's other main architecture (qemu-aarch64 on amd64): the one an older setup, or
    `--install arm64`, registers alone."""
    return binfmt.emulator_for("linux/amd64" if settings.host_arch == "arm64" else "linux/arm64")


@contextmanager
def registered_only(settings: Settings, keep: Sequence[str] = (),
                    replace: dict[str, str] | None = None) -> Iterator[list[str]]:
    """Remove every QEMU entry the lab needs but those in `keep` (registered again with the flags in `replace`, as
    another tool would have made them); yields the entries removed. Afterwards each entry is as it was: one the test
    left changed (or one the lab registered meanwhile) is replaced by the original, one that was not there is removed."""
    names = sorted({name for _, name in emulators.needed(settings)})
    before = {name: entry for name in names if (entry := binfmt.entry(name)) is not None}
    removed = [name for name in names if name in before and name not in keep]
    try:
        for name in removed:
            binfmt.remove(name)
        for name, flags in (replace or {}).items():
            binfmt.remove(name)
            _register(binfmt.BinfmtEntry(name, True, before[name].interpreter, flags, before[name].offset,
                                         before[name].magic, before[name].mask))
        yield removed
    finally:
        for name in names:
            now, then = binfmt.entry(name), before.get(name)
            if then is None:
                if now is not None:
                    binfmt.remove(name)
                continue
            if now is not None and (now.enabled, now.flags, now.interpreter) == (then.enabled, then.flags, then.interpreter):
                continue
            if now is not None:
                binfmt.remove(name)
            _register(then)
