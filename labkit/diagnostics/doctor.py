"""The doctor: what this machine's Docker is, and what each step of the experiment will do on it.

The engine gathers the facts (`Engine.facts`: `docker info`, `docker buildx ls`,
binfmt_misc, ports, Docker Hub); predictions are a pure function of them, so
they are tested over captured outputs of real engines.
"""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from labkit.experiment import BUILDER_NAME, BUILDKIT_IMAGE, PLATFORMS, STEP2_ERROR
from labkit.results import Facts, NotebookPrediction, Outcome, PlatformPrediction, Prediction

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


def predict_notebooks(facts: Facts, steps: list[Prediction]) -> list[NotebookPrediction]:
    """Whether each notebook runs to its check here: what it needs beyond its step (busybox, a builder, QEMU).

    A notebook whose step fails can still run to its check (notebook 02 shows the failure, or explains a success);
    what stops a notebook is something it needs that is not there.
    """
    step = {p.step: p for p in steps}
    engine = facts.build_engine
    source = "the engine's local mirror" if facts.has_mirror else "Docker Hub"
    busybox: tuple[Outcome, str] = (("succeeds", f"busybox is read from {source}") if facts.has_mirror or facts.docker_hub_reachable
                                    else ("fails", "busybox must come from Docker Hub, which does not answer: use the sandbox, "
                                          "which serves busybox itself, or connect this machine"))
    if not engine.answers:
        none: tuple[Outcome, str] = ("unknown", f"no engine answers ({engine.error or 'start it'})")
        busybox = none
    rows = [NotebookPrediction("00_start_here", "an engine that answers", "succeeds" if engine.answers else "fails",
                               "the environment check reads the engine" if engine.answers else "no engine answers")]
    rows.append(NotebookPrediction("01_the_dockerfile", "busybox's index", *busybox))
    rows.append(NotebookPrediction("02_the_build_that_fails", "busybox; step 2's default builder", *busybox))
    needs_three = [p for p in (step["3"], step["run"]) if p.outcome != "succeeds"]
    three: tuple[Outcome, str] = (busybox if busybox[0] != "succeeds" else
                                  (needs_three[0].outcome, needs_three[0].why) if needs_three else
                                  ("succeeds", "a builder that can build several platforms, and QEMU for the other one"))
    rows.append(NotebookPrediction("03_the_build_that_works", "busybox; a multi-platform builder; QEMU", *three))
    rows.append(NotebookPrediction("04_inspect_the_index", "what step 3 pushes", *(three if three[0] != "succeeds" else
                                   ("succeeds", "it builds and pushes what it needs when step 3 has not"))))
    platforms = predict_platforms(facts)
    failing = [p for p in platforms if p.outcome == "fails"]
    every: tuple[Outcome, str] = (("fails", "not every variant runs here: " + "; ".join(f"{p.platform} ({p.why})"
                                   for p in failing)) if failing else
                                  ("succeeds", "a builder that can build several platforms"
                                   + (f"; QEMU for the {len(platforms)} platforms this machine does not run itself"
                                      if platforms else "")))
    rows.append(NotebookPrediction("05_every_variant", "busybox; a multi-platform builder; QEMU for every other "
                                   "platform; Linux 6.7+ for a binfmt_misc of its own",
                                   *(three if three[0] != "succeeds" else every)))
    rows.append(NotebookPrediction("08_after_the_experiment", "busybox; a multi-platform builder; QEMU",
                                   *(three if three[0] != "succeeds" else
                                     ("succeeds", "both engines, the multiarch builder, and QEMU for arm and arm64"))))
    return rows


def predict_platforms(facts: Facts) -> list[PlatformPrediction]:
    """For each platform of the base image that needs QEMU here: whether notebook 05's `docker run` of its variant
    runs, by the state of its binfmt_misc entry (the engine's kernel is this machine's)."""
    rows = []
    for emulation in facts.emulation:
        if emulation.ready:
            rows.append(PlatformPrediction(emulation.platform, emulation.emulator, "succeeds",
                                           "registered, with the F flag"))
            continue
        state = {"missing": "is not registered", "disabled": "is disabled",
                 "no F flag": "has no F flag, so containers cannot open its interpreter"}[emulation.state]
        rows.append(PlatformPrediction(emulation.platform, emulation.emulator, "fails",
                                       f"{emulation.emulator} {state}: `exec format error`; add it: "
                                       f"{facts.emulator_fix}"))
    return rows


def as_json(facts: Facts, predictions: list[Prediction], notebooks: list[NotebookPrediction] | None = None) -> dict[str, Any]:
    """Facts and predictions as plain JSON values."""
    return {"facts": asdict(facts), "predictions": [{**asdict(p), "label": p.label} for p in predictions],
            "notebooks": [asdict(n) for n in notebooks or predict_notebooks(facts, predictions)],
            "platforms": [asdict(p) for p in predict_platforms(facts)]}
