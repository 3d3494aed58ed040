"""The notebooks' one face: open the lab, run a step, show a result, verify what the text claims.

Every notebook imports this module and nothing else of labkit (`import labkit.lab as nb`). It wraps the engine
(chosen once from the settings), the steps and the views, so that cells stay a few lines long.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

from IPython import get_ipython
from IPython.display import display

from labkit import engines
from labkit.diagnostics import checks, doctor
from labkit.docker.endpoints import Endpoints
from labkit.docker.facts import image_store
from labkit.engines import Engine
from labkit.errors import LabError
from labkit.experiment import LOCAL_TAG, PLATFORMS, REPOSITORY, STEP2_ERROR, TAG
from labkit.oci import media, platforms
from labkit.oci.index import IndexReport
from labkit.practice import bank, tries
from labkit.results import (
    BakeRun,
    BuildAttempt,
    BuilderChoice,
    BuilderReady,
    BuilderTrap,
    CiPattern,
    CommandResult,
    DockerfileResult,
    ExecFormatDemo,
    ImageStore,
    IndexMade,
    KnobPush,
    LoadAttempt,
    PlatformPlace,
    PlatformPull,
    PodmanFacts,
    Prediction,
    PushResult,
    ReproBuild,
    StepId,
    TimedBuild,
    VariantPick,
    VariantRun,
    Versions,
)
from labkit.settings import Settings
from labkit.steps import (
    assemble_index,
    bake,
    ci_pattern,
    cross_build,
    default_build,
    dockerfile,
    every_variant,
    exec_format,
    inspect_index,
    load_build,
    multiarch_build,
    platform_flags,
    podman_build,
    registry_knobs,
    reproducible,
)
from labkit.versions import oci_by_default
from labkit.views import after, diagram, frames, index_comparison, notebook, text, variants

__all__ = ["COMPARED", "DOCKER_LIST", "EVERY_TAG", "OCI_INDEX", "PLATFORMS", "REPRO_EPOCH", "STEP2_ERROR", "Lab",
           "bake_text", "build_times", "builder_path", "builders_table", "chosen_builder", "ci_compared", "ci_text",
           "compare_table", "digest_proof", "knobs_table", "picks_table", "places_table",
           "entries_table", "every_variant_ran", "file_times", "index_diagram", "index_summary", "index_table",
           "index_table_by_platform", "made_text", "normal_platforms", "open_lab", "podman_text", "practice_ready",
           "provenance_differences", "pull_text", "said", "same_index_line", "show", "show_mermaid", "trap_text",
           "variants_table", "verify", "versions_text"]

T = TypeVar("T")

# Names the notebooks use, as the lab defines them.
OCI_INDEX = media.INDEX
DOCKER_LIST = media.DOCKER_LIST
REPRO_EPOCH = int(reproducible.EPOCH)
EVERY_TAG = every_variant.EVERY_TAG
COMPARED = assemble_index.COMPARED

# Views, as the notebooks call them: each only formats what a step returned.
index_summary = text.index_summary
digest_proof = text.digest_proof
versions_text = text.versions_text
chosen_builder = text.chosen_builder
trap_text = text.trap_text
index_table = frames.index_table
builders_table = frames.builders_table
index_diagram = diagram.index_diagram
variants_table = variants.variants_table
entries_table = variants.entries_table
build_times = variants.build_times
compare_table = variants.compare_table
pull_text = variants.pull_text
same_index_line = variants.same_index_line
file_times = variants.file_times
made_text = index_comparison.made_text
index_table_by_platform = index_comparison.index_table_by_platform
podman_text = index_comparison.podman_text
normal_platforms = platforms.normalize_list
places_table = after.places_table
picks_table = after.picks_table
ci_text = after.ci_text
ci_compared = after.ci_compared
knobs_table = after.knobs_table
bake_text = after.bake_text


@dataclass(frozen=True)
class Lab:
    """The lab's engine (the sandbox, or your Docker in host mode) and the experiment's steps on it."""

    settings: Settings
    engine: Engine
    endpoints: Endpoints
    practice: tries.Session = field(init=False, repr=False, compare=False)  # this kernel's tries, on this engine

    def __post_init__(self) -> None:
        object.__setattr__(self, "practice", tries.Session(self._workspace))

    def _workspace(self) -> tries.Workspace:
        """What a command or Dockerfile answer runs on: this lab's engine, and step 1's Dockerfile in its folder."""
        dockerfile.write(self.workdir)
        return tries.Workspace(self.endpoints, self.workdir)

    @property
    def workdir(self) -> Path:
        """The working folder that holds the Dockerfile (outside the repository)."""
        return self.settings.work_dir

    @property
    def classic(self) -> str:
        """The context step 2 runs on: the default builder, docker driver.

        Cells: 02-16, 02-27, 03-05, 04-29, 05-17, 05-46, 08-05, 08-24.
        """
        return self.endpoints.classic_context

    @property
    def multiarch(self) -> str:
        """The context step 3 builds on.

        Cells: 03-05, 05-19, 05-48, 08-05, 08-24.
        """
        return self.endpoints.multiarch_context

    # --- the lab itself -------------------------------------------------------------------------------------------
    def environment_check(self) -> bool:
        """Print one [OK]/[FAIL] line per check; True when all pass.

        Cells: 00-07.
        """
        results = checks.environment(self.engine.readiness())
        return said(text.check_lines(results), all(check.ok for check in results))

    def is_up(self) -> bool:
        """True when every service of the lab answers.

        Cells: 00-14.
        """
        return self.engine.is_up()

    def status_table(self) -> frames.Table:
        """One row per service and its state.

        Cells: 00-09.
        """
        return frames.status_table(self.engine.status())

    def predictions(self) -> list[Prediction]:
        """The doctor's prediction for each step on this lab's engine."""
        return doctor.predict(self.engine.facts(self.endpoints))

    def say_prediction(self, step: StepId) -> Prediction:
        """Print the doctor's prediction for one step before the step runs.

        Cells: 02-04.
        """
        found = next(p for p in self.predictions() if p.step == step)
        return said(text.prediction_line(found), found)

    # --- step 1 ---------------------------------------------------------------------------------------------------
    def write_dockerfile(self) -> DockerfileResult:
        """Step 1: write the experiment's Dockerfile into the working folder.

        Cells: 01-04.
        """
        return dockerfile.write(self.workdir)

    def base_image(self) -> IndexReport:
        """The index `FROM busybox` resolves to.

        Cells: 01-08.
        """
        return inspect_index.base_image(self.endpoints)

    def ensure_dockerfile(self) -> None:
        """Step 1, when a later notebook runs first.

        Cells: 02-02, 03-01, 05-01, 07-02, 08-01.
        """
        print(notebook.dockerfile_line(dockerfile.ensure(self.workdir)))

    # --- step 2 ---------------------------------------------------------------------------------------------------
    def default_build(self, platforms: tuple[str, ...] = PLATFORMS, tag: str = LOCAL_TAG, legacy: bool = False,
                      options: tuple[str, ...] = ()) -> BuildAttempt:
        """Step 2: `docker build --platform … -t TAG .` on the default builder (`DOCKER_BUILDKIT=0` when legacy).

        Cells: 02-06, 02-12, 02-14, 02-27, 04-25.
        """
        return default_build.build_on_default_builder(self.endpoints, self.workdir, platforms=platforms, tag=tag,
                                                      legacy=legacy, options=options)

    def versions(self) -> Versions:
        """The CLI, engine, buildx and BuildKit versions of step 2's engine, as each reports itself.

        Cells: 02-21, 04-30.
        """
        return default_build.versions(self.endpoints)

    def oci_by_default(self) -> bool | None:
        """Does this engine's BuildKit export OCI media types when there is no attestation? None when unknown.

        Cells: 04-30.
        """
        return oci_by_default(self.versions().buildkit_vendored)

    def builder_trap(self) -> BuilderTrap:
        """`docker buildx create --use` a docker-container builder, then see which builder `docker build` uses.

        Cells: 02-29.
        """
        return default_build.builder_trap(self.endpoints, self.workdir)

    def emulation(self, platform: str = "linux/arm64") -> str:
        """Whether the current builder lists a platform, and the binfmt_misc emulator (with its flags) behind it.

        Cells: 02-23.
        """
        return text.emulation_text(default_build.emulation(self.endpoints, platform))

    def failure_on_classic_store(self, attempt: BuildAttempt) -> None:
        """Whether this engine refused step 2 as the experiment describes; where it fails when it did not.

        Cells: 02-08.
        """
        print(notebook.classic_store_text(not attempt.result.succeeded))

    def current_builders(self) -> frames.Table:
        """`docker buildx ls` on step 2's context, the builder `docker build` uses.

        Cells: 02-10.
        """
        return said(text.command_text(self.classic, "docker buildx ls"),
                    frames.builders_table(default_build.current_builders(self.endpoints)))

    def image_store(self, context: str) -> ImageStore:
        """The image store of the engine behind a context (`docker info`).

        Cells: 02-16, 03-05, 04-29.
        """
        return image_store(self.endpoints, context)

    # --- step 3 ---------------------------------------------------------------------------------------------------
    def try_container_builder(self) -> BuilderReady:
        """The article's fix: a docker-container builder, bootstrapped, then removed.

        Cells: 03-03.
        """
        return multiarch_build.try_container_builder(self.endpoints)

    def prepare_builder(self) -> BuilderChoice:
        """The builder step 3 uses, and why.

        Cells: 03-07.
        """
        return multiarch_build.prepare_builder(self.endpoints)

    def image_ref(self, tag: str = TAG) -> str:
        """The image in the lab's registry, e.g. 127.0.0.1:5000/demo:multi.

        Cells: 04-03.
        """
        return multiarch_build.image_ref(self.endpoints, REPOSITORY, tag)

    def build_and_push(self, tag: str = TAG, options: tuple[str, ...] = ("--push",),
                       env: dict[str, str] | None = None) -> PushResult:
        """Step 3: `docker buildx build --platform … -t REGISTRY/demo:TAG --push .`.

        Cells: 03-09, 04-17, 04-19, 04-23, 04-27, 04-33.
        """
        return multiarch_build.build_and_push(self.endpoints, self.workdir, tag=tag, options=options, env=env)

    def run(self, ref: str, platform: str, command: tuple[str, ...] = ()) -> CommandResult:
        """`docker run --rm --network none --platform PLATFORM IMAGE [COMMAND]` on step 3's engine.

        Cells: 03-11, 05-09, 06-09.
        """
        return multiarch_build.run_image(self.endpoints, ref, platform, command)

    def ensure_pushed(self) -> None:
        """Steps 1 and 3, when notebook 04 runs first: build and push demo:multi if the registry lacks it.

        Cells: 04-01.
        """
        self.ensure_dockerfile()
        print(notebook.pushed_line(self.image_ref(), multiarch_build.ensure_pushed(self.endpoints, self.workdir)))

    # --- step 4 ---------------------------------------------------------------------------------------------------
    def imagetools_inspect(self, ref: str) -> CommandResult:
        """`docker buildx imagetools inspect IMAGE`, as the CLI prints it.

        Cells: 04-03.
        """
        return inspect_index.imagetools_inspect(self.endpoints, ref)

    def read_index(self, tag: str = TAG) -> IndexReport:
        """The index under demo:TAG in the lab's registry, with every manifest it lists.

        Cells: 04-05, 04-17, 04-19, 04-27, 04-33, 04-35, 05-05, 06-07.
        """
        return inspect_index.read_index(self.endpoints, REPOSITORY, tag)

    def attestations(self, tag: str = TAG) -> list[str]:
        """The attestation entries of demo:TAG (their platform, `unknown/unknown`), in index order.

        Cells: 04-29.
        """
        return self.read_index(tag).platforms("attestation")

    def provenance_modes(self, tag: str = TAG) -> list[str]:
        """The provenance mode (min or max) each attestation of demo:TAG shows.

        Cells: 04-23, 04-29.
        """
        return inspect_index.provenance_modes(self.endpoints, REPOSITORY, self.read_index(tag))

    # --- practice: the exercises that end notebooks 01-06, and notebook 07 ---------------------------------------
    def answer(self, question_id: str, given: object) -> None:
        """Check an answer and print the feedback: right or wrong, why, where the proof is, a hint when wrong.

        Cells: 01-14, 01-16, 02-34, 02-36, 03-17, 03-19, 04-39, 04-41, 05-41, 05-43, 06-23, 06-25, 07-05,
        07-07, 07-09, 07-12, 07-14, 07-16, 07-18, 07-21, 07-23, 07-25, 07-27, 07-29, 07-32, 07-35, 07-37, 08-27, 08-29, 08-31.
        """
        print(notebook.lines(self.practice.feedback(question_id, given).lines))

    def score(self, notebook_id: str) -> None:
        """How many of a notebook's questions were answered right in this kernel.

        Cells: 07-39.
        """
        print(self.practice.score_line(notebook_id))

    # --- notebook 05: every variant, `exec format error`, `--load`, emulated and cross builds, reproducible digests
    def base_platforms(self) -> list[str]:
        """The platforms of the index `FROM busybox` resolves to, in its order.

        Cells: 05-03.
        """
        return self.base_image().platforms()

    def build_every(self, platforms: Sequence[str]) -> PushResult:
        """The experiment's Dockerfile built and pushed for every platform given (demo:every).

        Cells: 05-05.
        """
        return every_variant.build_every(self.endpoints, self.workdir, tuple(platforms))

    def run_every(self, ref: str) -> list[VariantRun]:
        """Each variant of demo:every run with `uname -m`, and the binfmt_misc entry that ran it.

        Cells: 05-07.
        """
        return every_variant.run_every(self.endpoints, ref, fix=self.engine.emulator_fix())

    def run_default(self, ref: str) -> tuple[CommandResult, CommandResult]:
        """`docker run IMAGE uname -m` without `--platform`, and the platform of the image it picked.

        Cells: 05-11.
        """
        return every_variant.run_default(self.endpoints, ref)

    def pull_then_run(self, context: str, ref: str) -> PlatformPull:
        """`docker pull --platform linux/arm64 IMAGE`, then `docker run IMAGE uname -m` without `--platform`, on one
        of the lab's contexts; the tag put back as it was afterwards.

        Cells: 05-46, 05-48.
        """
        return every_variant.pull_then_run(self.endpoints, context, ref)

    def repoint(self, context: str) -> PlatformPull:
        """The same pull and run on the base image by the lab's own reference, from no such tag on the engine.

        Cells: 08-05.
        """
        return platform_flags.repoint(self.endpoints, context)

    def exec_format_error(self, platform: str = "linux/arm64") -> ExecFormatDemo:
        """A variant's /bin/busybox run where no emulator is registered, then with the machine's entry registered there.

        Cells: 05-13.
        """
        return exec_format.exec_format_error(self.endpoints, self.settings.work_dir / "exec-format", platform)

    def load_two_platforms(self, context: str) -> LoadAttempt:
        """`docker buildx build --platform linux/amd64,linux/arm64 -t demo:loaded --load .` on one of the lab's contexts.

        Cells: 05-17, 05-19.
        """
        return load_build.load(self.endpoints, self.workdir, context)

    def timed_build(self, kind: str) -> TimedBuild:
        """The `RUN` step for two platforms, `emulated` (in each target's stage) or `cross` (in the build platform's).

        Cells: 05-21, 05-23.
        """
        return cross_build.build_timed(self.endpoints, self.settings.work_dir / kind, kind)

    def image_exporter_rewrite(self) -> tuple[CommandResult, list[str]]:
        """`rewrite-timestamp=true` on the image exporter of the engine's own builder, and its error lines.

        Cells: 05-27.
        """
        return reproducible.image_exporter(self.endpoints, self.settings.work_dir / "repro")

    def repro_twice(self, names: tuple[str, str], rewrite_timestamp: bool = True,
                    provenance: bool = False) -> tuple[ReproBuild, ReproBuild]:
        """Twice, from a clean builder cache: `SOURCE_DATE_EPOCH=0 docker buildx build … --output type=oci,dest=NAME.tar`.

        Cells: 05-29, 05-33, 05-35.
        """
        return reproducible.build_twice(self.endpoints, self.settings.work_dir / "repro", names,
                                        rewrite_timestamp=rewrite_timestamp, provenance=provenance)

    def repro_push(self, name: str) -> str:
        """Push the layout NAME.tar to the lab's registry as demo:repro; the digest the registry serves it under.

        Cells: 05-31.
        """
        return reproducible.push(self.endpoints, self.settings.work_dir / "repro", name)

    # --- notebook 06: indexes made without BuildKit's multi-platform build -----------------------------------------
    def prepare_podman_and_index(self) -> PodmanFacts:
        """Steps 1 and 3 when notebook 06 runs first (step 3's index is the one to compare with), then podman_info.

        Cells: 06-01.
        """
        self.ensure_pushed()
        return self.podman_info()

    def podman_info(self) -> PodmanFacts:
        """The lab's podman (fetched from Debian's archive on first use, saying so), as `podman info` describes it."""
        return podman_build.facts(self.engine.podman(self.endpoints), (self.settings.state_dir,))

    def podman_build_and_push(self) -> IndexMade:
        """`podman build --platform … --manifest localhost/demo:podman .`, then `podman manifest push --all --rm …`.

        Cells: 06-05.
        """
        return podman_build.build_manifest_and_push(self.engine.podman(self.endpoints), self.workdir)

    def push_single_platforms(self) -> list[PushResult]:
        """One single-platform push per platform (`--provenance=false`: one manifest each, no index).

        Cells: 06-11.
        """
        return assemble_index.push_single_platforms(self.endpoints, self.workdir)

    def imagetools_create(self) -> IndexMade:
        """`docker buildx imagetools create -t …:imagetools` from the single-platform pushes.

        Cells: 06-13.
        """
        return assemble_index.imagetools_create(self.endpoints)

    def manifest_create(self) -> IndexMade:
        """`docker manifest create --insecure …:manifest …`, then `docker manifest push --insecure --purge …`.

        Cells: 06-15.
        """
        return assemble_index.manifest_create(self.endpoints)

    def indexes_compared(self) -> frames.Table:
        """The four indexes side by side: step 3's (BuildKit) and the three made without it.

        Cells: 06-17, 06-19.
        """
        reports = assemble_index.compared(self.endpoints)
        return index_comparison.comparison_table(reports, reports[0][1])

    # --- notebook 08: after the experiment -------------------------------------------------------------------------
    def platform_places(self) -> list[PlatformPlace]:
        """The four places `--platform` is said, each asking for linux/arm64, on both engines; tags put back.

        Cells: 08-03.
        """
        return [p for context in (self.classic, self.multiarch)
                for p in platform_flags.places(self.endpoints, self.workdir, context)]

    def variant_picks(self) -> list[VariantPick]:
        """linux/arm, linux/arm/v6 and linux/arm64/v8 each run from the base index on both engines, and the entry taken.

        Cells: 08-08.
        """
        report = self.base_image()
        return [p for context in (self.classic, self.multiarch) for p in platform_flags.pick(self.endpoints, context, report)]

    def ci_pattern(self) -> CiPattern:
        """CI's pattern: one push per platform, the digests from --metadata-file, `imagetools create` from them.

        Cells: 08-10.
        """
        return ci_pattern.run(self.endpoints, self.workdir)

    def manifest_from_indexes(self, pattern: CiPattern) -> CommandResult:
        """`docker manifest create` from CI's pushes, each an index.

        Cells: 08-16.
        """
        return ci_pattern.manifest_from_indexes(self.endpoints, pattern)

    def manifest_from_single(self) -> IndexMade:
        """The way out with `docker manifest`: `--provenance=false` pushes (one manifest each), then create and push.

        Cells: 08-18.
        """
        return ci_pattern.manifest_from_single(self.endpoints, self.workdir)

    def knob_pushes(self) -> list[KnobPush]:
        """One linux/amd64 push per registry-compatibility knob, and what the registry serves for each.

        Cells: 08-20.
        """
        return registry_knobs.push_each(self.endpoints, self.workdir)

    def bake(self) -> BakeRun:
        """`docker buildx bake` with a docker-bake.hcl listing both platforms, on the multiarch engine.

        Cells: 08-22.
        """
        return bake.bake(self.endpoints, self.workdir)


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
    status_file = environ.get("LABKIT_UP_STATUS")
    try:
        status = Path(status_file).read_text().split() if status_file else []
    except OSError:
        return ""
    return notebook.background_start(status, environ.get("LABKIT_UP_LOG", ""))


def open_lab() -> Lab:
    """The lab's engine, chosen once, started first when it is not up (and says so): the one place a face starts one."""
    shell = get_ipython()
    if shell is not None:
        shell.set_custom_exc((LabError,), _show_lab_error)
    engine = engines.choose(Settings.from_env())
    if engine.is_up():
        print(notebook.opening(engine.title, already_up=True))
        return Lab(engine.settings, engine, engine.endpoints())
    print(notebook.opening(engine.title, False, engine.first_start, _background_start(os.environ)), end="")
    endpoints = engine.up()
    print(notebook.UP)
    return Lab(engine.settings, engine, endpoints)


def said(line: str, value: T) -> T:
    """Print a view's line, then hand back what it was made from (so a method can say and return in one line)."""
    print(line)
    return value


def verify(condition: bool, what: str) -> None:
    """The check cell's assertion: raise when the step's outcome is not what the text claims, else say what was verified."""
    if not condition:
        raise AssertionError(notebook.not_verified(what))
    print(notebook.verified(what))


def show(result: CommandResult, output: str | None = None) -> None:
    """Print a command as typed against its context, its exit code, and its (or the given) output."""
    print(notebook.result_text(result, output))


def show_mermaid(source: str) -> None:
    """Render a Mermaid diagram in JupyterLab (plain text elsewhere); nbval compares the source."""
    display(notebook.mermaid(source), raw=True)


def builder_path(choice: BuilderChoice) -> str:
    """Which builder step 3 used, as a sentence says it."""
    return text.builder_path_text(choice.path)


# --- practice: the lab's questions to the learner (notebook 07, and the exercises that end notebooks 01-06) --------
def practice_ready(notebook_name: str) -> bool:
    """True when every question the notebook asks is in the lab's bank, with a proof and a hint."""
    asked = bank.asked_in(notebook_name)
    return bool(asked) and all(question.proof and question.hint for question in asked)


# --- notebook 05: every variant, `exec format error`, `--load`, emulated and cross builds, reproducible digests ------
def every_variant_ran(runs: Sequence[VariantRun]) -> bool:
    """True when every variant ran; a LabError naming each emulator the machine lacks, and what adds it, when the
    kernel refused a variant for want of one."""
    refused = notebook.variants_refused(runs)
    if refused is not None:
        raise refused
    return all(run.result.succeeded for run in runs)


def provenance_differences(first: ReproBuild, second: ReproBuild) -> list[str]:
    """The fields of two builds' provenance attestations that differ (dotted paths)."""
    return reproducible.differing_fields(first, second)
