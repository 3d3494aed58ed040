"""Plain typed data that every layer hands upward: what a command did, what an engine is, what a step produced.

Steps, engines and diagnostics produce these; views consume them. No engine is reached from here, and fixed choices
are Literals, never sentences matched by prefix.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from labkit.oci.index import IndexReport

# --- commands ---------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class CommandResult:
    """What one docker command did, and how a learner would type it."""

    context: str
    command: str
    return_code: int
    stdout: str
    stderr: str

    @property
    def succeeded(self) -> bool:
        """True when the command exited with 0."""
        return self.return_code == 0

    def tail(self, chars: int = 400) -> str:
        """The end of what it printed: its errors, or its output when it printed no error."""
        return (self.stderr.strip() or self.stdout.strip())[-chars:]

    @property
    def builder_line(self) -> str:
        """BuildKit's `#0 building with "NAME" instance using DRIVER driver` line of a plain-progress build, or ''.

        buildx prints it once it has chosen a builder and starts building; a build refused before that has none.
        """
        return next((line.strip() for line in self.stderr.splitlines() if line.startswith("#0 building with ")), "")


# --- what an engine is --------------------------------------------------------------------------------------------------

ImageStore = Literal["classic", "containerd", "unknown"]


@dataclass(frozen=True)
class EngineFacts:
    """What `docker info` says about the CLI, its buildx plugin and the engine."""

    cli_version: str
    buildx_version: str
    engine_version: str
    image_store: ImageStore
    os_type: str
    architecture: str
    error: str

    @property
    def answers(self) -> bool:
        """True when the engine answered."""
        return bool(self.engine_version)


@dataclass(frozen=True)
class Builder:
    """One builder as `docker buildx ls` reports it, with its (first) node."""

    name: str
    driver: str
    status: str
    buildkit: str
    platforms: tuple[str, ...]
    error: str
    current: bool = False


@dataclass(frozen=True)
class FetchedPackage:
    """One downloaded .deb, as recorded in packages.json."""

    package: str
    version: str
    arch: str
    suite: str
    file: str
    sha256: str


# --- the services an engine runs --------------------------------------------------------------------------------------

ServiceState = Literal["running", "stopped", "not answering", "not prepared", "registered", "missing", "pushed"]
READY_STATES: frozenset[ServiceState] = frozenset({"running", "registered", "pushed"})


@dataclass(frozen=True)
class ServiceStatus:
    """One row of `labkit status`: a service, its state, and what else is worth saying about it."""

    service: str
    state: ServiceState
    pid: int | None
    address: str
    log: str
    detail: str = ""  # e.g. "8 platforms" for the base image, "Docker 28.5.2, containerd image store" for an engine

    @property
    def ready(self) -> bool:
        """True when the service does what the lab needs of it."""
        return self.state in READY_STATES


@dataclass(frozen=True)
class Check:
    """One line of the environment check."""

    ok: bool
    what: str
    next_step: str


# --- the doctor ---------------------------------------------------------------------------------------------------------

Outcome = Literal["succeeds", "fails", "unknown"]
StepId = Literal["1", "2", "3", "4", "run"]


@dataclass(frozen=True)
class Facts:
    """Everything the doctor's predictions depend on."""

    mode: str
    build_engine: EngineFacts  # where step 2 runs
    multiarch_engine: EngineFacts  # where step 3 builds
    builders: tuple[Builder, ...]  # as `docker buildx ls` shows them on step 2's context
    creates_builder: bool  # step 3 creates a docker-container builder (host mode)
    buildkit_image_present: bool
    docker_hub_reachable: bool
    qemu: tuple[str, ...]
    registry_port: int
    registry_port_free: bool
    packages: tuple[FetchedPackage, ...] = ()  # what the sandbox fetched from Debian (package, version, sha256)
    has_mirror: bool = False  # the engine reads docker.io through a local mirror (the sandbox's), so busybox is offline
    emulation: tuple[Emulation, ...] = ()  # each platform of the base image that needs QEMU here, and its entry's state
    emulator_fix: str = ""  # the command that registers the missing emulators on this engine

    @property
    def current_builder(self) -> Builder | None:
        """The builder `docker build` uses on step 2's context."""
        return next((b for b in self.builders if b.current), None)


@dataclass(frozen=True)
class Prediction:
    """What one step will do here, and why."""

    step: StepId
    title: str
    outcome: Outcome
    why: str

    @property
    def label(self) -> str:
        """How tables name the step: `2 docker build, two platforms`."""
        return self.title if self.step == "run" else f"{self.step} {self.title}"


@dataclass(frozen=True)
class NotebookPrediction:
    """Whether one notebook will run to its check here, what it needs, and why."""

    notebook: str
    needs: str
    outcome: Outcome
    why: str


@dataclass(frozen=True)
class PlatformPrediction:
    """Whether notebook 05 will run one platform of the base image here, and what runs it."""

    platform: str
    runs_by: str  # `the kernel`, or the QEMU entry
    outcome: Outcome
    why: str


# --- the steps' results -------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class DockerfileResult:
    """Step 1: the Dockerfile that was written, and where."""

    workdir: Path
    path: Path
    text: str


BuildTool = Literal["BuildKit", "legacy"]


@dataclass(frozen=True)
class BuildAttempt:
    """Step 2: one `docker build` and its error message (empty when it succeeded)."""

    result: CommandResult
    builder: BuildTool
    error: tuple[str, ...]


@dataclass(frozen=True)
class PlatformEmulation:
    """Why the default builder lists a foreign platform: the builder, and the binfmt_misc entry behind it."""

    platform: str
    builder: str  # the current builder on step 2's context
    listed: bool  # the builder lists the platform
    emulator: str  # the QEMU entry for the platform
    registered: bool  # that entry is enabled in binfmt_misc
    fix_binary: bool  # with the F flag


@dataclass(frozen=True)
class BuilderTrap:
    """`docker build` after `docker buildx create --use`: which builder each command really used."""

    create: CommandResult  # docker buildx create --name NAME --driver docker-container --use
    docker_build: CommandResult  # docker build --platform a,b: still the context's default builder
    buildx_build: CommandResult  # docker buildx build --platform a,b: the new builder
    env_build: CommandResult  # BUILDX_BUILDER=NAME docker build --platform a,b: the new builder
    remove: CommandResult  # docker buildx rm NAME


@dataclass(frozen=True)
class Versions:
    """The versions the notebooks' claims depend on."""

    cli: str
    engine: str
    buildx: str
    buildkit_reported: str  # what `docker buildx ls` says of the builder's BuildKit
    buildkit_vendored: str  # what the engine release vendors, from moby's own module file ('' when unknown)


@dataclass(frozen=True)
class BuilderReady:
    """`docker buildx inspect --bootstrap` and the builder it reported (None when it did not start)."""

    result: CommandResult
    builder: Builder | None


BuilderPath = Literal["own", "created", "fallback", "none"]


@dataclass(frozen=True)
class BuilderChoice:
    """Which builder step 3 uses, why, and the commands that decided it.

    own: the engine's default builder (the sandbox's containerd-store daemon); created: the article's
    docker-container builder; fallback: the engine's default builder after that one could not start; none.
    """

    path: BuilderPath
    why: str
    commands: tuple[CommandResult, ...]
    builder: Builder | None

    @property
    def ready(self) -> bool:
        """True when a builder that can build several platforms is in use."""
        return self.builder is not None


@dataclass(frozen=True)
class PushResult:
    """Step 3: the build-and-push command and what the registry now serves under the tag."""

    result: CommandResult
    image_ref: str
    media_type: str
    digest: str


# --- step 4: the index and its descriptors (the model lives beside its parser, in oci/index.py) -----------------------

# --- every variant, emulation and cross builds, reproducible digests ----------------------------------------------------


EmulationState = Literal["registered", "no F flag", "disabled", "missing"]


@dataclass(frozen=True)
class Emulation:
    """One platform of the base image this machine does not run itself, and the QEMU entry that would run it."""

    platform: str
    emulator: str  # the binfmt_misc entry's name (`qemu-arm` for linux/arm/v5 and linux/arm/v7)
    state: EmulationState  # `registered`: enabled, with the F flag, so it works in containers and user namespaces

    @property
    def ready(self) -> bool:
        """True when containers of this platform run through QEMU here."""
        return self.state == "registered"


@dataclass(frozen=True)
class VariantRun:
    """One variant of an image run with `uname -m`, and what the kernel handed its machine code to."""

    platform: str
    machine_code: str  # what the ELF header of the variant's /bin/busybox says it is for (`AArch64`, …)
    uname: str  # what `uname -m` printed in the container
    emulator: str  # the binfmt_misc entry that matched the binary ('' when the kernel ran it itself)
    flags: str  # that entry's flags
    interpreter: str  # the program it names, links resolved
    result: CommandResult
    missing: str = ""  # the emulator the variant needed and the machine lacks ('' when it ran, or needed none)
    fix: str = ""  # the command that adds it


@dataclass(frozen=True)
class PlatformPull:
    """`docker pull --platform P IMAGE`, then `docker run IMAGE uname -m` with no `--platform`, on one engine, and the
    tag put back as it was."""

    image: str  # the image reference, e.g. 127.0.0.1:5000/demo:every
    platform: str  # the platform pulled
    before: str  # the platform of the image the tag named before the pull ('' when the engine had no such tag)
    pull: CommandResult
    run: CommandResult  # no `--platform`
    warned: bool  # the engine warned that the image's platform does not match the host's
    picked: CommandResult  # `docker image inspect --format '{{.Os}}/{{.Architecture}}' IMAGE`, after the run
    restore: CommandResult | None  # what put the tag back (None when the pull left it as it was)

    @property
    def moved(self) -> bool:
        """True when the pull re-pointed the tag (the engine's image for the tag changed platform)."""
        return self.restore is not None


@dataclass(frozen=True)
class ExecFormatDemo:
    """A variant's binary run where no emulator is registered (a binfmt_misc of its own), then with one registered."""

    platform: str
    emulator: str  # the machine's entry whose magic, mask, interpreter and flags were registered in the private one
    without: CommandResult
    with_emulator: CommandResult
    machine_entries_before: tuple[str, ...]  # the machine's own binfmt_misc entries, before and after: untouched
    machine_entries_after: tuple[str, ...]


@dataclass(frozen=True)
class LoadAttempt:
    """`docker buildx build --platform a,b --load` on one engine, and the loaded variants run with `--pull never`."""

    result: CommandResult
    error: tuple[str, ...]
    runs: tuple[CommandResult, ...]


@dataclass(frozen=True)
class TimedBuild:
    """A build-and-push, how long it took, and what each of its variants prints."""

    result: CommandResult
    seconds: float
    dockerfile: str
    runs: tuple[CommandResult, ...]


@dataclass(frozen=True)
class ReproBuild:
    """One build exported as an OCI layout from a clean builder cache: its index and the file times of its top layers."""

    prune: CommandResult
    result: CommandResult
    layout: Path  # the OCI layout the build wrote (a tar file)
    index: IndexReport  # read from the layout, not from a registry
    top_layer_times: tuple[tuple[str, int], ...]  # (platform, newest file time in the image's last layer)


# --- notebook 06: indexes made without BuildKit's multi-platform build ------------------------------------------------


@dataclass(frozen=True)
class PodmanFacts:
    """What `podman info` says of the lab's podman: versions, runtime, storage, and whether its folders are the lab's."""

    version: str
    buildah_version: str
    runtime: str
    storage_driver: str
    docker_io_mirror: str  # where podman pulls docker.io images from ('' when from Docker Hub itself)
    folders_are_the_labs: bool  # storage (graph root) and configuration files under the lab's folders


@dataclass(frozen=True)
class IndexMade:
    """An index made by a tool other than a multi-platform `buildx build`: its commands, in order, and what the
    registry now serves under the tag."""

    tool: str
    commands: tuple[CommandResult, ...]
    image_ref: str
    media_type: str
    digest: str

    @property
    def succeeded(self) -> bool:
        """True when every command exited with 0."""
        return all(command.succeeded for command in self.commands)


# --- notebook 08: after the experiment -----------------------------------------------------------------------------


@dataclass(frozen=True)
class PlatformPlace:
    """One of the four places `--platform` is said, tried on one engine: the commands and what the container printed."""

    place: str  # `docker run --platform`, `docker build --platform`, `FROM --platform`, `DOCKER_DEFAULT_PLATFORM`
    context: str
    commands: tuple[CommandResult, ...]

    @property
    def printed(self) -> str:
        """What the last command printed (`uname -m`), or its error's last line."""
        last = self.commands[-1]
        return last.stdout.strip() if last.succeeded else (last.stderr.strip().splitlines() or ["failed"])[-1]


@dataclass(frozen=True)
class VariantPick:
    """`docker run --platform REQUESTED IMAGE uname -m` on one engine, and the index entry it resolved to."""

    context: str
    requested: str
    run: CommandResult
    picked_platform: str  # the platform of the index entry the engine took ('' when none)
    picked_digest: str  # that entry's manifest digest

    @property
    def uname(self) -> str:
        """What `uname -m` printed, or the error's last line."""
        errors = [line for line in self.run.stderr.splitlines() if line.startswith(("docker:", "Error"))]
        return self.run.stdout.strip() if self.run.succeeded else (errors or ["failed"])[-1]


@dataclass(frozen=True)
class CiPattern:
    """CI's pattern on the lab's engine: one push per platform, the digests from --metadata-file, an index made from
    them with `imagetools create`, beside a one-command build of both platforms."""

    by_digest: CommandResult  # push-by-digest tried on the engine's own builder (docker driver)
    pushes: tuple[CommandResult, ...]
    digests: tuple[tuple[str, str], ...]  # (platform, containerimage.digest from the metadata file)
    create: CommandResult
    inspect: CommandResult
    one_command: CommandResult
    merged: IndexReport
    one: IndexReport


@dataclass(frozen=True)
class KnobPush:
    """One registry-compatibility knob on a single-platform push: what the registry then serves."""

    knob: str
    result: CommandResult
    media_type: str
    entries: tuple[str, ...]  # for an index: each entry's platform and media type


@dataclass(frozen=True)
class BakeRun:
    """`docker buildx bake` with a docker-bake.hcl that lists platforms, and the index it pushed."""

    hcl: str
    result: CommandResult
    index: IndexReport | None
