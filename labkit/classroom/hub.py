"""JupyterHub for a class: on 127.0.0.1 only, the local process spawner, a first-use authenticator, idle culling.

The hub runs as root (the local process spawner starts each learner's server as that learner), behind
configurable-http-proxy installed from npm into the class's own folder. Each learner's server is `python -m
labkit.classroom.singleuser` from the class's Python: it copies the notebooks into their home, starts their rootless
sandbox in the background, and becomes JupyterLab. Learners choose their password at their first login
(FirstUseAuthenticator); only the class's learners may log in. jupyterhub-idle-culler stops idle servers, and stopping a
server stops that learner's sandbox (`labkit down`, as them). An instructor puts their own TLS reverse proxy in front.
"""

from __future__ import annotations

import importlib
import importlib.util
import json
import os
import secrets
import shutil
import sys
import sysconfig
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

from labkit.classroom.accounts import learner_environment
from labkit.classroom.course import Course, Member
from labkit.errors import LabError
from labkit.settings import SYSTEM_PATH
from labkit.system import network, processes, run
from labkit.system.files import readable_by_all
from labkit.system.processes import ProcessSpec

PROXY_PACKAGE = "configurable-http-proxy@5.3.0"
REPO = Path(__file__).resolve().parents[2]
IDLE_TIMEOUT_S = int(os.environ.get("LABKIT_CLASS_IDLE_TIMEOUT") or 3600)
PROCESS_LIMIT = int(os.environ.get("LABKIT_CLASS_NPROC") or 4096)


CLASS_MODULES = ("jupyterhub", "jupyterhub_idle_culler", "firstuseauthenticator")


def install_hub() -> bool:
    """JupyterHub and its plugins (the lab's `class` extra), installed into the lab's Python by scripts/setup.sh when
    they are missing; True when it installed them."""
    if all(importlib.util.find_spec(name) is not None for name in CLASS_MODULES):
        return False
    venv = Path(sys.prefix)
    print(f"labkit: installing JupyterHub and its plugins (the `class` extra) into {venv}", file=sys.stderr, flush=True)
    run.check(["sh", str(REPO / "scripts" / "setup.sh"), "class"], "Installing JupyterHub (scripts/setup.sh class)",
              "Check that this machine reaches the Python package index, then run `labkit class up` again.",
              env={**os.environ, "VENV": str(venv), "PYTHON": sys.executable})
    importlib.invalidate_caches()
    return True


def proxy_program(course: Course) -> Path:
    return course.proxy_dir / "node_modules" / ".bin" / "configurable-http-proxy"


def install_proxy(course: Course) -> None:
    """configurable-http-proxy from npm, pinned, into the class's folder (nothing global)."""
    if proxy_program(course).exists():
        return
    npm = shutil.which("npm")
    if npm is None:
        raise LabError("The hub's proxy (configurable-http-proxy) comes from npm, and npm is not installed.",
                       "Install Node.js and npm (apt-get install nodejs npm), then run `labkit class up` again.")
    course.proxy_dir.mkdir(parents=True, exist_ok=True)
    run.check([npm, "install", "--prefix", str(course.proxy_dir), "--no-audit", "--no-fund", "--omit=dev", PROXY_PACKAGE],
              f"Installing {PROXY_PACKAGE} from npm",
              "Check that this machine reaches the npm registry, then run `labkit class up` again.")


def _readable_by_all(path: Path) -> bool:
    return all(os.stat(part).st_mode & 0o005 == 0o005 for part in [*reversed(path.parents), path] if part.exists())


def prepare_shared(course: Course) -> None:
    """What learners run and copy: a Python of their own with the lab's packages, the notebooks, JupyterLab's settings."""
    site = Path(sysconfig.get_paths()["purelib"])
    for needed in (site, REPO / "labkit"):
        if not _readable_by_all(needed):
            raise LabError(f"The learners cannot read {needed}, so their servers could not run the lab.",
                           "Keep the lab's checkout where every user can read it (not under /root), run `make setup` "
                           "there, and run `labkit class up` from it.")
    # Learners cannot write bytecode next to root's packages: compiled once here, or every learner's kernel would
    # compile JupyterLab's, pandas' and the lab's modules from source at each start.
    run.run([sys.executable, "-m", "compileall", "-q", "-j", "0", str(site), str(REPO / "labkit")])
    keys = REPO / "instructor" / "keys.toml"
    if keys.exists():  # the answer key is the instructor's: learners read the checkout, not it
        keys.chmod(0o600)
    course.shared_dir.mkdir(parents=True, exist_ok=True)
    course.folder.chmod(0o755)
    course.shared_dir.chmod(0o755)
    version = f"python{sys.version_info.major}.{sys.version_info.minor}"
    base = Path(f"/usr/bin/{version}")
    if not course.python.exists():
        if not base.is_file():
            raise LabError(f"The learners need a system {version} (the lab's venv uses one under a private folder).",
                           f"Install it: apt-get install {version}.")
        run.check([str(base), "-m", "venv", "--without-pip", str(course.venv)], "Making the learners' Python",
                  f"Check that {base} can make a venv (`{base} -m venv --help`), then run `labkit class up` again.")
    (course.venv / "lib" / version / "site-packages" / "labkit-class.pth").write_text(
        f"import site; site.addsitedir({str(site)!r})\n")
    for part in ("etc", "share"):  # Jupyter's config and data (JupyterLab's extension, its assets) of the lab's venv
        link = course.venv / part
        if not link.is_symlink():
            shutil.rmtree(link, ignore_errors=True)
            link.symlink_to(Path(sys.prefix) / part)
    shutil.rmtree(course.notebooks, ignore_errors=True)
    shutil.copytree(REPO / "notebooks", course.notebooks, ignore=shutil.ignore_patterns(".ipynb_checkpoints", "__pycache__"))
    for path in course.notebooks.glob("*.ipynb"):  # learners start from blank outputs: what they save, they ran
        notebook = json.loads(path.read_text())
        for cell in notebook["cells"]:
            if cell.get("cell_type") == "code":
                cell["outputs"], cell["execution_count"] = [], None
        path.write_text(json.dumps(notebook, indent=1, ensure_ascii=False) + "\n")
    shutil.rmtree(course.jupyter_config, ignore_errors=True)
    shutil.copytree(REPO / "etc" / "jupyter", course.jupyter_config)
    readable_by_all(course.shared_dir)


def _secret(path: Path) -> str:
    if not path.is_file():
        path.write_text(secrets.token_hex(32))
        path.chmod(0o600)
    return path.read_text().strip()


def api_token(course: Course) -> str:
    """The instructor's token for the hub's REST API (root's alone): list learners and their servers, stop a server."""
    return _secret(course.hub_dir / "api-token")


def config(course: Course, members: list[Member]) -> str:
    """jupyterhub_config.py for the class."""
    hub = course.hub_dir
    environment = {**learner_environment(course), "LABKIT_CLASS_NOTEBOOKS": str(course.notebooks),
                   "LABKIT_CLASS_NPROC": str(PROCESS_LIMIT)}
    session = [str(course.python), "-m", "labkit.classroom.singleuser"]
    stop = [str(course.python), "-m", "labkit", "down"]
    roles = [{"name": "labkit-class", "scopes": ["list:users", "read:users", "read:servers", "read:users:activity",
                                                 "delete:servers"],
              "services": ["labkit-class"]},
             {"name": "idle-culler", "scopes": ["list:users", "read:users:activity", "read:servers", "delete:servers"],
              "services": ["idle-culler"]}]
    services = [{"name": "labkit-class", "api_token": api_token(course)},
                {"name": "idle-culler", "command": [sys.executable, "-m", "jupyterhub_idle_culler",
                                                    f"--timeout={IDLE_TIMEOUT_S}", "--cull-every=60"]}]
    return f'''# Written by `labkit class up`; rewritten at every start.
import pwd
import subprocess

c = get_config()  # noqa: F821
c.JupyterHub.bind_url = {course.url!r}
c.JupyterHub.hub_ip = "127.0.0.1"
c.JupyterHub.hub_port = {course.hub_api_port}
c.ConfigurableHTTPProxy.api_url = "http://127.0.0.1:{course.proxy_api_port}"
c.ConfigurableHTTPProxy.command = [{str(proxy_program(course))!r}]
c.ConfigurableHTTPProxy.auth_token = {_secret(hub / "proxy-token")!r}
c.JupyterHub.cookie_secret_file = {str(hub / "cookie-secret")!r}
c.JupyterHub.db_url = "sqlite:///{hub / "jupyterhub.sqlite"}"
c.JupyterHub.pid_file = ""
c.JupyterHub.authenticator_class = "firstuseauthenticator.FirstUseAuthenticator"
c.FirstUseAuthenticator.dbm_path = {str(hub / "passwords.dbm")!r}
c.FirstUseAuthenticator.create_users = False
c.Authenticator.allowed_users = {sorted(member.name for member in members)!r}
c.JupyterHub.spawner_class = "localprocess"
c.Spawner.ip = "127.0.0.1"
c.Spawner.cmd = {session!r}
c.Spawner.environment = {environment!r}
c.Spawner.notebook_dir = "~/multiarch-lab"
c.Spawner.default_url = "/lab/tree/00_start_here.ipynb"
c.Spawner.start_timeout = 300
c.Spawner.http_timeout = 300
c.JupyterHub.load_roles = {roles!r}
c.JupyterHub.services = {services!r}


def stop_sandbox(spawner):
    """A learner's server stopped (culled, stopped by them or by the hub): stop their sandbox, as them."""
    entry = pwd.getpwnam(spawner.user.name)
    env = [f"HOME={{entry.pw_dir}}", f"USER={{entry.pw_name}}", "LANG=C.UTF-8",
           *[f"{{key}}={{value}}" for key, value in {environment!r}.items()]]
    subprocess.Popen(["runuser", "-u", entry.pw_name, "--", "env", "-i", *env, *{stop!r}],
                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)


c.Spawner.post_stop_hook = stop_sandbox
'''


def spec(course: Course) -> ProcessSpec:
    hub = course.hub_dir
    env = (("PATH", f"{Path(sys.executable).parent}:{SYSTEM_PATH}"), ("HOME", str(hub)),
           ("LANG", "C.UTF-8"))
    return ProcessSpec("hub", (sys.executable, "-m", "jupyterhub", "-f", str(hub / "jupyterhub_config.py")),
                       env, hub / "pid", hub / "log")


def up(course: Course, members: list[Member], timeout: float = 120.0) -> None:
    """Write the hub's config and start it (restarting it when the config changed); return once it answers."""
    course.hub_dir.mkdir(parents=True, exist_ok=True)
    course.hub_dir.chmod(0o700)
    text = config(course, members)
    path = course.hub_dir / "jupyterhub_config.py"
    service = spec(course)
    if not (path.is_file() and path.read_text() == text):
        processes.stop(service)
        path.write_text(text)
        path.chmod(0o600)
    if processes.owned_pid(service) is None:
        for port in (course.hub_port, course.proxy_api_port, course.hub_api_port):
            if not network.port_is_free("127.0.0.1", port):
                raise LabError(f"Port {port} on 127.0.0.1 is taken, so the class's hub cannot start.",
                               "Set LABKIT_CLASS_PORT so that it and the next three ports are free.")
        processes.start(service)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if users(course) is not None:
            return
        if processes.owned_pid(service) is None:
            raise LabError(f"JupyterHub stopped while starting:\n{processes.log_tail(service, 12)}",
                           f"Read {service.log_file}, then run `labkit class up` again.")
        time.sleep(0.2)
    raise LabError(f"JupyterHub did not answer within {timeout:.0f} s.", f"Read {service.log_file}.")


def down(course: Course) -> bool:
    return processes.stop(spec(course), timeout=60)


def users(course: Course) -> list[dict[str, Any]] | None:
    """The hub's users (its REST API), None when the hub does not answer."""
    if not (course.hub_dir / "api-token").is_file():
        return None
    request = urllib.request.Request(f"{course.url}/hub/api/users",
                                     headers={"Authorization": f"token {api_token(course)}"})
    try:
        with urllib.request.urlopen(request, timeout=5) as answer:
            found: list[dict[str, Any]] = json.loads(answer.read())
            return found
    except (urllib.error.URLError, OSError, ValueError):
        return None
