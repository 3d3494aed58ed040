"""The rootless sandbox, for real, as a learner without root: `labkit prepare-host` (as root, once), then the lab as
that user, with no sudo: the experiment, every notebook under nbval, faults, a second learner beside the first, down.

The test creates its own users, `mlab-learner` and `mlab-learner2` (comment `multiarch lab test learner`, group
`mlab-learners`), without subordinate ids, so that prepare-host has to give them some; it keeps them, with their
caches, for the next run (which is then warm), and refuses to touch a user of that name it did not create. Each
learner's cache is seeded from the session's own (the sandbox's downloads), so the test downloads nothing;
`bench/up.py` measures a learner's start. The learners' folders are the defaults a learner gets: state and cache in
their home, sockets under /tmp/mlab-<uid>-lab, the registry on a port of their own.
"""

from __future__ import annotations

import grp
import json
import os
import re
import shutil
import signal
import subprocess
import tempfile
import textwrap
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

import labkit.engines.rootless as rootless
from labkit.docker.endpoints import Endpoints
from labkit.engines import DAEMONS, own
from labkit.experiment import PLATFORMS, REPOSITORY, STEP2_ERROR
from labkit.oci import media
from labkit.oci.registry import Registry
from labkit.settings import Settings
from labkit.system import inventory, network, processes, subids
from tests.support.contract import EngineContract, Subject
from tests.support.emulation import registered_only, the_other_emulator
from tests.support.learners import Learner, make_learner, seed_cache
from tests.support.runs import STEPS, run_labkit, wait_for

GROUP = "mlab-learners"
USERS = ("mlab-learner", "mlab-learner2")
NBVAL = ("--nbval", "--nbval-sanitize-with", "notebooks/sanitize.cfg", "--nbval-current-env", "--nbval-cell-timeout=300")
LAB_PROGRAMS = ("rootlesskit", "slirp4netns", "docker-registry", "dockerd", "containerd")


def _ensure_group(members: tuple[str, ...]) -> None:
    """The test's own group, with these members (prepare-host --group gives them subordinate ids)."""
    try:
        grp.getgrnam(GROUP)
    except KeyError:
        subprocess.run(["groupadd", GROUP], check=True, capture_output=True)
    for member in members:
        subprocess.run(["usermod", "--append", "--groups", GROUP, member], check=True, capture_output=True)


@dataclass(frozen=True)
class Prepared:
    """The learners, and what `labkit prepare-host` printed for them."""

    learners: tuple[Learner, Learner]
    prepare_output: str
    had_subids: dict[str, bool]
    emulators_removed: tuple[str, ...]  # the lab's QEMU entries that were not registered before prepare-host


@pytest.fixture(scope="module")
def prepared(endpoints: Endpoints, settings: Settings) -> Iterator[Prepared]:
    """Two learners, prepared by `labkit prepare-host` (the first by name, the second through its group), each with a
    Python and a seeded cache. Whatever the tests do, both labs are down at the end."""
    scratch = Path(tempfile.mkdtemp(prefix="mlab-learners-"))
    scratch.chmod(0o755)
    learners: list[Learner] = []
    # From the state that once left notebook 05 failing for learners: only the host's other emulator registered.
    with registered_only(settings, keep=[the_other_emulator(settings)]) as removed:
        try:
            learners += [make_learner(name, scratch) for name in USERS]
            _ensure_group(USERS[1:])
            had = {one.name: all(found.ranges for found in subids.read(one.name, one.uid)) for one in learners}
            result = run_labkit("prepare-host", "--user", USERS[0], "--group", GROUP, timeout=600)
            assert result.returncode == 0, result.stdout + result.stderr
            for one in learners:
                seed_cache(settings, one, one.settings.cache_dir)
            yield Prepared((learners[0], learners[1]), result.stdout, had, tuple(removed))
        finally:
            for learner in learners:
                learner.labkit("down")
            shutil.rmtree(scratch, ignore_errors=True)


@pytest.fixture(scope="module")
def learner(prepared: Prepared) -> Learner:
    """The first learner, with their rootless lab up (started by `labkit up`, as them)."""
    first = prepared.learners[0]
    up = first.labkit("up")
    assert up.returncode == 0, up.stdout + up.stderr
    return first


def _status(learner: Learner) -> dict[str, str]:
    """service -> state (its first word, e.g. `not` for `not answering (…)`), from `labkit status` as the learner."""
    result = learner.labkit("status")
    rows = [re.split(r"\s{2,}", line.strip()) for line in result.stdout.splitlines()[3:] if line.strip()]
    return {row[0]: row[1].split()[0] for row in rows}


def _uids(pid: int) -> set[int]:
    """Real, effective, saved and filesystem uids of a live process (empty for a zombie or a process gone)."""
    try:
        fields = dict(line.split(":", 1) for line in Path(f"/proc/{pid}/status").read_text().splitlines())
    except OSError:
        return set()
    if fields.get("State", "").strip().startswith("Z"):
        return set()
    return {int(value) for value in fields["Uid"].split()}


def _processes_of(uid: int) -> dict[int, str]:
    """pid -> command line of every live process that runs as this uid."""
    return {pid: processes.command_line(pid) for pid in processes.pids() if uid in _uids(pid)}


def _program(pid: int) -> str:
    try:
        return Path(os.readlink(f"/proc/{pid}/exe")).name
    except OSError:
        return ""


# --- prepare-host and the defaults ------------------------------------------------------------------------------------

def test_prepare_host_gives_each_learner_what_the_rootless_sandbox_needs(prepared: Prepared) -> None:
    output = prepared.prepare_output
    for learner in prepared.learners:
        found = subids.read(learner.name, learner.uid)
        assert [entry.size >= subids.RANGE_SIZE for entry in found] == [True, True], found
        if not prepared.had_subids[learner.name]:
            assert f"gave {learner.name} subordinate ids" in output, output
    changed = bool(output.strip()) and all(line.startswith("changed: ") for line in output.splitlines())
    assert changed or output.strip() == "nothing to change: the machine was ready", output
    assert prepared.emulators_removed, "every emulator but one was to be missing: nothing was tested"
    said = re.search(r"registered (.+) in binfmt_misc with the F flag", output)
    assert said is not None and sorted(said.group(1).split(", ")) == sorted(prepared.emulators_removed), output
    again = run_labkit("prepare-host", "--user", USERS[0], "--group", GROUP)
    assert again.stdout.strip() == "nothing to change: the machine was ready", again.stdout + again.stderr
    doctor = prepared.learners[0].labkit("doctor")
    assert doctor.returncode == 0, doctor.stderr
    rootless_part = doctor.stdout.split("The rootless sandbox (the lab's own engine, as your user) needs:")[1]
    assert "[FAIL]" not in rootless_part and rootless_part.count("[OK]") >= 10, rootless_part


def test_prepare_host_refuses_a_user_and_says_who_can_run_it(prepared: Prepared) -> None:
    refused = prepared.learners[0].labkit("prepare-host", "--user", USERS[0])
    assert refused.returncode == 2 and "needs root" in refused.stderr, refused.stderr


def test_two_learners_get_their_own_folders_and_ports(prepared: Prepared) -> None:
    first, second = (learner.settings for learner in prepared.learners)
    assert first.registry_port != second.registry_port
    assert first.run_dir != second.run_dir and first.state_dir != second.state_dir and first.cache_dir != second.cache_dir
    for learner, settings in zip(prepared.learners, (first, second), strict=True):
        assert settings.run_dir == Path(f"/tmp/mlab-{learner.uid}-lab") and settings.state_dir.is_relative_to(learner.home)


# --- the lab, as the learner -------------------------------------------------------------------------------------------

def test_status_says_rootless_and_every_service_runs(learner: Learner) -> None:
    result = learner.labkit("status")
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.splitlines()[0] == "mode: rootless"
    assert _status(learner) == {"registry": "running", "classic": "running", "multiarch": "running",
                                "base image": "pushed", "qemu": "registered"}


def test_the_experiment_as_the_learner(learner: Learner, tmp_path: Path) -> None:
    """Step 2 refused on the classic daemon, steps 3 and 4 on the containerd one; the index read from outside the
    namespaces, by the docker CLI and by this process's own HTTP client; the arm64 variant runs under QEMU."""
    work = learner.settings.state_dir / "test-work"
    steps = learner.run([str(learner.python), "-c", STEPS, str(work), "rootless"])
    assert steps.returncode == 0, steps.stderr
    outcome = json.loads(steps.stdout.splitlines()[-1])
    assert outcome["step2"][0] != 0 and STEP2_ERROR in outcome["step2"][1], outcome["step2"]
    assert outcome["step3"][0] == 0, outcome["step3"][1]
    assert outcome["step4"] == list(PLATFORMS)

    settings = learner.settings
    ref = f"{settings.registry}/{REPOSITORY}:rootless"
    shell = textwrap.dedent(f"""
        eval "$(labkit env multiarch)"
        docker buildx imagetools inspect {ref}
        docker run --rm --network none --platform linux/arm64 {ref} uname -m
    """)
    cli = learner.run(["bash", "-c", f'labkit() {{ {learner.python} -m labkit "$@"; }}\n{shell}'])
    assert cli.returncode == 0, cli.stdout + cli.stderr
    assert f"MediaType: {media.INDEX}" in cli.stdout and "Platform:    linux/arm64" in cli.stdout, cli.stdout
    assert cli.stdout.splitlines()[-1] == "aarch64", cli.stdout
    index = Registry(settings.registry).get_manifest(REPOSITORY, "rootless")  # root, outside the namespaces
    assert index is not None and index.media_type == media.INDEX
    assert {m["platform"]["architecture"] for m in index.json()["manifests"]} >= {"amd64", "arm64"}


def test_every_notebook_passes_nbval_as_the_learner(learner: Learner) -> None:
    """The same stored outputs as in the sandbox: nbval over every notebook, run by the learner."""
    result = learner.run([str(learner.python), "-m", "pytest", "-q", "-p", "no:cacheprovider", *NBVAL, "notebooks"],
                         timeout=900)
    summary = result.stdout.strip().splitlines()[-1] if result.stdout.strip() else ""
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]
    assert " passed" in summary and "skipped" not in summary and "xfail" not in summary, summary


def test_no_process_of_the_rootless_lab_runs_as_root(learner: Learner) -> None:
    settings = learner.settings
    own = _processes_of(learner.uid)
    assert sorted({_program(pid) for pid in own} & set(LAB_PROGRAMS)) == sorted(LAB_PROGRAMS), own
    folders = (str(settings.state_dir), str(settings.run_dir), str(settings.cache_dir))
    named = {pid: line for pid in processes.pids()
             if any(folder in (line := processes.command_line(pid)) for folder in folders)}
    assert named and {pid: _uids(pid) for pid in named if _uids(pid) not in (set(), {learner.uid})} == {}
    holder = rootless.namespace_holder(settings)
    assert holder is not None
    inside = [pid for pid in processes.pids() if os.path.exists(f"/proc/{pid}/ns/user")
              and _readlink(f"/proc/{pid}/ns/user") == _readlink(f"/proc/{holder}/ns/user")]
    assert inside and all(_uids(pid) in (set(), {learner.uid}) for pid in inside), inside


def _readlink(path: str) -> str:
    try:
        return os.readlink(path)
    except OSError:
        return ""


def test_the_learners_lab_listens_only_on_loopback_and_private_sockets(learner: Learner) -> None:
    settings = learner.settings
    listening = inventory.listening_sockets(list(_processes_of(learner.uid)))  # in the host's network namespace
    assert sorted({(s.address, s.port) for _, s in listening}) == [("127.0.0.1", settings.registry_port)]
    info = settings.run_dir.lstat()
    assert (info.st_uid, info.st_mode & 0o777) == (learner.uid, 0o700)
    for name in DAEMONS:
        sock = settings.socket(name)
        assert sock.is_socket() and sock.lstat().st_uid == learner.uid and not sock.lstat().st_mode & 0o007


# --- faults ----------------------------------------------------------------------------------------------------------

def _pid_of(settings: Settings, spec_name: str) -> int:
    engine = rootless.RootlessEngine(settings)
    spec = rootless.rootlesskit_spec(settings) if spec_name == "rootlesskit" else engine.spec_of(spec_name)
    return int(spec.pid_file.read_text())


def test_a_killed_rootlesskit_is_restarted_by_up_with_every_service(learner: Learner) -> None:
    settings = learner.settings
    before = {name: _pid_of(settings, name) for name in ("rootlesskit", *own.SERVICES)}
    os.kill(before["rootlesskit"], signal.SIGKILL)
    wait_for(lambda: not Registry(settings.registry).ping() or None, 10, "the registry's port to close")
    assert {_status(learner)[name] for name in own.SERVICES} == {"not"}  # not answering: RootlessKit is gone
    up = learner.labkit("up")
    assert up.returncode == 0, up.stdout + up.stderr
    after = {name: _pid_of(settings, name) for name in before}
    assert all(after[name] != before[name] for name in before), (before, after)
    assert {name: state for name, state in _status(learner).items() if name in own.SERVICES} ==\
        dict.fromkeys(own.SERVICES, "running")
    steps = learner.run([str(learner.python), "-c", STEPS, str(settings.state_dir / "test-work"), "after-rootlesskit"])
    assert steps.returncode == 0 and json.loads(steps.stdout.splitlines()[-1])["step4"] == list(PLATFORMS), steps.stderr


class LearnerSubject(Subject):
    """The rootless sandbox, driven as its learner."""

    def __init__(self, learner: Learner) -> None:
        self.learner, self.engine = learner, rootless.RootlessEngine(learner.settings)

    def labkit(self, *args: str) -> subprocess.CompletedProcess[str]:
        return self.learner.labkit(*args)

    def bystander(self) -> subprocess.Popen[bytes]:
        return subprocess.Popen(["sleep", "300"], user=self.learner.uid, group=self.learner.gid, extra_groups=[])

    def experiment_runs(self, tag: str) -> None:
        learner = self.learner
        steps = learner.run([str(learner.python), "-c", STEPS, str(self.settings.state_dir / "test-work"), tag])
        assert steps.returncode == 0 and json.loads(steps.stdout.splitlines()[-1])["step4"] == list(PLATFORMS), steps.stderr


class TestTheRootlessSandboxKeepsTheEngineContract(EngineContract):
    @pytest.fixture()
    def subject(self, learner: Learner) -> LearnerSubject:
        return LearnerSubject(learner)


# --- side by side, and down ------------------------------------------------------------------------------------------

def test_a_second_learner_runs_a_lab_beside_the_first(prepared: Prepared, learner: Learner) -> None:
    second = prepared.learners[1]
    first_pids = {name: _pid_of(learner.settings, name) for name in ("rootlesskit", *own.SERVICES)}
    up = second.labkit("up")
    assert up.returncode == 0, up.stdout + up.stderr
    settings = second.settings
    steps = second.run([str(second.python), "-c", STEPS, str(settings.state_dir / "test-work"), "second"])
    assert steps.returncode == 0, steps.stderr
    assert json.loads(steps.stdout.splitlines()[-1])["step4"] == list(PLATFORMS)
    assert Registry(learner.settings.registry).get_manifest(REPOSITORY, "second") is None, "the labs share a registry"
    down = second.labkit("down")
    assert down.returncode == 0, down.stderr
    wait_for(lambda: not _processes_of(second.uid) or None, 10, "the second learner's processes to end")
    assert {name: _pid_of(learner.settings, name) for name in first_pids} == first_pids
    assert set(_status(learner).values()) == {"running", "pushed", "registered"}


def test_down_leaves_nothing_of_the_learners_lab(learner: Learner) -> None:
    settings = learner.settings
    down = learner.labkit("down")
    assert down.returncode == 0, down.stderr
    assert down.stdout.strip() == "stopped: classic, multiarch, registry, rootlesskit", down.stdout
    wait_for(lambda: not _processes_of(learner.uid) or None, 10, "the learner's processes to end")
    assert not settings.run_dir.exists(), sorted(settings.run_dir.rglob("*"))
    assert not rootless.rootlesskit_dir(settings).exists()
    assert [spec.pid_file for spec in (rootless.rootlesskit_spec(settings), *map(rootless.RootlessEngine(settings).spec_of,
                                                                               own.SERVICES)) if spec.pid_file.exists()] == []
    assert network.port_is_free(settings.registry_host, settings.registry_port)
    assert not (learner.home / ".docker").exists(), "the lab wrote to the learner's own ~/.docker"
