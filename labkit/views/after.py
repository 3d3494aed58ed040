"""Notebook 08's views: the four places of `--platform`, the variants picked, CI's index, the knobs, bake."""

from __future__ import annotations

import re
from collections.abc import Sequence

import pandas as pd

from labkit.oci.index import IndexReport
from labkit.results import BakeRun, CiPattern, CommandResult, KnobPush, PlatformPlace, VariantPick
from labkit.views.frames import Table
from labkit.views.text import command_text


def _last_error(result: CommandResult) -> str:
    lines = [line.strip() for line in result.stderr.splitlines() if line.strip().startswith(("ERROR", "Error", "docker:"))]
    return lines[-1] if lines else result.tail(200)


LOOPBACK_REGISTRY = re.compile(r"\b127\.0\.0\.1:\d{1,5}\b")


def registry_named(text: str) -> str:
    """The lab's registry address as `$REGISTRY`, so that a table's columns are as wide whatever its port."""
    return LOOPBACK_REGISTRY.sub("$REGISTRY", text)


def places_table(places: Sequence[PlatformPlace]) -> Table:
    """One row per place: the commands as typed (the classic engine's), and what `uname -m` printed on each engine."""
    rows: dict[str, dict[str, str]] = {}
    for place in places:
        row = rows.setdefault(place.place, {"place": place.place,
                                            "commands": registry_named(" ; ".join(c.command for c in place.commands))})
        row[place.context] = place.printed
    return Table(pd.DataFrame(list(rows.values())))


def picks_table(picks: Sequence[VariantPick]) -> Table:
    """One row per request and engine: what `uname -m` printed, and the entry of the base index it took."""
    return Table(pd.DataFrame([{"requested": p.requested, "engine": p.context, "uname -m": registry_named(p.uname),
                                "entry picked": p.picked_platform or "(none)",
                                "its digest": p.picked_digest or "-"} for p in picks]))


def _images(report: IndexReport) -> dict[str, str]:
    return {e.platform: e.manifest.digest for e in report.entries if e.kind == "image"}


def ci_text(pattern: CiPattern) -> str:
    """push-by-digest refused, the per-platform pushes with the digest each metadata file holds, the merge command."""
    lines = [command_text(pattern.by_digest.context, pattern.by_digest.command, _last_error(pattern.by_digest),
                          pattern.by_digest.return_code)]
    for push, (platform, digest) in zip(pattern.pushes, pattern.digests, strict=True):
        lines.append(command_text(push.context, push.command, f"{platform}: containerimage.digest = {digest}",
                                  push.return_code))
    lines.append(command_text(pattern.create.context, pattern.create.command, "", pattern.create.return_code))
    return "\n".join(lines)


def ci_compared(pattern: CiPattern) -> Table:
    """The image manifests of CI's merged index beside those of the one-command build, platform by platform."""
    merged, one = _images(pattern.merged), _images(pattern.one)
    return Table(pd.DataFrame([{"platform": p, "CI's index (imagetools create)": merged.get(p, "-"),
                                "one command (--platform a,b)": one.get(p, "-"),
                                "same": "yes" if merged.get(p) == one.get(p) else "no"} for p in sorted(merged)]))


def knobs_table(pushes: Sequence[KnobPush]) -> Table:
    """One row per knob: the registry's media type for the tag, and its entries when it is an index."""
    return Table(pd.DataFrame([{"knob": k.knob, "served as": k.media_type or f"(failed: {_last_error(k.result)})",
                                "entries": "; ".join(k.entries) or "(one manifest, no index)"} for k in pushes]))


def bake_text(run: BakeRun) -> str:
    """The bake file, the command and its exit code, and the index it pushed."""
    lines = ["docker-bake.hcl:", run.hcl.rstrip("\n"),
             command_text(run.result.context, run.result.command, "" if run.result.succeeded
                          else _last_error(run.result), run.result.return_code)]
    if run.index is not None:
        lines.append(f"{run.index.image_ref} is served as {run.index.media_type}: "
                     f"{', '.join(run.index.platforms())} (+ {len(run.index.platforms('attestation'))} attestations)")
    return "\n".join(lines)
