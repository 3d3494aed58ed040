"""The notebooks' one face: open the lab, run a step, show a result, verify what the text claims.

Every notebook imports this module and nothing else of labkit (`import labkit.lab as nb`). It wraps the engine
(chosen once from the settings), the steps and the views, so that cells stay a few lines long.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from IPython import get_ipython
from IPython.display import display

from labkit import engines
from labkit.diagnostics import checks, doctor
from labkit.docker.builders import list_builders
from labkit.docker.endpoints import Endpoints
from labkit.docker.facts import engine_facts, image_store
from labkit.engines import Engine
from labkit.errors import LabError
from labkit.experiment import LOCAL_TAG, PLATFORMS, REPOSITORY, STEP2_ERROR, TAG
from labkit.oci import media, platforms
from labkit.oci.index import IndexReport
from labkit.oci.registry import Registry
from labkit.practice import bank, tries
from labkit.results import (
    BuildAttempt,
    BuilderChoice,
    BuilderReady,
    BuilderTrap,
    CommandResult,
    DockerfileResult,
    ExecFormatDemo,
    ImageStore,
    IndexMade,
    LoadAttempt,
    PodmanFacts,
    Prediction,
    PushResult,
    ReproBuild,
    StepId,
    TimedBuild,
    VariantRun,
    Versions,
)
from labkit.settings import Settings
from labkit.steps import (
    assemble_index,
    cross_build,
    default_build,
    dockerfile,
    every_variant,
    exec_format,
    inspect_index,
    load_build,
    multiarch_build,
    podman_build,
    reproducible,
)
from labkit.system import binfmt
from labkit.versions import oci_by_default, vendored_buildkit
from labkit.views import diagram, frames, index_comparison, text, variants

__all__ = ["DOCKER_LIST", "OCI_INDEX", "PLATFORMS", "STEP2_ERROR", "Lab", "builder_path", "builders_table", "chosen_builder",
           "digest_proof", "index_diagram", "index_summary", "index_table", "open_lab", "show", "show_mermaid", "trap_text",
           "verify", "versions_text"]

OCI_INDEX = media.INDEX
DOCKER_LIST = media.DOCKER_LIST

# Views, as the notebooks call them.
index_summary = text.index_summary
digest_proof = text.digest_proof
index_table = frames.index_table
builders_table = frames.builders_table
index_diagram = diagram.index_diagram
versions_text = text.versions_text
chosen_builder = text.chosen_builder
trap_text = text.trap_text


def builder_path(choice: BuilderChoice) -> str:
    """Which builder step 3 used, as a sentence says it."""
    return text.builder_path_text(choice.path)


@dataclass(frozen=True)
class Lab:
    """The lab's engine (the sandbox, or your Docker in host mode) and the experiment's steps on it."""

    settings: Settings
    engine: Engine
    endpoints: Endpoints

    @property
    def workdir(self) -> Path:
        """The working folder that holds the Dockerfile (outside the repository)."""
        return self.settings.work_dir

    @property
    def classic(self) -> str:
        """The context step 2 runs on: the default builder, docker driver."""
        return self.endpoints.classic_context

    @property
    def multiarch(self) -> str:
        """The context step 3 builds on."""
        return self.endpoints.multiarch_context

    # --- the lab itself -------------------------------------------------------------------------------------------
    def environment_check(self) -> bool:
        """Print one [OK]/[FAIL] line per check; True when all pass."""
        results = checks.environment(self.engine.readiness())
        for check in results:
            print(text.check_line(check.ok, check.what, check.next_step))
        return all(check.ok for check in results)

    def is_up(self) -> bool:
        """True when every service of the lab answers."""
        return self.engine.is_up()

    def status_table(self) -> frames.Table:
        """One row per service and its state."""
        return frames.status_table(self.engine.status())

    def predictions(self) -> list[Prediction]:
        """The doctor's prediction for each step on this lab's engine."""
        return doctor.predict(self.engine.facts(self.endpoints))

    def say_prediction(self, step: StepId) -> Prediction:
        """Print the doctor's prediction for one step before the step runs."""
        found = next(p for p in self.predictions() if p.step == step)
        print(f"The doctor's prediction for step {found.label!r}: it {found.outcome} here, because {found.why}.")
        return found

    # --- step 1 ---------------------------------------------------------------------------------------------------
    def write_dockerfile(self) -> DockerfileResult:
        """Step 1: write the experiment's Dockerfile into the working folder."""
        return dockerfile.write(self.workdir)

    def base_image(self) -> IndexReport:
        """The index `FROM busybox` resolves to."""
        return inspect_index.base_image(self.endpoints)

    def ensure_dockerfile(self) -> None:
        """Step 1, when a later notebook runs first."""
        if (self.workdir / "Dockerfile").is_file():
            print("The Dockerfile from step 1 is in place.")
            return
        self.write_dockerfile()
        print("The Dockerfile was missing: wrote it (step 1, notebook 01).")

    # --- step 2 ---------------------------------------------------------------------------------------------------
    def default_build(self, platforms: tuple[str, ...] = PLATFORMS, tag: str = LOCAL_TAG, legacy: bool = False,
                      options: tuple[str, ...] = ()) -> BuildAttempt:
        """Step 2: `docker build --platform … -t TAG .` on the default builder (`DOCKER_BUILDKIT=0` when legacy)."""
        return default_build.build(self.endpoints, self.workdir, platforms=platforms, tag=tag, legacy=legacy, options=options)

    def versions(self) -> Versions:
        """The CLI, engine, buildx and BuildKit versions of step 2's engine, as each reports itself."""
        facts = engine_facts(self.endpoints, self.classic)
        # The engine's own builder (named after its context, docker driver), whichever builder is current.
        own = next((b for b in list_builders(self.endpoints, self.classic) if b.name == self.classic), None)
        return Versions(facts.cli_version, facts.engine_version, facts.buildx_version,
                        own.buildkit if own else "", vendored_buildkit(facts.engine_version))

    def oci_by_default(self) -> bool | None:
        """Does this engine's BuildKit export OCI media types when there is no attestation? None when unknown."""
        return oci_by_default(self.versions().buildkit_vendored)

    def builder_trap(self) -> BuilderTrap:
        """`docker buildx create --use` a docker-container builder, then see which builder `docker build` uses."""
        return default_build.builder_trap(self.endpoints, self.workdir)

    def emulation(self, platform: str = "linux/arm64") -> str:
        """Whether the current builder lists a platform, and the binfmt_misc emulator (with its flags) behind it."""
        current = next((b for b in list_builders(self.endpoints, self.classic) if b.current), None)
        listed = current is not None and platform in current.platforms
        emulator = binfmt.emulator_for(platform)
        entry = binfmt.entry(emulator)
        return (f"{platform} listed by the {self.classic} builder: {'yes' if listed else 'no'}\n"
                f"{emulator} in binfmt_misc: {'yes' if entry is not None and entry.enabled else 'no'}, "
                f"F (fix binary) flag: {'yes' if entry is not None and entry.fix_binary else 'no'}")

    def failure_on_classic_store(self, attempt: BuildAttempt) -> None:
        """When step 2 succeeded on this engine, run it where the classic image store still refuses it: the sandbox."""
        if not attempt.result.succeeded:
            print("This engine refused the build: the failure above is the one the experiment describes.")
            return
        print("The build succeeded here: this engine's builder can build several platforms (see the prediction above).")
        sandbox = engines.classic_store_sandbox()
        if sandbox is None:
            print("To see the failure, run the lab's sandbox (Linux, as root) or an engine that uses the classic image store.")
            return
        print("The same build on the sandbox's classic daemon (classic image store):")
        endpoints = sandbox.up()
        dockerfile.write(sandbox.settings.work_dir)
        classic = default_build.build(endpoints, sandbox.settings.work_dir)
        show(classic.result, "\n".join(classic.error))

    def current_builders(self) -> frames.Table:
        """`docker buildx ls` on step 2's context, the builder `docker build` uses."""
        print(f"[{self.classic}] $ docker buildx ls")
        return frames.builders_table([b for b in list_builders(self.endpoints, self.classic) if b.current])

    def image_store(self, context: str) -> ImageStore:
        """The image store of the engine behind a context (`docker info`)."""
        return image_store(self.endpoints, context)

    # --- step 3 ---------------------------------------------------------------------------------------------------
    def try_container_builder(self) -> BuilderReady:
        """The article's fix: a docker-container builder, bootstrapped, then removed."""
        return multiarch_build.try_container_builder(self.endpoints)

    def prepare_builder(self) -> BuilderChoice:
        """The builder step 3 uses, and why."""
        return multiarch_build.prepare_builder(self.endpoints)

    def image_ref(self, tag: str = TAG) -> str:
        """The image in the lab's registry, e.g. 127.0.0.1:5000/demo:multi."""
        return multiarch_build.image_ref(self.endpoints, REPOSITORY, tag)

    def build_and_push(self, tag: str = TAG, options: tuple[str, ...] = ("--push",),
                       env: dict[str, str] | None = None) -> PushResult:
        """Step 3: `docker buildx build --platform … -t REGISTRY/demo:TAG --push .`."""
        return multiarch_build.build_and_push(self.endpoints, self.workdir, tag=tag, options=options, env=env)

    def run(self, ref: str, platform: str, command: tuple[str, ...] = ()) -> CommandResult:
        """`docker run --rm --network none --platform PLATFORM IMAGE [COMMAND]` on step 3's engine."""
        return multiarch_build.run_image(self.endpoints, ref, platform, command)

    def ensure_pushed(self) -> None:
        """Steps 1 and 3, when notebook 04 runs first: build and push demo:multi if the registry lacks it."""
        self.ensure_dockerfile()
        if Registry(self.endpoints.registry).get_manifest(REPOSITORY, TAG) is not None:
            print(f"{self.image_ref()} is in the registry (pushed by step 3).")
            return
        pushed = self.build_and_push()
        print(f"{pushed.image_ref} was not in the registry: built and pushed it (step 3, notebook 03).")

    # --- step 4 ---------------------------------------------------------------------------------------------------
    def imagetools_inspect(self, ref: str) -> CommandResult:
        """`docker buildx imagetools inspect IMAGE`, as the CLI prints it."""
        return inspect_index.imagetools_inspect(self.endpoints, ref)

    def read_index(self, tag: str = TAG) -> IndexReport:
        """The index under demo:TAG in the lab's registry, with every manifest it lists."""
        return inspect_index.read_index(self.endpoints, REPOSITORY, tag)

    def attestations(self, tag: str = TAG) -> list[str]:
        """The attestation entries of demo:TAG (their platform, `unknown/unknown`), in index order."""
        return self.read_index(tag).platforms("attestation")

    def provenance_modes(self, tag: str = TAG) -> list[str]:
        """The provenance mode (min or max) each attestation of demo:TAG shows."""
        return inspect_index.provenance_modes(self.endpoints, REPOSITORY, self.read_index(tag))


def _show_lab_error(shell: Any, etype: type, value: BaseException, tb: Any, tb_offset: int | None = None) -> list[str]:
    """Show a LabError as its message and next step, not as a traceback, and still fail the cell.

    IPython shows nothing itself for an exception handed to a custom handler. `_showtraceback` is what makes
    ipykernel publish an `error` output (which nbval, nbclient and `make run` fail on, marker or not), here with
    the friendly lines as its whole traceback, so JupyterLab shows them and no Python frames.
    """
    lines = text.cell_error_lines(LabError.__name__, str(value))
    shell._showtraceback(etype, value, lines)
    return lines


def _background_start(environ: Mapping[str, str]) -> str:
    """What `make lab`'s background `labkit up` (LABKIT_UP_STATUS, LABKIT_UP_LOG) is doing, as a line, or ''."""
    status_file, log = environ.get("LABKIT_UP_STATUS"), environ.get("LABKIT_UP_LOG", "")
    try:
        status = Path(status_file).read_text().split() if status_file else []
    except OSError:
        return ""
    if status[:1] == ["running"]:
        return f"`make lab` is starting it in the background (log: {log}): waiting for that to finish.\n"
    if status[:1] == ["failed"]:
        return f"`make lab` could not start it in the background (see {log}); trying again here.\n"
    return ""


def open_lab() -> Lab:
    """The lab's engine, started first when it is not up (and says so)."""
    shell = get_ipython()
    if shell is not None:
        shell.set_custom_exc((LabError,), _show_lab_error)
    settings = Settings.from_env()
    engine = engines.choose(settings)
    if engine.is_up():
        print(f"The lab runs on {engine.title}; it was already up.")
        return Lab(settings, engine, engine.endpoints())
    first = f" ({engine.first_start})" if engine.first_start else ""
    print(f"The lab runs on {engine.title}; starting it{first} ...")
    print(_background_start(os.environ), end="")
    endpoints = engine.up()
    print("It is up.")
    return Lab(settings, engine, endpoints)


def verify(condition: bool, what: str) -> None:
    """The check cell's assertion: raise when the step's outcome is not what the text claims, else say what was verified."""
    if not condition:
        raise AssertionError(f"Not verified: {what}. Rerun the notebook from the top; if it still fails, run `labkit status`.")
    print(f"[OK] Verified: {what}")


def show(result: CommandResult, output: str | None = None) -> None:
    """Print a command as typed against its context, its exit code, and its (or the given) output."""
    printed = result.stdout + result.stderr if output is None else output
    print(text.command_text(result.context, result.command, printed, result.return_code))


def show_mermaid(source: str) -> None:
    """Render a Mermaid diagram in JupyterLab (plain text elsewhere); nbval compares the source."""
    display({"text/markdown": f"```mermaid\n{source}\n```", "text/plain": source}, raw=True)


# --- practice: the lab's questions to the learner (notebook 07, and the exercises that end notebooks 01-06) --------
def _practice_workspace() -> tries.Workspace:
    """The engine and build folder a command or Dockerfile answer runs on: the lab's, started by the first cell."""
    settings = Settings.from_env()
    engine = engines.choose(settings)
    if not engine.is_up():
        raise LabError("This answer runs on the lab's engine, which is not up.",
                       "Run the notebook's first cell (or `labkit up`), then this cell again.")
    dockerfile.write(settings.work_dir)
    return tries.Workspace(engine.endpoints(), settings.work_dir)


_PRACTICE = tries.Session(_practice_workspace)


def answer(question_id: str, given: object) -> None:
    """Check an answer and print the feedback: right or wrong, why, where the proof is, a hint when wrong."""
    try:
        feedback = _PRACTICE.answer(question_id, given)
    except Exception as error:  # an answer cell shows two lines, never a traceback
        print(f"[?] {question_id}: the lab could not check this answer ({type(error).__name__}: {error}).")
        print("  try: run the cell again; if it happens again, run `labkit status`.")
        return
    print("\n".join(feedback.lines))


def score(notebook: str) -> None:
    """How many of a notebook's questions were answered right in this kernel."""
    asked = bank.asked_in(notebook)
    right = [question.id for question in asked if question.id in _PRACTICE.right]
    print(f"answered right: {len(right)} of {len(asked)}" + (f" ({', '.join(right)})" if right else ""))


def practice_ready(notebook: str) -> bool:
    """True when every question the notebook asks is in the lab's bank, with a proof and a hint."""
    asked = bank.asked_in(notebook)
    return bool(asked) and all(question.proof and question.hint for question in asked)


__all__ += ["answer", "practice_ready", "score"]


# --- notebook 05: every variant, `exec format error`, `--load`, emulated and cross builds, reproducible digests ------

__all__ += ["EVERY_TAG", "REPRO_EPOCH", "base_platforms", "build_every", "build_times", "compare_table",
            "entries_table", "every_variant_ran", "exec_format_error", "file_times", "image_exporter_rewrite", "load_two_platforms",
            "provenance_differences", "repro_push", "repro_twice", "run_default", "run_every",
            "same_index_line", "timed_build", "variants_table"]

variants_table = variants.variants_table
entries_table = variants.entries_table
build_times = variants.build_times
compare_table = variants.compare_table
same_index_line = variants.same_index_line
file_times = variants.file_times
REPRO_EPOCH = int(reproducible.EPOCH)
EVERY_TAG = every_variant.EVERY_TAG


def every_variant_ran(runs: Sequence[VariantRun]) -> bool:
    """True when every variant ran; a LabError naming each emulator the machine lacks, and what adds it, when the
    kernel refused a variant for want of one."""
    missing = variants.missing_emulators(runs)
    if missing:
        fix = next(run.fix for run in runs if run.missing)
        raise LabError(f"Not every variant ran: {missing}.", f"Add them with {fix}, then run this notebook again.")
    return all(run.result.succeeded for run in runs)


def base_platforms(lab: Lab) -> list[str]:
    """The platforms of the index `FROM busybox` resolves to, in its order."""
    return lab.base_image().platforms()


def build_every(lab: Lab, platforms: Sequence[str]) -> PushResult:
    """The experiment's Dockerfile built and pushed for every platform given (demo:every)."""
    return every_variant.build_every(lab.endpoints, lab.workdir, tuple(platforms))


def run_every(lab: Lab, ref: str) -> list[VariantRun]:
    """Each variant of demo:every run with `uname -m`, and the binfmt_misc entry that ran it."""
    return every_variant.run_every(lab.endpoints, ref, fix=lab.engine.emulator_fix())


def run_default(lab: Lab, ref: str) -> tuple[CommandResult, CommandResult]:
    """`docker run IMAGE uname -m` without `--platform`, and the platform of the image it picked."""
    return every_variant.run_default(lab.endpoints, ref)


def exec_format_error(lab: Lab, platform: str = "linux/arm64") -> ExecFormatDemo:
    """A variant's /bin/busybox run where no emulator is registered, then with the machine's entry registered there."""
    return exec_format.exec_format_error(lab.endpoints, lab.settings.work_dir / "exec-format", platform)


def load_two_platforms(lab: Lab, context: str) -> LoadAttempt:
    """`docker buildx build --platform linux/amd64,linux/arm64 -t demo:loaded --load .` on one of the lab's contexts."""
    return load_build.load(lab.endpoints, lab.workdir, context)


def timed_build(lab: Lab, kind: str) -> TimedBuild:
    """The `RUN` step for two platforms, `emulated` (in each target's stage) or `cross` (in the build platform's)."""
    return cross_build.build(lab.endpoints, lab.settings.work_dir / kind, kind)


def image_exporter_rewrite(lab: Lab) -> tuple[CommandResult, list[str]]:
    """`rewrite-timestamp=true` on the image exporter of the engine's own builder, and its error lines."""
    return reproducible.image_exporter(lab.endpoints, lab.settings.work_dir / "repro")


def repro_twice(lab: Lab, names: tuple[str, str], rewrite_timestamp: bool = True,
                provenance: bool = False) -> tuple[ReproBuild, ReproBuild]:
    """Twice, from a clean builder cache: `SOURCE_DATE_EPOCH=0 docker buildx build … --output type=oci,dest=NAME.tar`."""
    return reproducible.build_twice(lab.endpoints, lab.settings.work_dir / "repro", names,
                                    rewrite_timestamp=rewrite_timestamp, provenance=provenance)


def repro_push(lab: Lab, name: str) -> str:
    """Push the layout NAME.tar to the lab's registry as demo:repro; the digest the registry serves it under."""
    return reproducible.push(lab.endpoints, lab.settings.work_dir / "repro", name)


def provenance_differences(first: ReproBuild, second: ReproBuild) -> list[str]:
    """The fields of two builds' provenance attestations that differ (dotted paths)."""
    return reproducible.differing_fields(first, second)
# --- notebook 06: indexes made without BuildKit's multi-platform build -----------------------------------------------
# podman (buildah, no BuildKit) builds the Dockerfile into a manifest list; `docker buildx imagetools create` and
# `docker manifest create` join two single-platform pushes; one table sets them beside step 3's BuildKit index.

__all__ += ["COMPARED", "imagetools_create", "index_table_by_platform", "indexes_compared", "made_text",
            "manifest_create", "normal_platforms", "podman_build_and_push", "podman_info", "podman_text",
            "prepare_podman_and_index", "push_single_platforms"]

made_text = index_comparison.made_text
normal_platforms = platforms.normalize_list
index_table_by_platform = index_comparison.index_table_by_platform
podman_text = index_comparison.podman_text
COMPARED = (("BuildKit (buildx build)", TAG), ("podman build --manifest", podman_build.TAG),
            ("buildx imagetools create", "imagetools"), ("docker manifest create", "manifest"))


def prepare_podman_and_index(lab: Lab) -> PodmanFacts:
    """Steps 1 and 3 when notebook 06 runs first (step 3's index is the one to compare with), then podman_info."""
    lab.ensure_pushed()
    return podman_info(lab)


def podman_info(lab: Lab) -> PodmanFacts:
    """The lab's podman (fetched from Debian's archive on first use, saying so), as `podman info` describes it."""
    podman = engines.podman(lab.settings, lab.endpoints)
    return podman_build.facts(podman, (lab.settings.state_dir,))


def podman_build_and_push(lab: Lab) -> IndexMade:
    """`podman build --platform … --manifest localhost/demo:podman .`, then `podman manifest push --all --rm …`."""
    return podman_build.build_and_push(engines.podman(lab.settings, lab.endpoints), lab.workdir)


def push_single_platforms(lab: Lab) -> list[PushResult]:
    """One single-platform push per platform (`--provenance=false`: one manifest each, no index)."""
    return assemble_index.push_single_platforms(lab.endpoints, lab.workdir)


def imagetools_create(lab: Lab) -> IndexMade:
    """`docker buildx imagetools create -t …:imagetools` from the single-platform pushes."""
    return assemble_index.imagetools_create(lab.endpoints)


def manifest_create(lab: Lab) -> IndexMade:
    """`docker manifest create --insecure …:manifest …`, then `docker manifest push --insecure --purge …`."""
    return assemble_index.manifest_create(lab.endpoints)


def indexes_compared(lab: Lab) -> frames.Table:
    """The four indexes side by side: step 3's (BuildKit) and the three made without it."""
    reports = [(made_by, lab.read_index(tag)) for made_by, tag in COMPARED]
    return index_comparison.comparison_table(reports, reports[0][1])
