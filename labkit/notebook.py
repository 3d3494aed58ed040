"""What the notebooks call: open the lab, show results, prepare what a later notebook needs."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from IPython import get_ipython
from IPython.display import Markdown, display

from labkit.engine import checks, doctor, modes
from labkit.engine.commands import CommandResult
from labkit.engine.endpoints import Endpoints
from labkit.errors import LabError
from labkit.oci.registry import Registry
from labkit.settings import Settings, default_mode
from labkit.steps import default_build, dockerfile, multiarch_build
from labkit.steps.default_build import BuildAttempt
from labkit.views.text import check_line, command_text


@dataclass(frozen=True)
class Lab:
    """The lab's engine (the sandbox, or your Docker in host mode) as a notebook uses it."""

    settings: Settings
    endpoints: Endpoints

    @property
    def workdir(self) -> Path:
        """The working folder that holds the Dockerfile (outside the repository)."""
        return self.settings.work_dir


def error_lines(ename: str, evalue: str) -> list[str]:
    """What a learner sees for a failed cell: a LabError's `labkit: …` and `  try: …` lines, else `Name: message`."""
    if ename == LabError.__name__:
        return f"labkit: {evalue}".splitlines()
    return [f"{ename}: {evalue}" if evalue else ename]


def _show_lab_error(shell: Any, etype: type, value: BaseException, tb: Any, tb_offset: int | None = None) -> list[str]:
    """Show a LabError as its message and next step, not as a traceback, and still fail the cell.

    IPython shows nothing itself for an exception handed to a custom handler. `_showtraceback` is what makes
    ipykernel publish an `error` output (which nbval, nbclient and `make run` fail on, marker or not), here with
    the friendly lines as its whole traceback, so JupyterLab shows them and no Python frames.
    """
    lines = error_lines(LabError.__name__, str(value))
    shell._showtraceback(etype, value, lines)
    return lines


def open_lab() -> Lab:
    """The lab's engine, started first when it is not up (and says so)."""
    shell = get_ipython()
    if shell is not None:
        shell.set_custom_exc((LabError,), _show_lab_error)
    settings = Settings.from_env()
    where = "the sandbox" if settings.mode == "sandbox" else "host mode (your Docker engine)"
    if modes.is_up(settings):
        print(f"The lab runs on {where}; it was already up.")
        endpoints = modes.endpoints(settings)
    else:
        first = " (the first time this downloads about 85 MB)" if settings.mode == "sandbox" else ""
        print(f"The lab runs on {where}; starting it{first} ...")
        endpoints = modes.up(settings)
        print("It is up.")
    return Lab(settings, endpoints)


def environment_check(lab: Lab) -> bool:
    """Print one [OK]/[FAIL] line per check; True when all pass."""
    results = checks.environment(lab.settings)
    for check in results:
        print(check_line(check.ok, check.what, check.next_step))
    return all(check.ok for check in results)


def verify(condition: bool, what: str) -> None:
    """The check cell's assertion: raise when the step's outcome is not what the text claims, else say what was verified."""
    if not condition:
        raise AssertionError(f"Not verified: {what}. Rerun the notebook from the top; if it still fails, run `labkit status`.")
    print(f"[OK] Verified: {what}")


def predictions(lab: Lab) -> list[doctor.Prediction]:
    """The doctor's prediction for each step on this lab's engine."""
    return doctor.predict(doctor.gather(lab.settings, lab.endpoints))


def say_prediction(lab: Lab, step: str) -> doctor.Prediction:
    """Print the doctor's prediction for one step (by its number) before the step runs."""
    found = next(p for p in predictions(lab) if p.step.startswith(step))
    print(f"The doctor's prediction for step {found.step!r}: it {found.outcome} here, because {found.why}.")
    return found


def failure_on_classic_store(lab: Lab, attempt: BuildAttempt) -> None:
    """When step 2 succeeded on this engine, run it where the classic image store still refuses it: the sandbox."""
    if not attempt.result.succeeded:
        print("This engine refused the build: the failure above is the one the experiment describes.")
        return
    print("The build succeeded here: this engine's builder can build several platforms (see the prediction above).")
    if default_mode() != "sandbox":
        print("To see the failure, run the lab's sandbox (Linux, as root) or an engine that uses the classic image store.")
        return
    print("The same build on the sandbox's classic daemon (classic image store):")
    sandbox_settings = Settings.from_env({**{k: v for k, v in os.environ.items() if not k.startswith("LABKIT_")},
                                          "LABKIT_MODE": "sandbox"})
    endpoints = modes.up(sandbox_settings)
    dockerfile.write(sandbox_settings.work_dir)
    classic = default_build.build(endpoints, sandbox_settings.work_dir)
    show(classic.result, "\n".join(classic.error))


def show(result: CommandResult, output: str | None = None) -> None:
    """Print a command as typed against its context, its exit code, and its (or the given) output."""
    text = result.stdout + result.stderr if output is None else output
    print(command_text(result.context, result.command, text, result.return_code))


def show_mermaid(source: str) -> None:
    """Render a Mermaid diagram in JupyterLab (plain text elsewhere); nbval compares the source."""
    display({"text/markdown": f"```mermaid\n{source}\n```", "text/plain": source}, raw=True)


def show_markdown(text: str) -> None:
    """Render Markdown."""
    display(Markdown(text))


def ensure_dockerfile(lab: Lab) -> None:
    """Step 1, when a later notebook runs first."""
    if not (lab.workdir / "Dockerfile").is_file():
        dockerfile.write(lab.workdir)
        print("The Dockerfile was missing: wrote it (step 1, notebook 01).")
    else:
        print("The Dockerfile from step 1 is in place.")


def ensure_pushed(lab: Lab) -> None:
    """Steps 1 and 3, when notebook 04 runs first: build and push demo:multi if the registry lacks it."""
    ensure_dockerfile(lab)
    served = Registry(lab.endpoints.registry).get_manifest(multiarch_build.REPOSITORY, multiarch_build.TAG)
    if served is None:
        pushed = multiarch_build.build_and_push(lab.endpoints, lab.workdir)
        print(f"{pushed.image_ref} was not in the registry: built and pushed it (step 3, notebook 03).")
    else:
        print(f"{multiarch_build.image_ref(lab.endpoints)} is in the registry (pushed by step 3).")
