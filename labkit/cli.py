"""The `labkit` command: start, stop and inspect the lab's engine; predict what the experiment will do."""

from __future__ import annotations

import argparse
import json
import shlex
import sys
from collections.abc import Sequence
from pathlib import Path

from labkit.engine import doctor, modes
from labkit.errors import LabError
from labkit.provision import packages
from labkit.settings import Settings
from labkit.views.text import doctor_report, table


def _status_table(settings: Settings) -> str:
    return table(("service", "state", "pid", "address"), [(r.service, r.state, r.pid, r.address) for r in modes.status(settings)])


def _up(settings: Settings, args: argparse.Namespace) -> int:
    modes.up(settings, args.buildkit_tar)
    print(_status_table(settings))
    return 0


def _down(settings: Settings, _: argparse.Namespace) -> int:
    stopped = modes.down(settings)
    print(f"stopped: {', '.join(stopped)}" if stopped else "nothing of the lab was running")
    return 0


def _status(settings: Settings, _: argparse.Namespace) -> int:
    rows = modes.status(settings)
    print(f"mode: {settings.mode}")
    print(table(("service", "state", "pid", "address", "log"), [(r.service, r.state, r.pid, r.address, r.log) for r in rows]))
    return 0 if modes.is_up(settings) else 3


def _env(settings: Settings, args: argparse.Namespace) -> int:
    print("unset DOCKER_HOST")
    for name, value in modes.environment(settings, args.daemon).items():
        print(f"export {name}={shlex.quote(value)}")
    return 0


def _fetch(settings: Settings, _: argparse.Namespace) -> int:
    record = packages.fetch(settings)
    packages.unpack(settings, record)
    print(table(("package", "version", "arch", "suite", "sha256"), [(p.package, p.version, p.arch, p.suite, p.sha256) for p in record]))
    return 0


def _doctor(settings: Settings, args: argparse.Namespace) -> int:
    endpoints = modes.prepare(settings)
    facts = doctor.gather(settings, endpoints)
    predictions = doctor.predict(facts)
    if args.json:
        print(json.dumps(doctor.as_json(facts, predictions), indent=2))
        return 0
    print(doctor_report(facts, predictions))
    return 0


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="labkit", description="The multi-arch myth lab: its engine and its steps.")
    commands = parser.add_subparsers(dest="command", required=True)
    up = commands.add_parser("up", help="provision and start the lab's engine (idempotent)")
    up.add_argument("--buildkit-tar", type=Path, help="host mode: load moby/buildkit from a `docker save` archive")
    up.set_defaults(run=_up)
    commands.add_parser("down", help="stop or remove what the lab started").set_defaults(run=_down)
    commands.add_parser("status", help="show every service of the lab").set_defaults(run=_status)
    env = commands.add_parser("env", help="print export lines for a shell: eval \"$(labkit env classic)\"")
    env.add_argument("daemon", choices=("classic", "multiarch"))
    env.set_defaults(run=_env)
    commands.add_parser("fetch", help="download and unpack the packages; print what was fetched").set_defaults(run=_fetch)
    doc = commands.add_parser("doctor", help="what your Docker is, and what each step will do on it")
    doc.add_argument("--json", action="store_true", help="facts and predictions as JSON")
    doc.set_defaults(run=_doctor)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the `labkit` command."""
    args = _parser().parse_args(argv)
    try:
        return int(args.run(Settings.from_env(), args))
    except LabError as error:
        print(f"labkit: {error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("labkit: interrupted; nothing was lost. Run the same command again to finish.", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
