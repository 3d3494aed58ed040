"""Notebook 08: how CI builds an index: one single-platform build per runner, pushed, its digest read from
`--metadata-file`, then one index made from the digests with `docker buildx imagetools create`.

The strings CI uses live here once: the build's `--output` with push-by-digest, and the merge command. The lab's
workflow (.github/workflows/multi-platform.yml) and its unit test read them from this module.

push-by-digest is refused by the engine's own builder (docker driver, buildx v0.29.1 build/opt.go#L291-L299) and
this lab has no docker-container builder offline; so here each platform is pushed under a tag of its own, with the
same `--metadata-file`, and the index is made from the digests exactly as CI's merge job makes it.
"""

from __future__ import annotations

import json
from pathlib import Path

from labkit.docker.commands import run_docker
from labkit.docker.endpoints import Endpoints
from labkit.experiment import PLATFORMS
from labkit.results import CiPattern, CommandResult, IndexMade
from labkit.steps import assemble_index, inputs, inspect_index, multiarch_build

CI_REPOSITORY = "demo-ci"
MERGED_TAG = "merged"
ONE_TAG = "one"
METADATA_KEY = "containerimage.digest"  # the key of the pushed image's digest in buildx's metadata file
MERGE = ("docker", "buildx", "imagetools", "create")  # the merge job's command, before its -t and sources
CI_PLATFORMS = PLATFORMS


def by_digest_output(name: str) -> str:
    """The `--output` CI's build jobs push with: no tag, the image named only by its digest."""
    return f"type=image,name={name},push-by-digest=true,name-canonical=true,push=true"


def tagged_output(name: str) -> str:
    """The `--output` the lab pushes with instead: the same exporter, a tag of its own per platform."""
    return f"type=image,name={name},push=true"


def arch_tag(platform: str) -> str:
    """linux/arm64 -> ci-arm64."""
    return "ci-" + platform.split("/", 1)[1].replace("/", "-")


def _build(endpoints: Endpoints, workdir: Path, platform: str, output: str, metadata: Path) -> CommandResult:
    inputs.build_folder(workdir)
    metadata.unlink(missing_ok=True)
    args = ["buildx", "build", "--platform", platform, "--output", output, "--metadata-file", metadata.name,
            str(workdir)]
    shown = run_docker(endpoints, endpoints.multiarch_context,
                       [str(metadata) if a == metadata.name else a for a in args], workdir)
    return CommandResult(shown.context, shown.command.replace(str(metadata), metadata.name), shown.return_code,
                         shown.stdout, shown.stderr)


def digest_from(metadata: Path) -> str:
    """`containerimage.digest` from a buildx metadata file ('' when the build wrote none)."""
    try:
        return str(json.loads(metadata.read_text()).get(METADATA_KEY, ""))
    except (OSError, ValueError):
        return ""


def run(endpoints: Endpoints, workdir: Path, platforms: tuple[str, ...] = CI_PLATFORMS,
        repository: str = CI_REPOSITORY) -> CiPattern:
    """push-by-digest tried, then one push per platform, the index from their digests, and a one-command build."""
    name = f"{endpoints.registry}/{repository}"
    folder = workdir  # the metadata files are written in the working folder, as a job writes them in its own
    by_digest = _build(endpoints, workdir, platforms[0], by_digest_output(name), folder / "metadata.json")
    pushes, digests = [], []
    for platform in platforms:
        metadata = folder / f"metadata-{arch_tag(platform)}.json"
        pushes.append(_build(endpoints, workdir, platform, tagged_output(f"{name}:{arch_tag(platform)}"), metadata))
        digests.append((platform, digest_from(metadata)))
    merged = f"{name}:{MERGED_TAG}"
    create = run_docker(endpoints, endpoints.multiarch_context,
                        [*MERGE[1:], "-t", merged, *(f"{name}@{digest}" for _, digest in digests)])
    inspect = inspect_index.imagetools_inspect(endpoints, merged)
    one = multiarch_build.build_and_push(endpoints, workdir, platforms, repository, ONE_TAG)
    return CiPattern(by_digest, tuple(pushes), tuple(digests), create, inspect, one.result,
                     inspect_index.read_index(endpoints, repository, MERGED_TAG),
                     inspect_index.read_index(endpoints, repository, ONE_TAG))


def manifest_from_indexes(endpoints: Endpoints, pattern: CiPattern, repository: str = CI_REPOSITORY) -> CommandResult:
    """`docker manifest create --insecure …:list SOURCE@DIGEST…` from CI's pushes, each an index (image + provenance)."""
    name = f"{endpoints.registry}/{repository}"
    return run_docker(endpoints, endpoints.multiarch_context,
                      ["manifest", "create", "--insecure", f"{name}:list", *(f"{name}@{d}" for _, d in pattern.digests)])


def manifest_from_single(endpoints: Endpoints, workdir: Path, repository: str = CI_REPOSITORY) -> IndexMade:
    """The way out with `docker manifest`: single-manifest sources (`--provenance=false`), then create and push."""
    pushed = assemble_index.push_single_platforms(endpoints, workdir, repository=repository)
    made = assemble_index.manifest_create(endpoints, "list", repository=repository)
    return IndexMade(made.tool, (*(p.result for p in pushed), *made.commands), made.image_ref, made.media_type,
                     made.digest)
