"""What the notebooks' face says in its own words: the lab opening, a step run because a notebook ran first, a claim
verified, a command shown, an error as the learner sees it. `labkit.lab` prints these; it builds no text itself."""

from __future__ import annotations

from collections.abc import Sequence

from labkit.errors import LabError
from labkit.results import CommandResult, PushResult, VariantRun
from labkit.views import text
from labkit.views.variants import missing_emulators


def opening(title: str, already_up: bool, first_start: str = "", background: str = "") -> str:
    """Which engine the lab runs on, and whether it was up or is being started (what the first start costs, and
    what a background start by `make lab` is doing)."""
    if already_up:
        return f"The lab runs on {title}; it was already up."
    first = f" ({first_start})" if first_start else ""
    return f"The lab runs on {title}; starting it{first} ...\n{background}"


def background_start(status: Sequence[str], log: str) -> str:
    """What `make lab`'s background `labkit up` is doing, from its status file's words ('' when nothing)."""
    if status[:1] == ["running"]:
        return f"`make lab` is starting it in the background (log: {log}): waiting for that to finish.\n"
    if status[:1] == ["failed"]:
        return f"`make lab` could not start it in the background (see {log}); trying again here.\n"
    return ""


UP = "It is up."


def dockerfile_line(written: bool) -> str:
    """Step 1 in place, or written now because a later notebook ran first."""
    return ("The Dockerfile was missing: wrote it (step 1, notebook 01)." if written
            else "The Dockerfile from step 1 is in place.")


def pushed_line(ref: str, pushed: PushResult | None) -> str:
    """Step 3's image in the registry, or built and pushed now because a later notebook ran first."""
    if pushed is None:
        return f"{ref} is in the registry (pushed by step 3)."
    return f"{pushed.image_ref} was not in the registry: built and pushed it (step 3, notebook 03)."


def classic_store_text(refused: bool) -> str:
    """After step 2: the failure the experiment describes, or why this engine built it and where it fails."""
    if refused:
        return "This engine refused the build: the failure above is the one the experiment describes."
    return ("The build succeeded here: this engine's builder can build several platforms (see the prediction above).\n"
            "To see the failure, run the lab's sandbox (`sudo labkit up`, Linux), its container image, or an engine that "
            "uses the classic image store, and run this notebook there.")


def result_text(result: CommandResult, output: str | None = None) -> str:
    """A command as typed against its context, its exit code, and its (or the given) output."""
    printed = result.stdout + result.stderr if output is None else output
    return text.command_text(result.context, result.command, printed, result.return_code)


def lines(said: Sequence[str]) -> str:
    """Lines of feedback, one under the other."""
    return "\n".join(said)


def verified(what: str) -> str:
    return f"[OK] Verified: {what}"


def not_verified(what: str) -> str:
    return f"Not verified: {what}. Rerun the notebook from the top; if it still fails, run `labkit status`."


def mermaid(source: str) -> dict[str, str]:
    """A Mermaid diagram as JupyterLab renders it (plain text elsewhere); nbval compares the source."""
    return {"text/markdown": f"```mermaid\n{source}\n```", "text/plain": source}


def variants_refused(runs: Sequence[VariantRun]) -> LabError | None:
    """Not every variant ran for want of an emulator: the error naming each one and what adds it (None otherwise)."""
    missing = missing_emulators(runs)
    if not missing:
        return None
    fix = next(run.fix for run in runs if run.missing)
    return LabError(f"Not every variant ran: {missing}.", f"Add them with {fix}, then run this notebook again.")
