"""Benchmark steps 2-4 through labkit against the same raw `docker` commands, then a warm `make run`.

Both sides run against the running sandbox, interleaved, ROUNDS times; medians are compared.
The last line is machine-readable:
    ratio_labkit_vs_cli=… run_warm_s=…
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

from labkit import engines
from labkit.experiment import REPOSITORY, TAG
from labkit.settings import Settings
from labkit.steps import default_build, dockerfile, inspect_index, multiarch_build

ROUNDS = int(os.environ.get("ROUNDS", "7"))
REPO = Path(__file__).resolve().parent.parent


def _timed(action: Callable[[], object]) -> float:
    started = time.perf_counter()
    action()
    return time.perf_counter() - started


def main() -> None:
    settings = Settings.from_env()
    endpoints = engines.choose(settings).up()
    workdir = dockerfile.write(settings.work_dir).workdir
    ref = multiarch_build.image_ref(endpoints)
    env = {**os.environ, "DOCKER_CONFIG": str(settings.docker_config), "BUILDKIT_PROGRESS": "quiet"}
    docker = str(endpoints.docker_cli)

    def cli(context: str, *args: str, expect: int = 0) -> None:
        result = subprocess.run([docker, "--context", context, *args], env=env, cwd=workdir, capture_output=True, check=False)
        if result.returncode != expect:
            sys.exit(f"docker {' '.join(args)} exited {result.returncode}: {result.stderr.decode()[-300:]}")

    def raw_steps() -> None:
        cli("classic", "build", "--platform", "linux/amd64,linux/arm64", "-t", "demo:multi", ".", expect=1)
        cli("multiarch", "buildx", "build", "--platform", "linux/amd64,linux/arm64", "-t", ref, "--push", ".")
        cli("multiarch", "buildx", "imagetools", "inspect", ref)

    def labkit_steps() -> None:
        assert not default_build.build_on_default_builder(endpoints, workdir, "classic").result.succeeded
        assert multiarch_build.build_and_push(endpoints, workdir).result.succeeded
        assert inspect_index.imagetools_inspect(endpoints, ref).succeeded
        inspect_index.read_index(endpoints, REPOSITORY, TAG)

    raw_steps()  # warm caches on both sides
    labkit_steps()
    raw, lab = [], []
    for _ in range(ROUNDS):
        raw.append(_timed(raw_steps))
        lab.append(_timed(labkit_steps))
    ratio = statistics.median(lab) / statistics.median(raw)
    print(f"steps 2-4, raw docker CLI: median {statistics.median(raw):.3f} s over {ROUNDS} rounds")
    print(f"steps 2-4, through labkit: median {statistics.median(lab):.3f} s over {ROUNDS} rounds")

    make_run = ["make", "--no-print-directory", "-C", str(REPO), "run"]
    subprocess.run(make_run, check=True, capture_output=True)  # warm
    run_warm = _timed(lambda: subprocess.run(make_run, check=True, capture_output=True))
    print(f"make run (all notebooks, headless, warm): {run_warm:.2f} s")
    print(f"ratio_labkit_vs_cli={ratio:.2f} run_warm_s={run_warm:.2f}")


if __name__ == "__main__":
    main()
