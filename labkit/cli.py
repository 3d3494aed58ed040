"""The `labkit` command: start, stop and inspect the lab's engine; predict what the experiment will do."""

from __future__ import annotations

import argparse
import json
import shlex
import sys
from collections.abc import Sequence
from pathlib import Path

from labkit import engines
from labkit.classroom import helm, manage
from labkit.classroom.course import Course
from labkit.diagnostics import doctor
from labkit.engines import Engine
from labkit.errors import LabError
from labkit.practice import challenge, quiz, tries
from labkit.provision import packages, prereqs
from labkit.settings import Settings
from labkit.steps import dockerfile
from labkit.system.machine import euid, user_name
from labkit.views.text import check_line, doctor_report, state_text, table


def _status_table(engine: Engine) -> str:
    return table(("service", "state", "pid", "address"), [(r.service, state_text(r), r.pid, r.address) for r in engine.status()])


def _up(engine: Engine, args: argparse.Namespace) -> int:
    engine.up(args.buildkit_tar)
    print(_status_table(engine))
    return 0


def _down(engine: Engine, _: argparse.Namespace) -> int:
    stopped = engine.down()
    print(f"stopped: {', '.join(stopped)}" if stopped else "nothing of the lab was running")
    return 0


def _status(engine: Engine, _: argparse.Namespace) -> int:
    rows = engine.status()
    print(f"mode: {engine.mode}")
    print(table(("service", "state", "pid", "address", "log"), [(r.service, state_text(r), r.pid, r.address, r.log) for r in rows]))
    return 0 if all(row.ready for row in rows) else 3


def _env(engine: Engine, args: argparse.Namespace) -> int:
    print("unset DOCKER_HOST")
    variables = engine.shell_environment(args.daemon)
    if args.daemon == "multiarch":  # the shell for the challenge: its registry, its repository, step 1's folder
        variables |= _challenge_shell(engine)
    for name, value in variables.items():
        print(f"export {name}={shlex.quote(value)}")
    return 0


def _fetch(engine: Engine, _: argparse.Namespace) -> int:
    record = packages.fetch(engine.settings)
    packages.unpack(engine.settings, record)
    print(table(("package", "version", "arch", "suite", "sha256"), [(p.package, p.version, p.arch, p.suite, p.sha256) for p in record]))
    return 0


def _doctor(engine: Engine, args: argparse.Namespace) -> int:
    facts = engine.facts(engine.prepare())
    predictions = doctor.predict(facts)
    rootless = prereqs.checks(engine.settings, user_name(euid()), euid()) if prereqs.applies() else []
    if args.json:
        report = doctor.as_json(facts, predictions)
        if prereqs.applies():
            report["rootless_prerequisites"] = [{"ok": c.ok, "what": c.what, "next_step": c.next_step} for c in rootless]
            report["rootless_notes"] = prereqs.notes()
        print(json.dumps(report, indent=2))
        return 0
    print(doctor_report(facts, predictions, doctor.predict_notebooks(facts, predictions), doctor.predict_platforms(facts)))
    if prereqs.applies():  # as a user on Linux: what the rootless sandbox needs, whichever mode runs now
        print("\nThe rootless sandbox (the lab's own engine, as your user) needs:")
        print("\n".join(check_line(c.ok, c.what, c.next_step) for c in rootless))
        print("".join(f"note: {note}\n" for note in prereqs.notes()), end="")
    return 0


def _prepare_host(engine: Engine, args: argparse.Namespace) -> int:
    changes = prereqs.prepare_host(args.user, args.group, args.for_tests, engine.settings)
    print("\n".join(f"changed: {line}" for line in changes) if changes else "nothing to change: the machine was ready")
    return 0


def _challenge_shell(engine: Engine) -> dict[str, str]:
    dockerfile.write(engine.settings.work_dir)
    print("\n".join(challenge.task_lines()), file=sys.stderr)
    return challenge.shell_variables(engine.prepare().registry, engine.settings.work_dir)


def _practice_session(engine: Engine) -> tries.Session:
    def workspace() -> tries.Workspace:
        if not engine.is_up():
            raise LabError("This answer runs on the lab's engine, which is not up.", "`labkit up`, then answer again.")
        dockerfile.write(engine.settings.work_dir)
        return tries.Workspace(engine.endpoints(), engine.settings.work_dir)
    return tries.Session(workspace)


def _quiz(engine: Engine, args: argparse.Namespace) -> int:
    if args.json:
        print(quiz.as_json())
        return 0
    if args.key:
        print(quiz.key_markdown())
        return 0
    practice = _practice_session(engine)
    if not args.answer:
        return quiz.interactive(practice)
    feedback, malformed = quiz.check_answers(practice, args.answer)
    for pair in malformed:
        print(f"[?] {pair!r}: give answers as ID=VALUE (`labkit quiz --json` lists the ids)")
    for item in feedback:
        print("\n".join(item.lines))
    return 0 if feedback and not malformed and all(item.right for item in feedback) else 1


def _check(engine: Engine, args: argparse.Namespace) -> int:
    if not engine.is_up():
        raise LabError("The lab's registry is not running, so there is nothing to check.", "`labkit up`, then do the challenge.")
    steps = challenge.check_challenge(engine.endpoints().registry)
    print(f"challenge: {challenge.TITLE}")
    for step in steps:
        print(f"[OK] {step.what}" if step.done else f"[MISSING] {step.what}\n          next: {step.next_step}")
    missing = [step for step in steps if not step.done]
    print(f"{len(steps) - len(missing)} of {len(steps)} done" + (": complete." if not missing else "; still missing above."))
    return 1 if missing else 0


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="labkit", description="The multi-arch myth lab: its engine and its steps.")
    commands = parser.add_subparsers(dest="command", required=True)
    up = commands.add_parser("up", help="provision and start the lab's engine (idempotent)")
    up.add_argument("--buildkit-tar", type=Path, help="host mode: load moby/buildkit from a `docker save` archive")
    up.set_defaults(run=_up)
    commands.add_parser("down", help="stop or remove what the lab started").set_defaults(run=_down)
    commands.add_parser("status", help="show every service of the lab").set_defaults(run=_status)
    env = commands.add_parser("env", help="print export lines for a shell: eval \"$(labkit env classic)\"")
    env.add_argument("daemon", choices=engines.DAEMONS)
    env.set_defaults(run=_env)
    commands.add_parser("fetch", help="download and unpack the packages; print what was fetched").set_defaults(run=_fetch)
    doc = commands.add_parser("doctor", help="what your Docker is, and what each step will do on it")
    doc.add_argument("--json", action="store_true", help="facts and predictions as JSON")
    doc.set_defaults(run=_doctor)
    prep = commands.add_parser("prepare-host", help="as root, once per machine: what the rootless sandbox needs")
    prep.add_argument("--user", action="append", default=[], metavar="NAME", help="give NAME subordinate ids (repeatable)")
    prep.add_argument("--group", action="append", default=[], metavar="NAME", help="the same for every member of NAME")
    prep.add_argument("--for-tests", action="store_true", help="also install what `make test` needs (chromium)")
    prep.set_defaults(run=_prepare_host)
    practice = commands.add_parser("quiz", help="the lab's questions, one at a time; --json lists them; --answer checks")
    practice.add_argument("--json", action="store_true", help='print {"questions": [{"id", "kind", "text"}, ...]}')
    practice.add_argument("--answer", nargs="+", metavar="ID=VALUE", help="check these answers (VALUE @FILE: read a file)")
    practice.add_argument("--key", action="store_true", help="for instructors: every answer, why, and its proof")
    practice.set_defaults(run=_quiz)
    check = commands.add_parser("check", help="check a task against the lab's final state: labkit check challenge")
    check.add_argument("what", choices=("challenge",))
    check.set_defaults(run=_check)
    _class_commands(commands)
    return parser


# --- labkit class: a class on one host (labkit/classroom) -------------------------------------------------------------
def _class_up(engine: Engine, args: argparse.Namespace) -> int:
    course = Course.from_env()
    roster = manage.up(engine.settings, course, args.learners, args.group or "")
    print(f"the hub answers on {course.url} (put your TLS reverse proxy in front); {len(roster)} learners: "
          f"{', '.join(member.name for member in roster)}; each chooses a password at first login")
    return 0


def _class_status(_: Engine, __: argparse.Namespace) -> int:
    rows = manage.status(Course.from_env())
    print(table(("learner", "server", "sandbox", "last activity", "notebooks verified"),
                [(r.learner, r.server, r.sandbox, r.last_activity, r.verified) for r in rows]))
    return 0


def _class_down(engine: Engine, args: argparse.Namespace) -> int:
    done = manage.down(engine.settings, Course.from_env(), args.purge)
    print("\n".join(done) if done else "nothing of the class was running")
    return 0


def _class_helm_values(_: Engine, args: argparse.Namespace) -> int:
    text = helm.values_yaml(helm.values(args.image))
    if args.output:
        args.output.write_text(text)
    else:
        print(text, end="")
    return 0


def _class_commands(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    group = commands.add_parser("class", help="a class on one host: accounts, JupyterHub, a rootless sandbox each")
    actions = group.add_subparsers(dest="action", required=True)
    up = actions.add_parser("up", help="as root: learner accounts, prepare-host, the base-image cache, the hub")
    who = up.add_mutually_exclusive_group(required=True)
    who.add_argument("--learners", type=int, default=0, metavar="N", help="create accounts PREFIX1..PREFIXN")
    who.add_argument("--group", metavar="NAME", help="the members of an existing group")
    up.set_defaults(run=_class_up)
    actions.add_parser("status", help="a row per learner: server, sandbox, last activity, notebooks verified"
                       ).set_defaults(run=_class_status)
    down = actions.add_parser("down", help="stop everything the class started (learners' work is kept)")
    down.add_argument("--purge", action="store_true", help="also remove the accounts the class created, and its folders")
    down.set_defaults(run=_class_down)
    values = actions.add_parser("helm-values", help="Zero to JupyterHub chart values for this lab on Kubernetes")
    values.add_argument("--image", default=helm.DEFAULT_IMAGE, help="the single-user image (the lab, built for the class)")
    values.add_argument("--output", type=Path, help="write to this file instead of printing")
    values.set_defaults(run=_class_helm_values)


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the `labkit` command."""
    args = _parser().parse_args(argv)
    try:
        return int(args.run(engines.choose(Settings.from_env()), args))
    except LabError as error:
        print(f"labkit: {error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("labkit: interrupted; nothing was lost. Run the same command again to finish.", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
