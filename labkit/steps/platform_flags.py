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
from labkit.experiment import BASE_REPOSITORY, BASE_TAG
from labkit.oci.index import IndexReport
from labkit.results import CommandResult, PlatformPlace, PlatformPull, VariantPick
from labkit.steps import every_variant


# The base image by the lab's own reference (its registry), never `busybox`: the steps re-point and remove this tag,
# and on the learner's own Docker (host mode) `busybox` is theirs.
def base_ref(endpoints: Endpoints) -> str:
    """The base index in the lab's registry, as the steps run, pull and remove it: REGISTRY/library/busybox:latest."""
    return f"{endpoints.registry}/{BASE_REPOSITORY}:{BASE_TAG}"


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
    base = base_ref(endpoints)
    was = _platform(endpoints, context, base)
    build, from_ = _folder(workdir, "build"), _folder(workdir, "from")
    found = [PlatformPlace("docker run --platform", context,
                           (run_docker(endpoints, context, [*RUN, "--platform", TARGET, base, *UNAME]),))]
    _put_back(endpoints, context, base, was)
    for place, folder, flag in (("docker build --platform", build, ["--platform", TARGET]), ("FROM --platform", from_, [])):
        made = run_docker(endpoints, context, ["build", *flag, "-t", BUILT, str(folder)], folder)
        found.append(PlatformPlace(place, context, (made, run_docker(endpoints, context, [*RUN, BUILT]))))
        run_docker(endpoints, context, ["image", "rm", BUILT])
    found.append(PlatformPlace("DOCKER_DEFAULT_PLATFORM", context,
                               (run_docker(endpoints, context, [*RUN, base, *UNAME], env={"DOCKER_DEFAULT_PLATFORM": TARGET}),)))
    _put_back(endpoints, context, base, was)
    return found


def _picked(endpoints: Endpoints, context: str, requested: str, report: IndexReport) -> tuple[str, str]:
    """The entry of the base index the engine now holds for the request: by manifest digest on the containerd store
    (`image inspect --platform`), by config digest (the image id) on the classic store."""
    base = base_ref(endpoints)
    images = [e for e in report.entries if e.kind == "image"]
    if image_store(endpoints, context) == "containerd":
        found = run_docker(endpoints, context, ["image", "inspect", "--platform", requested, "--format",
                                                "{{.Descriptor.Digest}}", base])
        entry = next((e for e in images if found.succeeded and e.manifest.digest == found.stdout.strip()), None)
    else:
        found = run_docker(endpoints, context, ["image", "inspect", "--format", "{{.Id}}", base])
        entry = next((e for e in images if found.succeeded and e.config.digest == found.stdout.strip()), None)
    return (entry.platform, entry.manifest.digest) if entry else ("", "")


def pick(endpoints: Endpoints, context: str, report: IndexReport,
         requests: tuple[str, ...] = REQUESTS) -> list[VariantPick]:
    """Each request from a clean start (the tag removed first): `docker run --platform P busybox uname -m`, and the
    entry of the base index it took; the tag put back afterwards."""
    base = base_ref(endpoints)
    was = _platform(endpoints, context, base)
    picks = []
    for requested in requests:
        run_docker(endpoints, context, ["image", "rm", base])
        run = run_docker(endpoints, context, [*RUN, "--platform", requested, base, *UNAME])
        picks.append(VariantPick(context, requested, run, *_picked(endpoints, context, requested, report)))
    run_docker(endpoints, context, ["image", "rm", base])
    _put_back(endpoints, context, base, was)
    return picks


def restore_check(endpoints: Endpoints, context: str) -> CommandResult:
    """`docker image inspect` of the base tag: what the engine's tag names after a step put it back."""
    base = base_ref(endpoints)
    return run_docker(endpoints, context, [*PLATFORM_OF, base])


def repoint(endpoints: Endpoints, context: str, platform: str = "linux/arm64") -> PlatformPull:
    """Notebook 05's pull for another platform then a plain run, on the base image by the lab's reference, from the
    same start on every engine and every run: that tag removed first (the lab's own), and removed again after."""
    base = base_ref(endpoints)
    run_docker(endpoints, context, ["image", "rm", base])
    return every_variant.pull_then_run(endpoints, context, base, platform)
