"""Plain-text tables and check lines for the terminal."""

from __future__ import annotations

from collections.abc import Sequence

from labkit.errors import LabError
from labkit.oci.index import IndexReport
from labkit.results import (
    BuilderPath,
    BuilderTrap,
    Check,
    CommandResult,
    Facts,
    NotebookPrediction,
    PlatformEmulation,
    PlatformPrediction,
    Prediction,
    ServiceStatus,
    Versions,
)
from labkit.versions import ENGINE_BUILDKIT_SOURCE


def table(headers: Sequence[str], rows: Sequence[Sequence[object]]) -> str:
    """A left-aligned text table with a header rule."""
    cells = [[str(h) for h in headers]] + [["" if v is None else str(v) for v in row] for row in rows]
    widths = [max(len(row[i]) for row in cells) for i in range(len(headers))]
    lines = ["  ".join(value.ljust(width) for value, width in zip(row, widths, strict=True)).rstrip() for row in cells]
    lines.insert(1, "  ".join("-" * width for width in widths))
    return "\n".join(lines)


def state_text(row: ServiceStatus) -> str:
    """A service's state, with its detail in parentheses: `pushed (8 platforms)`."""
    return f"{row.state} ({row.detail})" if row.detail else row.state


def check_lines(checks: Sequence[Check]) -> str:
    """One `[OK]` or `[FAIL] … — try …` line per check."""
    return "\n".join(check_line(check.ok, check.what, check.next_step) for check in checks)


def prediction_line(found: Prediction) -> str:
    """The doctor's prediction for one step, said before the step runs."""
    return f"The doctor's prediction for step {found.label!r}: it {found.outcome} here, because {found.why}."


def emulation_text(found: PlatformEmulation) -> str:
    """Whether the builder lists a platform, and the binfmt_misc entry (and its F flag) behind it."""
    def said(flag: bool) -> str:
        return "yes" if flag else "no"
    return (f"{found.platform} listed by the {found.builder} builder: {said(found.listed)}\n"
            f"{found.emulator} in binfmt_misc: {said(found.registered)}, F (fix binary) flag: {said(found.fix_binary)}")


def check_line(ok: bool, what: str, next_step: str = "") -> str:
    """`[OK] what` or `[FAIL] what — try next_step`."""
    if ok:
        return f"[OK] {what}"
    return f"[FAIL] {what} — try {next_step}" if next_step else f"[FAIL] {what}"


def command_text(context: str, command: str, output: str = "", exit_code: int | None = None) -> str:
    """A command as the learner would type it against a context, then what it printed."""
    lines = [f"[{context}] $ {command}"]
    if exit_code is not None:
        lines.append(f"exit code {exit_code}")
    if output:
        lines.append(output.rstrip("\n"))
    return "\n".join(lines)


def index_summary(report: IndexReport) -> str:
    """The article's "simplified" `imagetools inspect` view: name, media type, one platform per manifest."""
    platform_of = {entry.manifest.digest: entry.platform for entry in report.entries}
    lines = [f"Name: {report.image_ref}", f"MediaType: {report.media_type}", "Manifests:"]
    for entry in report.entries:
        note = f"  (attestation for {platform_of.get(entry.describes, '?')})" if entry.kind == "attestation" else ""
        lines.append(f"  - {entry.platform}{note}")
    return "\n".join(lines)


def digest_proof(report: IndexReport) -> str:
    """The index digest recomputed from the bytes the registry served."""
    return "\n".join([
        f"bytes served by the registry:  {len(report.raw)}",
        f"sha256 of those bytes:         {report.computed_digest}",
        f"digest the registry gives it:  {report.served_digest}",
        f"equal: {report.computed_digest == report.served_digest}",
    ])


def _first(names: Sequence[str], shown: int = 3) -> str:
    if not names:
        return "none"
    more = f" and {len(names) - shown} more" if len(names) > shown else ""
    return ", ".join(names[:shown]) + more


def doctor_report(facts: Facts, predictions: Sequence[Prediction], notebooks: Sequence[NotebookPrediction] = (),
                  platforms: Sequence[PlatformPrediction] = ()) -> str:
    """The doctor's facts, then one prediction per step."""
    build, multi = facts.build_engine, facts.multiarch_engine
    current = facts.current_builder
    lines = [
        f"mode:                  {facts.mode}",
        f"docker CLI:            {build.cli_version or 'missing'}",
        f"buildx:                {build.buildx_version or 'missing'}",
        f"engine (step 2):       {build.engine_version or 'not answering'}, {build.image_store} image store",
        f"engine (step 3):       {multi.engine_version or 'not answering'}, {multi.image_store} image store",
        f"current builder:       {current.name + ' (' + current.driver + ' driver)' if current else '-'}",
        "builders:              " + (", ".join(f"{b.name} ({b.driver or b.status})" for b in facts.builders) or "-"),
        f"QEMU emulators:        {_first(facts.qemu)}",
        f"registry port {facts.registry_port}:    {'free' if facts.registry_port_free else 'in use'}",
        f"moby/buildkit image:   {'loaded' if facts.buildkit_image_present else 'not loaded'}",
        f"Docker Hub:            {'reachable' if facts.docker_hub_reachable else 'unreachable'}",
        "sandbox packages:      " + (", ".join(sorted({f"{p.package} {p.version}" for p in facts.packages})) or "none fetched"),
        "",
        table(("step", "prediction", "why"), [(p.label, p.outcome, p.why) for p in predictions]),
    ]
    if notebooks:
        rows = [(n.notebook, n.outcome, n.needs, n.why) for n in notebooks]
        lines += ["", table(("notebook", "runs to its check", "needs", "why"), rows)]
    if platforms:
        by_platform = [(p.platform, p.runs_by, p.outcome, p.why) for p in platforms]
        lines += ["", "notebook 05, the platforms this machine does not run itself:",
                  table(("platform", "emulator", "its variant runs", "why"), by_platform)]
    return "\n".join(lines)


BUILDER_PATHS: dict[BuilderPath, str] = {
    "own": "the engine's default builder",
    "created": "the experiment's docker-container builder",
    "fallback": "the engine's default builder (fallback)",
    "none": "none",
}


def builder_path_text(path: BuilderPath) -> str:
    """How step 3's choice of builder reads in a sentence."""
    return BUILDER_PATHS[path]


def cell_error_lines(ename: str, evalue: str) -> list[str]:
    """What a learner sees for a failed cell: a LabError's `labkit: …` and `  try: …` lines, else `Name: message`."""
    if ename == LabError.__name__:
        return f"labkit: {evalue}".splitlines()
    return [f"{ename}: {evalue}" if evalue else ename]


def versions_text(versions: Versions) -> str:
    """The versions the claims depend on, each as the tool itself reports it."""
    vendored = (f"{versions.buildkit_vendored} (from {ENGINE_BUILDKIT_SOURCE})" if versions.buildkit_vendored
                else "not in the lab's table: look it up in moby's module file for this engine's tag")
    return "\n".join([
        f"docker CLI:                          {versions.cli}",
        f"Docker Engine:                       {versions.engine}",
        f"buildx:                              {versions.buildx}",
        f"BuildKit, as `docker buildx ls` says: {versions.buildkit_reported or '-'}",
        f"BuildKit this engine release vendors: {vendored}",
    ])


def chosen_builder(result: CommandResult) -> str:
    """What a plain-progress build's output says of the builder: its `#0 building with …` line, or that it had none."""
    line = result.builder_line
    if line:
        return line
    refusal = next((text for text in result.stderr.splitlines() if text.startswith("ERROR")), "no error line")
    return f"(no `#0 building with` line: refused before the build reached BuildKit) {refusal}"


def trap_text(trap: BuilderTrap) -> str:
    """The trap, command by command: which builder each build used."""
    lines = []
    for result in (trap.create, trap.docker_build, trap.buildx_build, trap.env_build, trap.remove):
        lines.append(f"[{result.context}] $ {result.command}")
        if result in (trap.create, trap.remove):
            lines.append(f"exit code {result.return_code}")
        else:
            lines.append(f"  -> {chosen_builder(result)}")
    return "\n".join(lines)
