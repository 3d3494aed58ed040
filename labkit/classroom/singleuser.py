"""What runs as the learner when the hub starts their server: their copy of the notebooks, their sandbox, JupyterLab.

`python -m labkit.classroom.singleuser ARGS` copies every notebook (and the glossary, and a handout the instructor put
there) the learner does not have yet into ~/multiarch-lab (their own edits are kept); caps how many processes their
account may run (RLIMIT_NPROC counts every process and thread of their uid, their rootless containers' included: a
runaway build cannot exhaust the host's process table); starts `labkit up` in the background (their rootless sandbox,
on first use; log in its state folder); then becomes `jupyterhub-singleuser ARGS`.
"""

from __future__ import annotations

import os
import resource
import shutil
import sys
from pathlib import Path

from labkit.system import run

FOLDER = "multiarch-lab"


def copy_notebooks(source: Path, target: Path) -> list[str]:
    """Copy what is missing; returns the names copied."""
    target.mkdir(mode=0o700, exist_ok=True)
    copied = []
    for path in sorted(source.iterdir()):
        if path.suffix in (".ipynb", ".md", ".html") and path.is_file() and not (target / path.name).exists():
            shutil.copyfile(path, target / path.name)
            copied.append(path.name)
    return copied


def limit_processes(limit: int) -> None:
    soft, hard = resource.getrlimit(resource.RLIMIT_NPROC)
    wanted = limit if hard == resource.RLIM_INFINITY else min(limit, hard)
    resource.setrlimit(resource.RLIMIT_NPROC, (wanted, wanted))


def start_sandbox(home: Path) -> None:
    log = home / ".local" / "state" / "multiarch-lab" / "class-up.log"
    log.parent.mkdir(parents=True, exist_ok=True)
    log.write_text("")
    run.start([sys.executable, "-m", "labkit", "up"], log)


def main() -> None:
    home = Path.home()
    copy_notebooks(Path(os.environ["LABKIT_CLASS_NOTEBOOKS"]), home / FOLDER)
    limit_processes(int(os.environ.get("LABKIT_CLASS_NPROC") or 4096))
    start_sandbox(home)
    os.chdir(home / FOLDER)
    os.execv(sys.executable, [sys.executable, "-m", "jupyterhub.singleuser", *sys.argv[1:]])


if __name__ == "__main__":
    main()
