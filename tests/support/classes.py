"""A class for the tests: `labkit class up` with learners of the test's own prefix, logins through the hub's form, and
each learner's commands run as them (runuser, a login's clean environment).

The class uses ports 8010-8013 (hub, proxy API, hub API, base-image cache), the prefix `mlab-c` (accounts mlab-c1…,
made by the class itself, comment `multiarch lab class learner`) and the folder /tmp/mlab-class-test.
"""

from __future__ import annotations

import http.cookiejar
import os
import re
import subprocess
import sys
import urllib.parse
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from labkit.classroom import accounts
from labkit.classroom.course import Course, Member
from labkit.settings import Settings

REPO = Path(__file__).resolve().parents[2]
CLASS_ENV = {"LABKIT_CLASS_PORT": "8010", "LABKIT_CLASS_PREFIX": "mlab-c", "LABKIT_CLASS_DIR": "/tmp/mlab-class-test"}
PASSWORD = "class-test-password"  # chosen at each learner's first login (FirstUseAuthenticator)


def class_env(overrides: dict[str, str] | None = None) -> dict[str, str]:
    return {**os.environ, **(overrides or CLASS_ENV)}


def course(overrides: dict[str, str] | None = None) -> Course:
    return Course.from_env(class_env(overrides))


def labkit_class(*args: str, timeout: float = 600, overrides: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """`labkit class ARGS` as root, as the instructor runs it (the tests' class, or the one `overrides` names)."""
    return subprocess.run([sys.executable, "-m", "labkit", "class", *args], env=class_env(overrides), cwd=REPO,
                          capture_output=True, text=True, timeout=timeout, check=False)


@dataclass(frozen=True)
class ClassLearner:
    """One learner of the test's class."""

    member: Member
    course: Course

    @property
    def name(self) -> str:
        return self.member.name

    @property
    def home(self) -> Path:
        return Path(self.member.home)

    @property
    def settings(self) -> Settings:
        return accounts.learner_settings(self.member, self.course)

    @property
    def notebooks(self) -> Path:
        return self.home / accounts.NOTEBOOK_FOLDER

    def command(self, argv: list[str], **extra: str) -> list[str]:
        env = [f"HOME={self.home}", f"USER={self.name}", f"LOGNAME={self.name}", "LANG=C.UTF-8",
               *[f"{key}={value}" for key, value in {**accounts.learner_environment(self.course), **extra}.items()]]
        return ["runuser", "-u", self.name, "--", "env", "-i", *env, *argv]

    def run(self, argv: list[str], timeout: float = 300, **extra: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(self.command(argv, **extra), cwd="/", capture_output=True, text=True, timeout=timeout,
                              check=False)

    def docker(self, daemon: str, *args: str, timeout: float = 300) -> subprocess.CompletedProcess[str]:
        """Their lab's docker CLI against one of their daemons, with their lab's DOCKER_CONFIG."""
        settings = self.settings
        return self.run([str(settings.bin_dir / "docker"), "-H", f"unix://{settings.socket(daemon)}", *args], timeout,
                        DOCKER_CONFIG=str(settings.docker_config))

    def python(self, code: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
        return self.run([str(self.course.python), "-c", code], timeout)

    def python_args(self, code: str, *args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
        return self.run([str(self.course.python), "-c", code, *args], timeout)

    def labkit(self, *args: str, timeout: float = 300) -> subprocess.CompletedProcess[str]:
        return self.run([str(self.course.python), "-m", "labkit", *args], timeout)

    def verify(self) -> subprocess.Popen[str]:
        """Run every notebook of their copy in place, as them (started; the caller waits)."""
        return subprocess.Popen(self.command([str(self.course.python), "-m", "labkit.nbtools", "verify", str(self.notebooks)]),
                                cwd="/", stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


def learners(found: Course) -> list[ClassLearner]:
    return [ClassLearner(member, found) for member in found.roster()]


def log_in(url: str, name: str, password: str = PASSWORD) -> int:
    """Log in through the hub's form (which then starts the learner's server); the HTTP status of the last page."""
    jar = http.cookiejar.CookieJar()
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))
    page = opener.open(f"{url}/hub/login", timeout=30).read().decode()
    found = re.search(r'name="_xsrf"[^>]*value="([^"]+)"', page)
    assert found, "the hub's login form has no _xsrf field"
    form = urllib.parse.urlencode({"username": name, "password": password, "_xsrf": found.group(1)}).encode()
    with opener.open(f"{url}/hub/login?next=", form, timeout=120) as answer:
        status: int = answer.status
        return status


def status_rows(overrides: dict[str, str] | None = None) -> dict[str, list[str]]:
    """learner -> [server, sandbox, last activity, notebooks verified], from `labkit class status`."""
    listed = labkit_class("status", overrides=overrides)
    assert listed.returncode == 0, listed.stdout + listed.stderr
    rows = [re.split(r"\s{2,}", line.strip()) for line in listed.stdout.splitlines()[2:] if line.strip()]
    return {row[0]: row[1:] for row in rows}
