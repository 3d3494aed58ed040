"""The `labkit` command: start, stop and inspect the sandbox."""

from __future__ import annotations

import argparse
import shlex
import sys
from collections.abc import Sequence

from labkit.engine import sandbox
from labkit.errors import LabError
from labkit.provision import packages
from labkit.settings import Settings
from labkit.views.text import table


def _up(settings: Settings, _: argparse.Namespace) -> int:
    sandbox.up(settings)
    print(table(("service", "state", "pid", "address"), [(r.service, r.state, r.pid, r.address) for r in sandbox.status(settings)]))
    return 0


def _down(settings: Settings, _: argparse.Namespace) -> int:
    stopped = sandbox.down(settings)
    print(f"stopped: {', '.join(stopped)}" if stopped else "nothing of the lab was running")
    return 0


def _status(settings: Settings, _: argparse.Namespace) -> int:
    rows = sandbox.status(settings)
    print(table(("service", "state", "pid", "address", "log"), [(r.service, r.state, r.pid, r.address, r.log) for r in rows]))
    return 0 if sandbox.is_up(settings) else 3


def _env(settings: Settings, args: argparse.Namespace) -> int:
    print("unset DOCKER_HOST")
    for name, value in sandbox.environment(settings, args.daemon).items():
        print(f"export {name}={shlex.quote(value)}")
    return 0


def _fetch(settings: Settings, _: argparse.Namespace) -> int:
    record = packages.fetch(settings)
    packages.unpack(settings, record)
    print(table(("package", "version", "arch", "suite", "sha256"), [(p.package, p.version, p.arch, p.suite, p.sha256) for p in record]))
    return 0


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="labkit", description="The multi-arch myth lab: its sandbox and its steps.")
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("up", help="provision and start the sandbox (idempotent)").set_defaults(run=_up)
    commands.add_parser("down", help="stop what the lab started").set_defaults(run=_down)
    commands.add_parser("status", help="show every service of the sandbox").set_defaults(run=_status)
    env = commands.add_parser("env", help="print export lines for a shell: eval \"$(labkit env classic)\"")
    env.add_argument("daemon", choices=tuple(sandbox.DAEMONS))
    env.set_defaults(run=_env)
    commands.add_parser("fetch", help="download and unpack the packages; print what was fetched").set_defaults(run=_fetch)
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
