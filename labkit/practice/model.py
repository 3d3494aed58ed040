"""What a question is, what checking an answer gives, and what the learner is told."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

Kind = Literal["choice", "value", "command", "dockerfile"]
KINDS: tuple[Kind, ...] = ("choice", "value", "command", "dockerfile")


@dataclass(frozen=True)
class Proof:
    """Where the lab shows it: a notebook and the cells whose output proves the answer (none for a cited source)."""

    notebook: str  # a notebook file name, or a cited source ("moby/buildkit v0.25.2 docs/build-repro.md")
    cells: tuple[str, ...]  # cell ids whose output proves it, e.g. ("04-05",); () when cited, not shown
    shows: str  # what that output shows, in a few words

    def where(self) -> str:
        """`04_inspect_the_index.ipynb, cell 04-05`: where to look, saying nothing of what is there."""
        if not self.cells:
            return self.notebook
        return f"{self.notebook}, cell{'s' if len(self.cells) > 1 else ''} {' and '.join(self.cells)}"

    def text(self) -> str:
        """`04_inspect_the_index.ipynb, cell 04-05 (the entries of demo:multi)`: where, and what it shows."""
        return f"{self.where()} ({self.shows})"


@dataclass(frozen=True)
class Task:
    """What a command or Dockerfile answer must produce; the checker of its kind reads it.

    `tag` is the tag in the lab's `practice` repository the answer must push; `platforms` the image platforms the
    pushed index must hold, exactly; `attestations` False when it must hold none (None: either way); `sources`
    the single-platform tags the lab pushes first for an answer that assembles an index; `outputs` what each
    platform's image prints when run; `native_stages` True when every RUN step must run on the build's own platform.
    """

    tag: str
    platforms: tuple[str, ...]
    commands: tuple[tuple[str, ...], ...] = (("build",), ("buildx", "build"))
    attestations: bool | None = None
    sources: tuple[tuple[str, str], ...] = ()  # (tag, platform) of each single-platform source
    outputs: tuple[tuple[str, str], ...] = ()  # (platform, what its image prints)
    native_stages: bool = False


@dataclass(frozen=True)
class Question:
    """One question: its text and kind, the right answer's test, and what the learner is told."""

    id: str
    kind: Kind
    text: str
    asked_in: tuple[str, ...]  # the notebooks that ask it ("01", …, "07"); "05"/"06" once those notebooks hold it
    right: str  # why the right answer is right (shown only once right); choice and value: SEALED, in sealed.json
    proof: tuple[Proof, ...]
    hint: str  # shown on every wrong try; never the answer
    key: str = ""  # the answer is the instructor's: instructor/keys.toml (`labkit quiz --key`), never the package's
    options: tuple[str, ...] = ()  # choice: the options, in order (a, b, c, …)
    accept: tuple[str, ...] = ()  # unused in the package: the accepted answers are sealed (seal.py)
    task: Task | None = None  # command and dockerfile: what the answer must produce
    placeholder: str = "..."  # what the learner replaces in the answer cell
    misconceptions: tuple[str, ...] = ()  # unused in the package: what each wrong option stands for is sealed
    case_sensitive: bool = False  # value: an environment variable's or a repository's name keeps its case
    unit: str = ""  # value: a number may carry this word after it ("4 entries")
    reference: bool = False  # value: an image reference, compared as the engine reads it (index.docker.io = docker.io)

    def letters(self) -> tuple[str, ...]:
        """a, b, c, … one per option."""
        return tuple("abcdefgh"[: len(self.options)])

    def full_text(self) -> str:
        """The question with its options, as the terminal quiz and --json give it."""
        lines = [self.text, *(f"  ({letter}) {option}" for letter, option in zip(self.letters(), self.options, strict=True))]
        return "\n".join(lines)


@dataclass(frozen=True)
class Verdict:
    """What checking one answer found: right or not, and why (one line). `usable` False: not a real try."""

    right: bool
    why: str
    usable: bool = True


@dataclass(frozen=True)
class Feedback:
    """What the learner is told about one answer."""

    question: str
    state: Literal["right", "wrong", "unusable", "unanswered", "unknown"]
    lines: tuple[str, ...] = field(default_factory=tuple)
    tries: int = 0

    @property
    def right(self) -> bool:
        """True when the answer was right."""
        return self.state == "right"
