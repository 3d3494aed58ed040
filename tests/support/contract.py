"""What every kind of the lab's own engine promises about faults, written once: a test class of a kind's module
inherits `EngineContract` and gives it a `subject` fixture (the sandbox as root, the rootless sandbox as a learner).

Each fault is injected for real: a daemon killed, a pid file naming a process the lab did not start, a socket left
behind. `labkit up` recovers, signals nothing it did not start, and the experiment runs again.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
from abc import ABC, abstractmethod

from labkit.engines import DAEMONS
from labkit.engines.own import OwnEngine, answers
from labkit.settings import Settings
from tests.support.runs import wait_for


class Subject(ABC):
    """One engine under test, driven as its learner drives it."""

    engine: OwnEngine

    @property
    def settings(self) -> Settings:
        return self.engine.settings

    @abstractmethod
    def labkit(self, *args: str) -> subprocess.CompletedProcess[str]:
        """`labkit ARGS` as the engine's learner (root for the sandbox)."""

    @abstractmethod
    def bystander(self) -> subprocess.Popen[bytes]:
        """A process of the learner's that the lab did not start."""

    @abstractmethod
    def experiment_runs(self, tag: str) -> None:
        """Steps 1 to 4 on the engine, as its learner; an AssertionError when one does not do what the lab says."""

    def pid(self, service: str) -> int:
        return int(self.engine.spec_of(service).pid_file.read_text())

    def state(self, service: str) -> str:
        """The service's state in `labkit status`, as its learner sees it (`running`, `stopped`, `not answering`)."""
        result = self.labkit("status")
        rows = [re.split(r"\s{2,}", line.strip()) for line in result.stdout.splitlines()[3:] if line.strip()]
        return next(row[1] for row in rows if row[0] == service)

    def kill(self, service: str) -> None:
        os.kill(self.pid(service), signal.SIGKILL)
        wait_for(lambda: not answers(self.settings, service) or None, 10, f"the {service} service to stop answering")

    def up(self) -> None:
        result = self.labkit("up")
        assert result.returncode == 0, result.stdout + result.stderr


class EngineContract:
    """The fault tests every kind of the lab's own engine passes."""

    def test_a_killed_daemon_is_restarted_by_up(self, subject: Subject) -> None:
        for daemon in DAEMONS:
            before = subject.pid(daemon)
            subject.kill(daemon)
            assert subject.state(daemon) == "stopped"
            subject.up()
            assert subject.state(daemon) == "running" and subject.pid(daemon) != before
        subject.experiment_runs("after-a-kill")

    def test_stale_pid_files_and_sockets_after_a_crash(self, subject: Subject) -> None:
        settings = subject.settings
        subject.kill("classic")
        bystander = subject.bystander()
        try:
            subject.engine.spec_of("classic").pid_file.write_text(f"{bystander.pid}\n")
            settings.socket("classic").touch(exist_ok=True)  # as a killed daemon leaves it
            subject.up()
            assert bystander.poll() is None, "the lab signalled a process it did not start"
            assert subject.pid("classic") != bystander.pid and subject.state("classic") == "running"
        finally:
            bystander.kill()
            bystander.wait()
        subject.experiment_runs("after-a-crash")
