"""The doctor: what this machine's Docker is, and what each step of the experiment will do on it.

The engine gathers the facts (`Engine.facts`: `docker info`, `docker buildx ls`,
binfmt_misc, ports, Docker Hub); predictions are a pure function of them, so
they are tested over captured outputs of real engines.
"""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from labkit.experiment import BUILDER_NAME, BUILDKIT_IMAGE, PLATFORMS, STEP2_ERROR
from labkit.results import Facts, Prediction

BUILD_TWO = "docker build, two platforms"
PUSH_TWO = "build both platforms and push"


def predict(facts: Facts) -> list[Prediction]:
    """One prediction per step of the experiment."""
    rows = [Prediction("1", "write the Dockerfile", "succeeds", "it only writes a file")]
    engine, current = facts.build_engine, facts.current_builder
    if not engine.answers:
        step2 = Prediction("2", BUILD_TWO, "unknown", f"no engine answers ({engine.error or 'start it'})")
    elif current is not None and current.driver not in ("docker", ""):
        step2 = Prediction("2", BUILD_TWO, "succeeds",
                           f"the current builder, {current.name}, uses the {current.driver} driver, which can build several platforms")
    elif engine.image_store == "containerd":
        step2 = Prediction("2", BUILD_TWO, "succeeds",
                           "the engine uses the containerd image store, which can hold a multi-platform index "
                           "(the default on fresh Docker Engine 29 installs and clean Docker Desktop 4.34+ installs; "
                           "an upgraded engine keeps the classic store)")
    else:
        step2 = Prediction("2", BUILD_TWO, "fails",
                           "the default builder uses the docker driver on the classic image store: "
                           f"\"{STEP2_ERROR}\"")
    rows.append(step2)
    multi = facts.multiarch_engine
    if not multi.answers:
        step3 = Prediction("3", PUSH_TWO, "unknown", f"no engine answers ({multi.error or 'start it'})")
    elif facts.creates_builder and (facts.buildkit_image_present or facts.docker_hub_reachable):
        source = "is already loaded" if facts.buildkit_image_present else "can be pulled from Docker Hub"
        step3 = Prediction("3", PUSH_TWO, "succeeds",
                           f"`docker buildx create --name {BUILDER_NAME} --use` works: {BUILDKIT_IMAGE.split(':')[0]} {source}")
    elif multi.image_store == "containerd":
        lead = "moby/buildkit cannot be had, so step 3 falls back to" if facts.creates_builder else "it uses"
        step3 = Prediction("3", PUSH_TWO, "succeeds",
                           f"{lead} the engine's default builder, which the containerd image store lets build several platforms")
    else:
        step3 = Prediction("3", PUSH_TWO, "fails",
                           "moby/buildkit cannot be had (no image loaded, Docker Hub unreachable) and the classic image "
                           "store cannot hold an index: `labkit up --buildkit-tar FILE`, or use the sandbox")
    rows.append(step3)
    rows.append(Prediction("4", "inspect the index", step3.outcome,
                           "it reads what step 3 pushed" if step3.outcome == "succeeds" else "it needs what step 3 pushes"))
    native = "linux/amd64" if (multi.architecture or "x86_64") in ("x86_64", "amd64") else "linux/arm64"
    other = next(p for p in PLATFORMS if p != native)
    emulated = facts.qemu or multi.os_type != "linux"
    rows.append(Prediction("run", f"run the {other} variant", "succeeds" if emulated else "fails",
                           "QEMU emulation is registered" if emulated else "no QEMU emulator is registered in binfmt_misc"))
    return rows


def as_json(facts: Facts, predictions: list[Prediction]) -> dict[str, Any]:
    """Facts and predictions as plain JSON values."""
    return {"facts": asdict(facts), "predictions": [{**asdict(p), "label": p.label} for p in predictions]}
