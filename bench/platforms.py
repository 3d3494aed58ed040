"""Benchmark: build and push the experiment's image for 2, 4 and 8 platforms, and say where the time goes.

Every build starts from an empty builder cache (`docker buildx prune --all --force`, not timed), as a first build
would: with a warm cache BuildKit would only re-export. Step 3's build as the experiment runs it (provenance
attestations in mode=min, buildx's default) and the same with attestations off: the six runs interleaved, ROUNDS
rounds (default 5), in a rotating order, and medians are compared. BuildKit's rawjson progress gives each vertex and status its start and
end; the phases below are the union of their intervals, and what is left of the wall time is the client (CLI start,
session, the registry's answer). The last line is machine-readable:
    ratio_8_vs_2=…
"""

from __future__ import annotations

import json
import os
import statistics
import sys
import time
from collections import defaultdict
from datetime import datetime

from labkit import engines
from labkit.docker.commands import run_docker
from labkit.settings import DEBIAN_PLATFORMS, Settings
from labkit.steps import dockerfile, multiarch_build

ROUNDS = int(os.environ.get("ROUNDS", "5"))
SIZES = (2, 4, 8)
STEP3 = "as step 3 builds it"
# What is measured: step 3's build and push as the experiment runs it (provenance in mode=min, buildx's default), and
# the same with attestations off, to show what they cost per platform. The last line is the first one's ratio.
SERIES = {STEP3: ("--push",), "attestations off": ("--push", "--provenance=false")}
PHASES = ("Dockerfile and context", "base image metadata", "base image (FROM)", "export (manifests, configs)",
          "push", "unpack and name", "client (outside the solve)")


def _time(text: str) -> float:
    """Seconds since the epoch of an RFC 3339 time with nanoseconds, as BuildKit writes it."""
    head, _, rest = text.rstrip("Z").partition(".")
    return datetime.fromisoformat(f"{head}.{(rest or '0')[:6]}+00:00").timestamp()


def _phase(name: str, vertex: bool) -> str:
    if vertex:
        if "load metadata for" in name:
            return PHASES[1]
        if "] FROM " in name:
            return PHASES[2]
        return PHASES[0] if name.startswith("[internal]") else ""
    if name.startswith("pushing"):
        return PHASES[4]
    if name.startswith("exporting"):
        return PHASES[3]
    if name.startswith(("unpacking", "naming")):
        return PHASES[5]
    return ""


def _union(spans: list[tuple[float, float]]) -> float:
    total, end = 0.0, float("-inf")
    for start, stop in sorted(spans):
        if stop > end:
            total += stop - max(start, end)
            end = stop
    return total


def phases(rawjson: str, wall: float) -> dict[str, float]:
    """Seconds per phase of one build, from its rawjson progress (the union of each phase's intervals)."""
    spans: dict[str, list[tuple[float, float]]] = defaultdict(list)
    first, last = float("inf"), float("-inf")
    for line in rawjson.splitlines():
        if not line.startswith("{"):
            continue
        status = json.loads(line)
        items = [(v["name"], True, v) for v in status.get("vertexes") or []]
        items += [(s["id"], False, s) for s in status.get("statuses") or []]
        for name, vertex, item in items:
            if "started" in item and "completed" in item:
                start, stop = _time(item["started"]), _time(item["completed"])
                first, last = min(first, start), max(last, stop)
                phase = _phase(name, vertex)
                if phase:
                    spans[phase].append((start, stop))
    found = {phase: _union(spans[phase]) for phase in PHASES[:-1]}
    found[PHASES[-1]] = max(0.0, wall - (last - first)) if last > first else wall
    return found


def _fit(medians: dict[int, float]) -> tuple[float, float]:
    """Least squares: (seconds that do not depend on the platforms, seconds per platform)."""
    sizes, seconds = list(medians), list(medians.values())
    mean_size, mean_seconds = statistics.fmean(sizes), statistics.fmean(seconds)
    slope = sum((x - mean_size) * (y - mean_seconds) for x, y in zip(sizes, seconds, strict=True)) / sum(
        (x - mean_size) ** 2 for x in sizes)
    return mean_seconds - slope * mean_size, slope


def main() -> None:
    settings = Settings.from_env()
    endpoints = engines.choose(settings).up()
    workdir = dockerfile.write(settings.work_dir).workdir
    every = tuple(DEBIAN_PLATFORMS[arch] for arch in settings.base_arches)
    if len(every) < max(SIZES):
        sys.exit(f"bench-platforms needs {max(SIZES)} platforms in the base image, it has {len(every)} (LABKIT_BASE_ARCHES)")
    context = endpoints.multiarch_context
    walls: dict[tuple[str, int], list[float]] = defaultdict(list)
    parts: dict[tuple[str, int], list[dict[str, float]]] = defaultdict(list)

    def build(series: str, size: int) -> None:
        if not run_docker(endpoints, context, ["buildx", "prune", "--all", "--force"]).succeeded:
            sys.exit("docker buildx prune failed")
        started = time.perf_counter()
        pushed = multiarch_build.build_and_push(endpoints, workdir, platforms=every[:size], tag=f"bench-{size}",
                                                options=(*SERIES[series], "--progress=rawjson"))
        wall = time.perf_counter() - started
        if not pushed.result.succeeded:
            sys.exit(f"{pushed.result.command} failed: {pushed.result.stderr[-300:]}")
        walls[series, size].append(wall)
        parts[series, size].append(phases(pushed.result.stderr, wall))

    runs = [(series, size) for series in SERIES for size in SIZES]
    for series, size in runs:  # a first build of each, not counted: the registry and the daemons warm up
        build(series, size)
    walls.clear()
    parts.clear()
    for number in range(ROUNDS):
        for series, size in runs[number % len(runs):] + runs[:number % len(runs)]:
            build(series, size)

    print(f"build and push of the experiment's image, empty builder cache each time, {ROUNDS} interleaved rounds")
    print("(2 cores shared with other work: single runs vary; medians below)")
    ratios = {}
    for series in SERIES:
        median = {size: statistics.median(walls[series, size]) for size in SIZES}
        print(f"\n{series} ({' '.join(SERIES[series])})")
        print(f"{'platforms':>9}  {'median s':>8}  {'min s':>6}  {'max s':>6}")
        for size in SIZES:
            print(f"{size:>9}  {median[size]:8.3f}  {min(walls[series, size]):6.3f}  {max(walls[series, size]):6.3f}")
        print("where the time goes (median seconds per phase; the steps of different platforms overlap, so a phase's "
              "time is the time during which at least one of its steps ran):")
        print(f"{'phase':<28}" + "".join(f"{size:>8}" for size in SIZES))
        for phase in PHASES:
            print(f"{phase:<28}" + "".join(f"{statistics.median(p[phase] for p in parts[series, size]):8.3f}"
                                           for size in SIZES))
        fixed, per_platform = _fit(median)
        print(f"as a line through the medians: {fixed:.3f} s whatever the platforms, plus {per_platform:.3f} s per "
              f"platform; 8 vs 2: {median[8] / median[2]:.2f}")
        ratios[series] = median[8] / median[2]
    print("\n(the ratio 8 vs 2 is at most 1.5 only when one platform costs at most a tenth of the fixed part)")
    print(f"ratio_8_vs_2={ratios[STEP3]:.2f}")


if __name__ == "__main__":
    main()
