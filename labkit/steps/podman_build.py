"""Notebook 06: the experiment's Dockerfile built by podman (buildah, no BuildKit) into a manifest list, and pushed.

podman builds one image per platform and adds each to a local manifest list (`--manifest`); `podman manifest push
--all` pushes the images and the list. `--rm` then removes the local list, so that a rerun starts from nothing.
"""

from __future__ import annotations

import json
from pathlib import Path

from labkit.docker.podman import Podman, run_podman
from labkit.errors import LabError
from labkit.experiment import PLATFORMS, REPOSITORY
from labkit.oci.registry import Registry
from labkit.results import IndexMade, PodmanFacts
from labkit.steps import inputs

TAG = "podman"


def facts(podman: Podman, lab_folders: tuple[Path, ...]) -> PodmanFacts:
    """`podman info`, reduced to what notebook 06 shows."""
    result = run_podman(podman, ["info", "--format", "json"])
    if not result.succeeded:
        raise LabError(f"podman does not start: {result.tail(300)}",
                       f"Run `{podman.program} info` in a terminal to see why, then rerun the cell.")
    info = json.loads(result.stdout)
    store, host = info["store"], info["host"]
    paths = [store["graphRoot"], store.get("configFile", "")]  # its run root is in a /run of its own (a tmpfs)
    mirrors = (info.get("registries", {}).get("docker.io") or {}).get("Mirrors") or []
    return PodmanFacts(
        version=info["version"]["Version"],
        buildah_version=host.get("buildahVersion", ""),
        runtime=host["ociRuntime"]["name"],
        storage_driver=store["graphDriverName"],
        docker_io_mirror=mirrors[0]["Location"] if mirrors else "",
        folders_are_the_labs=all(any(Path(p).is_relative_to(f) for f in lab_folders) for p in paths),
    )


def build_manifest_and_push(podman: Podman, workdir: Path, platforms: tuple[str, ...] = PLATFORMS,
                   repository: str = REPOSITORY, tag: str = TAG) -> IndexMade:
    """`podman build --platform … --manifest localhost/demo:TAG .`, then `podman manifest push --all --rm … docker://…`."""
    platforms = inputs.platforms(platforms)
    inputs.build_folder(workdir)
    # Fully qualified: podman would match a short `demo:TAG` to an image of that name from any registry in its storage.
    local = inputs.image_ref(f"localhost/{repository}:{tag}")
    ref = inputs.image_ref(f"{podman.registry}/{repository}:{tag}")
    if run_podman(podman, ["manifest", "exists", local]).succeeded:  # left by a run that stopped before its push
        run_podman(podman, ["manifest", "rm", local])
    build = run_podman(podman, ["build", "--platform", ",".join(platforms), "--manifest", local, str(workdir)], workdir)
    commands = [build]
    if build.succeeded:
        commands.append(run_podman(podman, ["manifest", "push", "--all", "--rm", local, f"docker://{ref}"]))
    served = Registry(podman.registry).get_manifest(repository, tag) if commands[-1].succeeded else None
    return IndexMade("podman", tuple(commands), ref, served.media_type if served else "", served.digest if served else "")
