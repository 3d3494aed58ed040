"""The questions: drawn from notebooks 01–06, each with the output that proves its answer, a hint, and its key.

Interview questions are asked in notebook 07; each of notebooks 01–06 ends with one or two exercises of its own.
The key (the answer itself) is for instructors: `labkit quiz --key`. The learner meets `right` only once right.
"""

from __future__ import annotations

from labkit.experiment import PLATFORMS
from labkit.practice.model import Proof, Question, Task

# Why a choice or value answer is right, and the answer itself, are not in the package: the instructor's
# instructor/keys.toml holds them, sealed into sealed.json (practice/seal.py), which only a right answer unseals.
SEALED = ""

NB01 = "01_the_dockerfile.ipynb"
NB02 = "02_the_build_that_fails.ipynb"
NB03 = "03_the_build_that_works.ipynb"
NB04 = "04_inspect_the_index.ipynb"
NB05 = "05_every_variant.ipynb"
NB06 = "06_without_buildkit.ipynb"
NB08 = "08_after_the_experiment.ipynb"
BUILD_REPRO = "moby/buildkit v0.25.2 docs/build-repro.md"
PLATFORM_ARGS = "moby/buildkit v0.25.2 frontend/dockerfile/docs/reference.md, 'Automatic platform ARGs'"

INTERVIEW: tuple[Question, ...] = (
    Question(
        "q-why-one-install", "choice",
        "`docker build --platform linux/amd64,linux/arm64 -t demo:multi .`, with the lab's Dockerfile (FROM busybox "
        "and a CMD, no RUN step), fails on one Docker 28 install and works on another. Both installs have the same "
        "engine, CLI and buildx versions. Which of these differs between the two?",
        ("07",),
        SEALED,
        (Proof(NB02, ("02-06",), "the refusal on the classic image store"),
         Proof(NB03, ("03-05", "03-09"), "the two image stores, and the build pushed from the containerd one")),
        "The sandbox's two daemons run the same version and differ in one setting only (notebook 00). Which one?",
        options=("the install that fails has no buildx plugin, so `docker build` falls back to the legacy builder, "
                 "which cannot build several platforms",
                 "the image store: on the classic store the default builder's docker driver cannot build several "
                 "platforms; on the containerd store it can",
                 "QEMU: the install that fails has no emulator registered in binfmt_misc, so its builder does not "
                 "list linux/arm64",
                 "the BuildKit the engine carries: building several platforms at once needs a newer BuildKit than "
                 "some Docker 28 packages vendor")),
    Question(
        "q-who-refuses", "choice",
        "On the classic daemon, which part refuses `docker build --platform linux/amd64,linux/arm64 .`?",
        ("07",),
        SEALED,
        (Proof(NB02, ("02-27",), "the refused build has no `#0 building with` line; the one-platform build has one"),),
        "With --progress=plain, a build that reached a builder prints `#0 building with …`. Does the refused one?",
        options=("the docker CLI's flag parsing: --platform takes one value",
                 "the legacy builder",
                 "buildx, before any builder runs",
                 "BuildKit, once the build has started",
                 "the kernel, which cannot run arm64 programs")),
    Question(
        "q-builder-trap", "choice",
        "You ran `docker buildx create --name multi --driver docker-container --use`, and "
        "`docker build --platform linux/amd64,linux/arm64 .` still fails with the same message. Why?",
        ("07",),
        SEALED,
        (Proof(NB02, ("02-29",), "docker build still refused; docker buildx build used the new builder"),),
        "Compare the `#0 building with` lines of `docker build` and `docker buildx build` in the trap cell.",
        options=("the new builder has not been started yet, and `docker build` skips builders that are not "
                 "running: bootstrap it first",
                 "without `docker buildx install`, a plain `docker build` uses the current context's default "
                 "builder: the CLI sets BUILDX_BUILDER to the context's name unless you pass --builder or set "
                 "BUILDX_BUILDER yourself",
                 "`--use` records the builder for terminals opened afterwards; the current shell keeps the "
                 "builder it had",
                 "the docker-container driver cannot build several platforms either; only the kubernetes and "
                 "remote drivers can")),
    Question(
        "q-index-vs-list", "choice",
        "Index, manifest list, manifest: which statement is right?",
        ("07",),
        SEALED,
        (Proof(NB04, ("04-05", "04-17"), "an OCI index, then a Docker manifest list of the same two platforms"),),
        "Compare the MediaType lines of demo:multi and demo:noattest in notebook 04.",
        options=("Docker renamed its manifest list to the OCI image index when it adopted OCI: today they are one "
                 "format under two names",
                 "an OCI image index and a Docker manifest list are two formats of one idea, a list of per-platform "
                 "manifests; a manifest is one image for one platform (a config and layers)",
                 "a manifest lists the platforms of an image, and an index holds the layers those platforms share",
                 "an index is what BuildKit writes for an image of one platform; a manifest list holds several")),
    Question(
        "q-index-media-type", "value",
        "What media type does the registry give `demo:multi`, the two-platform image step 3 pushed with default "
        "settings?",
        ("07",),
        SEALED,
        (Proof(NB03, ("03-09",), "the media type the registry serves for demo:multi"),),
        "It starts with application/vnd.oci; notebook 03's push cell prints it."),
    Question(
        "q-unknown-unknown", "choice",
        "`docker buildx imagetools inspect` lists two `unknown/unknown` entries next to linux/amd64 and "
        "linux/arm64. What are they?",
        ("07",),
        SEALED,
        (Proof(NB04, ("04-15", "04-27"), "each unknown/unknown describes one image; gone with "
                                          "BUILDX_NO_DEFAULT_ATTESTATIONS=1"),),
        "Look at the annotations and the layer media type of those entries in notebook 04.",
        options=("layers BuildKit could not label with a platform, kept so that a pull can verify every blob",
                 "images for a platform the builder could not detect, built from the base image's unlabelled entries",
                 "provenance attestations, one per image, with a platform no runtime will pick",
                 "cache manifests that the next build with --cache-from reads to skip unchanged steps")),
    Question(
        "q-entry-count", "value",
        "A default `docker buildx build --platform linux/amd64,linux/arm64 -t … --push .` on the multiarch daemon: "
        "how many entries does the pushed index list?",
        ("07",),
        SEALED,
        (Proof(NB04, ("04-05",), "the four entries of demo:multi"),),
        "Count every entry of the index, not only the platforms you asked for.",
        unit="entries"),
    Question(
        "q-runtime-picks", "choice",
        "`docker run --platform linux/arm64 IMAGE`, where IMAGE is an index. How does the engine pick what to run?",
        ("07",),
        SEALED,
        (Proof(NB03, ("03-11",), "one tag, two --platform values, two `uname -m` answers"),
         Proof(NB01, ("01-08",), "busybox lists linux/arm64/v8")),
        "Same tag, two --platform values, two different `uname -m` outputs: what must the engine choose between?",
        options=("it pulls every image of the index, then starts the one whose config names the requested platform",
                 "it reads the index and pulls the manifest whose descriptor's platform matches linux/arm64 "
                 "(os, architecture, variant), then that manifest's config and layers",
                 "it pulls the image for the host's own platform, and QEMU translates its instructions to arm64",
                 "it asks the registry to convert the index into an arm64 image, and pulls the result")),
    Question(
        "q-arm64-uname", "value",
        "On this lab's amd64 machine, what does `docker run --platform linux/arm64 $REGISTRY/demo:multi uname -m` "
        "print?",
        ("07",),
        SEALED,
        (Proof(NB03, ("03-11",), "uname -m in each platform's image"),
         Proof(NB02, ("02-23",), "QEMU registered in binfmt_misc with the F flag")),
        "`uname -m` names the machine the program believes it runs on, not the host."),
    Question(
        "q-emulation-native-cross", "choice",
        "A Dockerfile compiles a Go program in a RUN step; the arm64 half of a two-platform build on an amd64 CI "
        "runner is ten times slower than the amd64 half. Emulation or cross-compilation: which statement is right?",
        ("07",),
        SEALED,
        (Proof(NB05, ("05-21", "05-23"), "BUILDPLATFORM/TARGETARCH against emulation"),
         Proof(NB02, ("02-23",), "arm64 is listed because QEMU is registered"),
         Proof(NB01, ("01-09",), "emulation is needed only when a build runs a foreign program")),
        "Ask of each way: whose machine code does the arm64 RUN step execute, and on what?",
        options=("emulation: nothing to change, but QEMU runs the arm64 compiler in every arm64 RUN step, slowly; "
                 "cross-compilation: a FROM --platform=$BUILDPLATFORM stage runs the amd64 compiler natively and "
                 "targets $TARGETARCH, and the final stage copies the program (a Dockerfile change)",
                 "emulation: QEMU runs only when the image runs, never during a build, so the slow half is not "
                 "emulated; cross-compilation: would change nothing here",
                 "emulation: QEMU is the slow part; cross-compilation: still needs QEMU, because a compiler that "
                 "writes arm64 code must itself run as an arm64 program",
                 "emulation: QEMU is the slow part; cross-compilation: put --platform=$TARGETPLATFORM on every FROM, "
                 "so that each stage is built for the platform it targets")),
    Question(
        "q-exec-format", "choice",
        "A container fails to start with `exec /bin/sh: exec format error`. What does it mean?",
        ("07",),
        SEALED,
        (Proof(NB05, ("05-13", "05-07"), "exec format error, and running every variant"),
         Proof(NB02, ("02-23",), "the emulator registered in binfmt_misc that avoids it here")),
        "What does the kernel do with an arm64 program on an amd64 machine when no emulator is registered?",
        options=("the image's manifest is corrupt: its digest does not match the bytes the registry served",
                 "the kernel cannot execute the program: it is for another architecture and no emulator is "
                 "registered for it in binfmt_misc (or the image's platform label is wrong)",
                 "the entrypoint has no execute permission in the image's layer, so the kernel refuses to start it",
                 "the image has no shell, so the runtime cannot start /bin/sh for the command")),
    Question(
        "q-reproducible", "choice",
        "Two builds of the same Dockerfile for the same platforms push two different index digests. What lets them "
        "push the same digest?",
        ("07",),
        SEALED,
        (Proof(NB05, ("05-29",), "reproducible digests"),
         Proof(BUILD_REPRO, (), "what SOURCE_DATE_EPOCH and rewrite-timestamp pin")),
        "What changes from one build to the next when nothing in the sources did: in the images, and in what else "
        "the index lists?",
        options=("--no-cache, so that no layer of an earlier build, with its other timestamps, is reused",
                 "pin the timestamps and the inputs: SOURCE_DATE_EPOCH, rewrite-timestamp=true for the files' "
                 "times, base images by digest; the default provenance then records SOURCE_DATE_EPOCH as its "
                 "build times",
                 "pin what varies and leave out what cannot be pinned: SOURCE_DATE_EPOCH for the timestamps, "
                 "rewrite-timestamp=true for the files' times, base images by digest, and --provenance=false, "
                 "because the provenance records each build's start and finish times and invocation ID",
                 "`docker push` instead of --push, because buildx writes the time of the push into the index",
                 "nothing: a digest always includes the time of the push, so two pushes never match")),
    Question(
        "q-stitch-how", "choice",
        "Images for linux/amd64 and linux/arm64 are already in a registry, one tag each. How do you publish one "
        "multi-platform tag without rebuilding?",
        ("07",),
        SEALED,
        (Proof(NB06, ("06-05", "06-13", "06-15"), "imagetools create, docker manifest create and podman's manifest list"),
         Proof(NB04, ("04-09",), "the raw index: descriptors and platforms, nothing else")),
        "What does an index hold besides descriptors (notebook 04's raw JSON)?",
        options=("`docker tag` both images to the same name and push that tag: the registry merges them into an index",
                 "`docker buildx imagetools create -t NAME:multi NAME:amd64 NAME:arm64`: it writes an index that "
                 "points at the existing manifests",
                 "build both platforms again with --platform: an index can only come out of a build",
                 "`docker push --all-tags NAME`: the registry groups a repository's tags by platform")),
    Question(
        "q-push-exact", "command",
        "Write the build command that pushes `$REGISTRY/practice:two`, an index with images for exactly "
        "linux/amd64 and linux/arm/v7, built from the lab's Dockerfile in `.`. The lab runs it on its multiarch "
        "engine and inspects what was pushed.",
        ("07",),
        "--platform takes a comma-separated list, the containerd image store lets the docker driver build it, and "
        "--push sends the index to the registry.",
        (Proof(NB03, ("03-09",), "step 3's command and what it pushed"),
         Proof(NB04, ("04-05",), "the index's entries")),
        "Start from step 3's command in notebook 03; change the platforms and the tag ($REGISTRY is the lab's "
        "registry).",
        task=Task("two", ("linux/amd64", "linux/arm/v7"))),
    Question(
        "q-print-platform", "dockerfile",
        "Write a Dockerfile, `FROM busybox`, whose image prints the platform it was built for (such as "
        "`linux/arm64`) when run with no arguments. The lab builds it for linux/amd64 and linux/arm64 and runs both.",
        ("07",),
        "BuildKit sets TARGETPLATFORM (and TARGETOS, TARGETARCH, TARGETVARIANT) for each platform it builds; ARG "
        "declares it in the stage, ENV keeps it for run time.",
        (Proof(NB03, ("03-11",), "each platform's image run"),
         Proof(PLATFORM_ARGS, (), "the build args BuildKit sets per platform")),
        "An ARG with one of BuildKit's platform names needs no --build-arg; ARG values are gone at run time, ENV "
        "values are not.",
        task=Task("print-platform", PLATFORMS, outputs=tuple((p, p) for p in PLATFORMS))),
)

EXERCISES: tuple[Question, ...] = (
    Question(
        "q-busybox-arm64", "value",
        "Which entry of the lab's `busybox` index does a build for `linux/arm64` take? Give its platform as the "
        "index lists it.",
        ("01",),
        SEALED,
        (Proof(NB01, ("01-08",), "the platforms of the busybox index"),),
        "Read the platform list the cell under 'Where does busybox come from?' prints."),
    Question(
        "q-from-resolves", "value",
        "`FROM busybox` is short for which full image reference (registry, repository and tag)?",
        ("01",),
        SEALED,
        (Proof(NB01, ("01-07",), "where busybox comes from"),
         Proof(NB03, ("03-08",), "how distribution/reference canonicalises a short name")),
        "Three parts are filled in: a registry host, a namespace and a tag.",
        case_sensitive=True,
        reference=True),
    Question(
        "q-one-platform-classic", "choice",
        "On the classic daemon, does `docker build --platform linux/arm64 -t demo:arm64 .` (one platform) succeed?",
        ("02",),
        SEALED,
        (Proof(NB02, ("02-14",), "the one-platform arm64 build, exit code 0"),),
        "Fact check 3 of notebook 02 runs exactly this command.",
        options=("yes: only several platforms at once are refused",
                 "no: the classic image store cannot hold arm64 images",
                 "no: an arm64 build needs a docker-container builder")),
    Question(
        "q-trap-which-builder", "value",
        "After `docker buildx create --name traptest --driver docker-container --use` on the classic context, "
        "with the lab's CLI configuration (no `docker buildx install` alias), which builder does a plain "
        "`docker build` use? Give its name.",
        ("02",),
        SEALED,
        (Proof(NB02, ("02-29",), "the `#0 building with` line of each command in the trap"),),
        "With no alias, the CLI picks the builder for a plain `docker build` itself, from the current context: what "
        "is that context called, and which of its builders carries its name?"),
    Question(
        "q-docker-hub-name", "value",
        "The article pushes with `-t demo:multi --push`. To which repository would that push? Give the full name "
        "(registry/namespace/name).",
        ("03",),
        SEALED,
        (Proof(NB03, ("03-08",), "distribution/reference's normalize.go, quoted"),),
        "A short name is completed twice: a registry host, then a namespace.",
        case_sensitive=True,
        reference=True),
    Question(
        "q-one-setting", "choice",
        "The classic and multiarch daemons run the same Docker version. Which setting makes the two-platform build "
        "work on multiarch?",
        ("03",),
        SEALED,
        (Proof(NB03, ("03-05", "03-07"), "the two image stores, and the same docker driver on multiarch"),),
        "Notebook 03's builder table shows the same driver on both daemons; what does `docker info` show differently?",
        options=("a newer buildx plugin next to the multiarch daemon's CLI",
                 "the containerd image store (\"containerd-snapshotter\": true in the daemon's config)",
                 "QEMU, registered for the multiarch daemon only",
                 "the docker-container driver for the multiarch daemon's builder")),
    Question(
        "q-no-attestations", "command",
        "Write the build command that pushes `$REGISTRY/practice:plain`, an index of linux/amd64 and linux/arm64 "
        "with no attestation entry (no unknown/unknown), from the lab's Dockerfile in `.`.",
        ("04",),
        "--provenance=false (or BUILDX_NO_DEFAULT_ATTESTATIONS=1 before the command) leaves out the default mode=min "
        "provenance.",
        (Proof(NB04, ("04-17", "04-27"), "two entries only, with either switch"),),
        "Notebook 04 shows two ways to drop the default provenance.",
        task=Task("plain", PLATFORMS, attestations=False)),
    Question(
        "q-digest-is", "choice",
        "What is the digest of an index?",
        ("04",),
        SEALED,
        (Proof(NB04, ("04-11",), "the digest recomputed from the served bytes"),),
        "Notebook 04 recomputes it from something the registry serves.",
        options=("an id the registry assigns at push time",
                 "the sha256 of the exact bytes the registry serves for it",
                 "the sha256 of its first image's layer",
                 "the sha256 of the Dockerfile")),
    Question(
        "q-cross-stage", "dockerfile",
        "Write a Dockerfile in two stages: a first stage that runs on the build machine's own platform (no "
        "emulation) and writes the target architecture (`amd64`, `arm64`) into a file with a RUN step, and a final "
        "stage, `FROM busybox`, whose image prints that file. The lab builds it for linux/amd64 and linux/arm64, "
        "checks that no RUN step runs on the target platform, and runs both images.",
        ("05",),
        "FROM --platform=$BUILDPLATFORM runs that stage natively whatever the target; TARGETARCH says what to "
        "produce; the final stage only copies, so no foreign program runs during the build.",
        (Proof(NB05, ("05-21", "05-23"), "BUILDPLATFORM/TARGETARCH against emulation"),
         Proof(PLATFORM_ARGS, (), "BUILDPLATFORM and TARGETARCH")),
        "A stage runs on the platform its FROM resolves to; `--platform=` on a FROM can pin it to the build "
        "machine's.",
        task=Task("cross-stage", PLATFORMS, outputs=(("linux/amd64", "amd64"), ("linux/arm64", "arm64")),
                  native_stages=True)),
    Question(
        "q-repro-epoch", "value",
        "Which environment variable pins the timestamps BuildKit writes into an image's config (buildx passes it "
        "from your shell as a build arg)?",
        ("05",),
        SEALED,
        (Proof(NB05, ("05-29",), "reproducible digests"), Proof(BUILD_REPRO, (), "what SOURCE_DATE_EPOCH pins")),
        "It is the reproducible-builds.org convention: a number of seconds since 1970.",
        case_sensitive=True),
    Question(
        "q-stitch", "command",
        "`$REGISTRY/practice:stitch-amd64` and `$REGISTRY/practice:stitch-arm64` are single-platform images the lab "
        "pushes for you. Write one command that publishes `$REGISTRY/practice:stitched`, an index of both, "
        "without building anything.",
        ("06",),
        "imagetools create reads each source's manifests and pushes an index of descriptors pointing at the same "
        "digests: nothing is rebuilt or uploaded again.",
        (Proof(NB06, ("06-13", "06-15"), "imagetools create, docker manifest create"),),
        "buildx has a tool that writes an index from images already in a registry (notebook 06 uses it).",
        task=Task("stitched", PLATFORMS, commands=(("buildx", "imagetools", "create"),),
                  sources=(("stitch-amd64", "linux/amd64"), ("stitch-arm64", "linux/arm64")))),
    Question(
        "q-manifest-create", "choice",
        "`docker manifest create demo:multi demo:amd64 demo:arm64`, right after building both images on the "
        "classic daemon (nothing pushed), fails. Why?",
        ("06",),
        SEALED,
        (Proof(NB06, ("06-15",), "docker manifest create"),),
        "Where does `docker manifest` read the images it lists from?",
        options=("`docker manifest` reads the sources from a registry: they must be pushed first",
                 "it needs the containerd image store to read images from the engine",
                 "it needs a BuildKit builder with the docker-container driver",
                 "it accepts only OCI indexes as sources, not single images")),
    Question(
        "q-arm-v6", "choice",
        "An index lists `linux/arm/v5` and `linux/arm/v7`, no `linux/arm/v6`. On the classic image store, what does "
        "`docker run --platform linux/arm/v6 IMAGE` run?",
        ("08",),
        SEALED,
        (Proof(NB08, ("08-08",), "each request on both stores, and the entry it took"),),
        "containerd/platforms' `Only` lists what a request also accepts (notebook 08 cites it). Older or newer?",
        options=("the `linux/arm/v5` image: the matcher accepts older arm variants for arm/v6",
                 "the `linux/arm/v7` image: the matcher rounds up to the nearest variant",
                 "nothing: the engine refuses, the index does not provide linux/arm/v6",
                 "the host's image (linux/amd64), with a warning")),
    Question(
        "q-manifest-sources", "choice",
        "CI pushed `app@sha256:A` and `app@sha256:B` with `docker/build-push-action` defaults (provenance on). "
        "`docker manifest create app:multi app@sha256:A app@sha256:B` fails with `is a manifest list`. Why?",
        ("08",),
        SEALED,
        (Proof(NB08, ("08-16", "08-18"), "docker manifest create on CI's pushes, then on --provenance=false pushes"),),
        "What is a default `buildx build --push` of one platform, in the registry (notebook 08, section 5)?",
        options=("`docker manifest` cannot read sources named by digest",
                 "each source is an index (the image and its provenance attestation), and `docker manifest create` "
                 "takes only single manifests",
                 "the registry must be told `--insecure`",
                 "the two digests are of the same platform")),
    Question(
        "q-ci-ready", "command",
        "Write the build command that pushes `$REGISTRY/practice:ci-ready`, an index with images for exactly "
        "linux/amd64 and linux/arm64 and no attestation entries, built from the lab's Dockerfile in `.`.",
        ("08",),
        "--platform takes both platforms, --provenance=false leaves out the attestation entries, and --push sends "
        "the index to the registry.",
        (Proof(NB08, ("08-20",), "what each knob leaves in the registry"),),
        "Which knob of notebook 08's section 5 removes the `unknown/unknown` entries?",
        task=Task("ci-ready", PLATFORMS, commands=(("buildx", "build"), ("build",)), attestations=False)),
)

QUESTIONS: tuple[Question, ...] = INTERVIEW + EXERCISES
BY_ID = {question.id: question for question in QUESTIONS}


def asked_in(notebook: str) -> list[Question]:
    """The questions a notebook asks ("01" … "07"), in bank order."""
    return [question for question in QUESTIONS if notebook in question.asked_in]
