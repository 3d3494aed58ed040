"""Notebook 08: where `--platform` acts, and which variant of the base index each request resolves to.

Four places name a platform: `docker run --platform`, `docker build --platform`, `FROM --platform=` in a
Dockerfile, and the CLI's `DOCKER_DEFAULT_PLATFORM`. Each is tried on both of the lab's engines. A `docker run` of a
tag the engine lacks pulls it; every tag a step moved or made is put back (or removed) before it returns.
"""

from __future__ import annotations

from pathlib import Path

from labkit.docker.commands import run_docker
from labkit.docker.endpoints import Endpoints
from labkit.docker.facts import image_store
from labkit.oci.index import IndexReport
from labkit.results import CommandResult, PlatformPlace, VariantPick

BASE = "busybox"  # what `FROM busybox` and `docker run busybox` name: docker.io/library/busybox, from the mirror
TARGET = "linux/arm64"
BUILT = "demo:platform-flag"
UNAME = ("uname", "-m")
RUN = ["run", "--rm", "--network", "none"]
PLATFORM_OF = ["image", "inspect", "--format", "{{.Os}}/{{.Architecture}}{{if .Variant}}/{{.Variant}}{{end}}"]
DOCKERFILES = {"build": 'FROM busybox\nCMD ["uname", "-m"]\n',
               "from": f'FROM --platform={TARGET} busybox\nCMD ["uname", "-m"]\n'}
# The requests notebook 08 resolves against the base index: none of them names an entry exactly as it is written.
REQUESTS = ("linux/arm", "linux/arm/v6", "linux/arm64/v8")


def _folder(workdir: Path, name: str) -> Path:
    folder = workdir / "platform-flags" / name
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "Dockerfile").write_text(DOCKERFILES[name])
    return folder


def _platform(endpoints: Endpoints, context: str, ref: str) -> str:
    found = run_docker(endpoints, context, [*PLATFORM_OF, ref])
    return found.stdout.strip() if found.succeeded else ""


def _put_back(endpoints: Endpoints, context: str, ref: str, was: str) -> None:
    """The tag as it was: pulled again for its old platform (the classic store re-points it), or removed."""
    if not was:
        run_docker(endpoints, context, ["image", "rm", ref])
    elif _platform(endpoints, context, ref) != was:
        run_docker(endpoints, context, ["pull", "--quiet", "--platform", was, ref])


def places(endpoints: Endpoints, workdir: Path, context: str) -> list[PlatformPlace]:
    """The four places, each asking for linux/arm64 on one engine, each ending in what `uname -m` printed."""
    was = _platform(endpoints, context, BASE)
    build, from_ = _folder(workdir, "build"), _folder(workdir, "from")
    found = [PlatformPlace("docker run --platform", context,
                           (run_docker(endpoints, context, [*RUN, "--platform", TARGET, BASE, *UNAME]),))]
    _put_back(endpoints, context, BASE, was)
    for place, folder, flag in (("docker build --platform", build, ["--platform", TARGET]), ("FROM --platform", from_, [])):
        made = run_docker(endpoints, context, ["build", *flag, "-t", BUILT, str(folder)], folder)
        found.append(PlatformPlace(place, context, (made, run_docker(endpoints, context, [*RUN, BUILT]))))
        run_docker(endpoints, context, ["image", "rm", BUILT])
    found.append(PlatformPlace("DOCKER_DEFAULT_PLATFORM", context,
                               (run_docker(endpoints, context, [*RUN, BASE, *UNAME], env={"DOCKER_DEFAULT_PLATFORM": TARGET}),)))
    _put_back(endpoints, context, BASE, was)
    return found


def _picked(endpoints: Endpoints, context: str, requested: str, report: IndexReport) -> tuple[str, str]:
    """The entry of the base index the engine now holds for the request: by manifest digest on the containerd store
    (`image inspect --platform`), by config digest (the image id) on the classic store."""
    images = [e for e in report.entries if e.kind == "image"]
    if image_store(endpoints, context) == "containerd":
        found = run_docker(endpoints, context, ["image", "inspect", "--platform", requested, "--format",
                                                "{{.Descriptor.Digest}}", BASE])
        entry = next((e for e in images if found.succeeded and e.manifest.digest == found.stdout.strip()), None)
    else:
        found = run_docker(endpoints, context, ["image", "inspect", "--format", "{{.Id}}", BASE])
        entry = next((e for e in images if found.succeeded and e.config.digest == found.stdout.strip()), None)
    return (entry.platform, entry.manifest.digest) if entry else ("", "")


def pick(endpoints: Endpoints, context: str, report: IndexReport,
         requests: tuple[str, ...] = REQUESTS) -> list[VariantPick]:
    """Each request from a clean start (the tag removed first): `docker run --platform P busybox uname -m`, and the
    entry of the base index it took; the tag put back afterwards."""
    was = _platform(endpoints, context, BASE)
    picks = []
    for requested in requests:
        run_docker(endpoints, context, ["image", "rm", BASE])
        run = run_docker(endpoints, context, [*RUN, "--platform", requested, BASE, *UNAME])
        picks.append(VariantPick(context, requested, run, *_picked(endpoints, context, requested, report)))
    run_docker(endpoints, context, ["image", "rm", BASE])
    _put_back(endpoints, context, BASE, was)
    return picks


def restore_check(endpoints: Endpoints, context: str) -> CommandResult:
    """`docker image inspect` of the base tag: what the engine's tag names after a step put it back."""
    return run_docker(endpoints, context, [*PLATFORM_OF, BASE])
