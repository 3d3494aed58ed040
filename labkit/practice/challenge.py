"""The challenge: assemble and publish a multi-platform image from single-platform variants, by hand in a terminal.

The learner pushes REGISTRY/challenge:amd64 and REGISTRY/challenge:arm64, each for one platform, then publishes
REGISTRY/challenge:multi, an index of exactly those two images (the same manifests, by digest). `labkit check
challenge` reads the registry's final state and says what is still missing; it does not care which commands got it
there (a build whose bytes equal the variants' is, by content addressing, the same image).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from labkit.oci.platforms import same_platform
from labkit.oci.registry import Registry
from labkit.practice import pushed
from labkit.settings import RegistryAddress

REPOSITORY = "challenge"
VARIANTS: tuple[tuple[str, str], ...] = (("amd64", "linux/amd64"), ("arm64", "linux/arm64"))
TARGET = "multi"
TITLE = "assemble and publish a multi-platform image from single-platform variants"


@dataclass(frozen=True)
class Step:
    """One thing the final state must show; `next_step` says what to do when it does not."""

    done: bool
    what: str
    next_step: str


def shell_variables(registry: RegistryAddress, workdir: Path) -> dict[str, str]:
    """What `labkit env multiarch` exports for the challenge."""
    return {"REGISTRY": str(registry), "CHALLENGE": f"{registry}/{REPOSITORY}", "LAB_WORKDIR": str(workdir)}


def task_lines() -> list[str]:
    """The challenge as `labkit env multiarch` tells it (on stderr, so that eval leaves it on screen)."""
    return [
        f"challenge: {TITLE}",
        "  1. push $CHALLENGE:amd64, built for linux/amd64 only, and $CHALLENGE:arm64, built for linux/arm64 only",
        "     (the step-1 Dockerfile is in $LAB_WORKDIR)",
        "  2. publish $CHALLENGE:multi: an index of exactly those two images, assembled from them, not rebuilt",
        "  3. labkit check challenge   (says what is still missing)",
    ]


def _variant(registry: Registry, tag: str, platform: str, ref: str) -> tuple[Step, pushed.Pushed | None]:
    found = pushed.read(registry, REPOSITORY, tag)
    what = f"{ref}:{tag} is one image, for {platform} only"
    if found is None:
        return Step(False, what, f"build it for {platform} alone and push it (notebook 03's command, with one platform)"), None
    platforms = found.platforms()
    if len(platforms) != 1 or not same_platform(platforms[0], platform):
        return Step(False, what, f"it holds {', '.join(platforms) or 'no image'}: build it with --platform {platform} "
                                 "only and push it again"), None
    return Step(True, what, ""), found


def check_challenge(address: RegistryAddress) -> list[Step]:
    """Each thing the challenge asks for, done or not, in the order to do them."""
    registry = Registry(address)
    ref = f"{address}/{REPOSITORY}"
    steps: list[Step] = []
    variants: dict[str, pushed.Pushed] = {}
    for tag, platform in VARIANTS:
        step, found = _variant(registry, tag, platform, ref)
        steps.append(step)
        if found is not None:
            variants[platform] = found
    final = pushed.read(registry, REPOSITORY, TARGET)
    wanted = [platform for _, platform in VARIANTS]
    sources = " and ".join(f"$CHALLENGE:{tag}" for tag, _ in VARIANTS)
    is_index = final is not None and final.is_index
    after = f"first publish {ref}:{TARGET} as an index (the line above)"
    steps.append(Step(is_index, f"{ref}:{TARGET} is an index (OCI index or manifest list)",
                      f"assemble it from {sources}: notebook 06 (or 04, 'Not only BuildKit') names the tools"
                      if final is None else f"it is one image ({final.media_type}): assemble an index from {sources}"))
    platforms = sorted(final.platforms()) if final is not None and is_index else []
    same = len(platforms) == len(wanted) and all(map(same_platform, platforms, sorted(wanted)))
    steps.append(Step(same, f"its images are exactly {' and '.join(wanted)}",
                      after if not is_index else f"it lists {', '.join(platforms) or 'no image'}: assemble it from {sources}"))
    assembled = same and final is not None and len(variants) == len(VARIANTS) and all(
        image.digest in {v.digest for v in variant.images}
        for platform, variant in variants.items()
        for image in final.images if same_platform(image.platform, platform))
    steps.append(Step(assembled, "each of its images is the very manifest under its variant's tag (same digest)",
                      after if not is_index else "push both variants first (the lines above)" if len(variants) < len(VARIANTS)
                      else "other digests: it was built apart from the variants, or a variant was pushed again since; "
                      f"assemble it again from {sources}"))
    honest = is_index and final is not None and bool(final.images) and all(
        same_platform(image.config_platform, image.platform) for image in final.images)
    steps.append(Step(honest, "each image's config is for the platform the index gives it",
                      after if not is_index else "an entry's platform was set by hand to another architecture: assemble "
                      "the index from the variants without overriding platforms"))
    return steps
