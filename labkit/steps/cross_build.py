"""A `RUN` step for two platforms, built twice: under emulation, and cross-built from the build platform.

The emulated Dockerfile runs `uname -m` in each target platform's own stage, so the target's machine code runs
(through QEMU for the foreign one). The cross-built one runs its `RUN` in a stage pinned to `$BUILDPLATFORM`, natively,
and only picks the target's file there by `$TARGETARCH`; the final stage has no `RUN` at all.
"""

from __future__ import annotations

import time
from pathlib import Path

from labkit.docker.endpoints import Endpoints
from labkit.experiment import PLATFORMS
from labkit.results import TimedBuild
from labkit.steps import multiarch_build

# The same work in both: `uname -m`, and CPU-bound work, a checksum of the 300000 lines `seq` prints (about 2 MB),
# done by busybox in small reads and writes. Natively it takes a fraction of a second; under QEMU (user-mode emulation,
# which translates every instruction and every system call) several seconds, so the emulated build is clearly slower.
LINES = 300000
WORK = f"seq 1 {LINES} | md5sum > /work-done"
EMULATED = f"""FROM busybox
RUN uname -m > /built-on && {WORK}
CMD ["cat", "/built-on"]
"""
CROSS = f"""FROM --platform=$BUILDPLATFORM busybox AS pick
ARG TARGETARCH
COPY machines/ /machines/
RUN cp /machines/$TARGETARCH /machine && uname -m > /built-on && {WORK}
FROM busybox
COPY --from=pick /machine /built-on /
CMD ["cat", "/machine", "/built-on"]
"""
# What the cross build picks for each TARGETARCH: the machine name its variant runs as.
MACHINES = {"amd64": "x86_64", "arm64": "aarch64"}


def write(folder: Path, kind: str) -> Path:
    """The build folder of one kind (`emulated` or `cross`): its Dockerfile, and for `cross` one file per TARGETARCH."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "Dockerfile").write_text(EMULATED if kind == "emulated" else CROSS)
    if kind == "cross":
        (folder / "machines").mkdir(exist_ok=True)
        for arch, machine in MACHINES.items():
            (folder / "machines" / arch).write_text(machine + "\n")
    return folder


def build_timed(endpoints: Endpoints, folder: Path, kind: str, platforms: tuple[str, ...] = PLATFORMS) -> TimedBuild:
    """`docker buildx build --no-cache --network none --platform a,b -t REGISTRY/demo:KIND --push .`, timed, then run.

    `--no-cache` makes every `RUN` execute on every build; `--network none`: the sandbox's daemons have no bridge.
    """
    write(folder, kind)
    options = ("--no-cache", "--network", "none", "--push")
    started = time.perf_counter()
    pushed = multiarch_build.build_and_push(endpoints, folder, platforms=platforms, tag=kind, options=options)
    seconds = time.perf_counter() - started
    runs = tuple(multiarch_build.run_image(endpoints, pushed.image_ref, platform) for platform in platforms) \
        if pushed.result.succeeded else ()
    return TimedBuild(pushed.result, seconds, (folder / "Dockerfile").read_text(), runs)
