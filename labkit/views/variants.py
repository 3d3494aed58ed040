"""Every variant, emulated and cross builds, reproducible digests: results in, tables and lines out."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime

import pandas as pd

from labkit.oci.index import IndexReport
from labkit.results import CommandResult, PlatformPull, ReproBuild, TimedBuild, VariantRun
from labkit.views import text
from labkit.views.frames import Table


def _emulator(run: VariantRun) -> str:
    if run.missing:
        return f"missing: {run.missing} (add it: {run.fix})" if run.fix else f"missing: {run.missing}"
    return run.emulator or "none: the kernel runs it"


def variants_table(runs: Sequence[VariantRun]) -> Table:
    """One row per variant: its machine code, what `uname -m` printed, and the emulator the kernel handed it to, with
    its F flag (what the lab needs of an entry); a missing emulator is marked with the command that adds it. How the
    entries were registered (their other flags, their interpreters' paths) is `entries_table`'s."""
    return Table(pd.DataFrame(
        [(r.platform, r.machine_code, r.uname if r.result.succeeded else f"failed: {r.result.tail(80)}",
          _emulator(r), ("yes" if "F" in r.flags else "no") if r.emulator else "-")
         for r in runs],
        columns=["platform", "/bin/busybox is machine code for", "uname -m", "emulator (binfmt_misc entry)", "F flag"],
    ))


def entries_table(runs: Sequence[VariantRun]) -> Table:
    """Each binfmt_misc entry that ran a variant: its flags and its interpreter, links resolved (they depend on what
    registered the entry: the lab, binfmt-support or systemd-binfmt)."""
    seen: dict[str, VariantRun] = {}
    for run in runs:
        if run.emulator:
            seen.setdefault(run.emulator, run)
    return Table(pd.DataFrame([(name, run.flags, run.interpreter) for name, run in seen.items()],
                              columns=["binfmt_misc entry", "flags", "interpreter"]))


def missing_emulators(runs: Sequence[VariantRun]) -> str:
    """Which emulators the variants needed and the machine lacks, by platform ('' for none)."""
    needed: dict[str, list[str]] = {}
    for run in runs:
        if run.missing:
            needed.setdefault(run.missing, []).append(run.platform)
    return "; ".join(f"{name} is missing for {', '.join(platforms)}" for name, platforms in needed.items())


def _shown(result: CommandResult, output: str | None = None) -> str:
    return text.command_text(result.context, result.command, result.stdout if output is None else output,
                             result.return_code)


def pull_text(pulled: PlatformPull) -> str:
    """What the tag named before, the pull (its output left out), the run without `--platform` and what it printed,
    the platform of the image the tag names now, and how the tag was put back."""
    before = (f"`docker image inspect` gives {pulled.before}" if pulled.before
              else f"no image tagged {pulled.image} on this engine")
    lines = [f"before the pull: {before}", _shown(pulled.pull, ""), _shown(pulled.run)]
    if pulled.warned:
        lines.append(f"(the engine warned: the image's platform, {pulled.picked.stdout.strip()}, does not match "
                     "the host's, and no platform was requested)")
    lines.append(_shown(pulled.picked))
    if pulled.restore is None:
        lines.append("the pull left the tag as it was: nothing to put back")
    else:
        lines.append("put back as it was: " + _shown(pulled.restore, ""))
    return "\n".join(lines)


def build_times(builds: dict[str, TimedBuild]) -> Table:
    """How long each build-and-push took, side by side, and each one's time over the fastest's."""
    fastest = min(build.seconds for build in builds.values())
    return Table(pd.DataFrame([(kind, f"{build.seconds:.2f}", f"{build.seconds / fastest:.1f}")
                               for kind, build in builds.items()],
                              columns=["build", "seconds (build and push, no cache)", "times the fastest"]))


def _parts(report: IndexReport) -> dict[str, str]:
    """The index and each manifest it lists, by what it is."""
    parts = {"index": report.served_digest}
    for entry in report.entries:
        name = f"{entry.platform} manifest" if entry.kind == "image" else f"attestation for {report.platform_of(entry.describes)}"
        parts[name] = entry.manifest.digest
    return parts


def compare_table(first: ReproBuild, second: ReproBuild) -> Table:
    """Part by part (the index, each manifest): the same digest in both builds, or not."""
    a, b = _parts(first.index), _parts(second.index)
    return Table(pd.DataFrame([(name, "same" if a.get(name) == b.get(name) else "differs") for name in a],
                              columns=["part", f"{first.index.image_ref} vs {second.index.image_ref}"]))


def same_index_line(first: ReproBuild, second: ReproBuild) -> str:
    """Whether two builds made the same index, computed by comparing their digests."""
    same = first.index.served_digest == second.index.served_digest
    return f"{first.index.image_ref} and {second.index.image_ref}: {'same' if same else 'different'} index digest"


def file_times(build: ReproBuild, epoch: int) -> str:
    """For each variant, whether the files of its last layer carry SOURCE_DATE_EPOCH or the time of the build."""
    stamp = datetime.fromtimestamp(epoch, UTC).strftime("%Y-%m-%d %H:%M:%S")
    return "\n".join(f"{build.index.image_ref}, {platform}: newest file in the RUN layer dated "
                     + (f"{stamp} (SOURCE_DATE_EPOCH)" if newest == epoch else "at build time (not SOURCE_DATE_EPOCH)")
                     for platform, newest in build.top_layer_times)
