"""The class-wide base-image cache: one registry on the host's loopback, which every learner's daemons use as a mirror.

Where Docker Hub answers, it is a pull-through cache of Docker Hub (`proxy.remoteurl`): a class pulls each base image
from Docker Hub once, under one address's pull limit. Where it does not, it is preloaded with the lab's own busybox base
image and then served in read-only mode (`storage.maintenance.readonly`). Either way nobody can push to it: a
pull-through cache refuses pushes, and so does a read-only registry. It runs as root, from the instructor's engine
packages; learners only read from it.
"""

from __future__ import annotations

import time

from labkit.classroom.course import Course
from labkit.engines import own
from labkit.errors import LabError
from labkit.experiment import BASE_REPOSITORY
from labkit.oci.registry import Registry
from labkit.provision import base_image, packages
from labkit.settings import RegistryAddress, Settings
from labkit.system import network, processes
from labkit.system.files import write_if_changed
from labkit.system.processes import ProcessSpec

DOCKER_HUB = "https://registry-1.docker.io"


def address(course: Course) -> RegistryAddress:
    return RegistryAddress("127.0.0.1", course.cache_port)


def spec(instructor: Settings, course: Course) -> ProcessSpec:
    folder = course.cache_dir
    return ProcessSpec("class cache", (str(instructor.bin_dir / "docker-registry"), "serve", str(folder / "config.yml")),
                       own.service_env(instructor), folder / "pid", folder / "log")


def config(course: Course, kind: str, writable: bool = False) -> str:
    """config.yml: loopback only; `proxy` (a pull-through cache of Docker Hub) or `preloaded` (read-only once the base image is in)."""
    readonly = "false" if writable or kind == "proxy" else "true"
    proxy = f"proxy:\n  remoteurl: {DOCKER_HUB}\n" if kind == "proxy" else ""
    return ("version: 0.1\nlog:\n  level: info\n  accesslog:\n    disabled: false\n"
            f"storage:\n  filesystem:\n    rootdirectory: {course.cache_dir / 'data'}\n"
            f"  maintenance:\n    readonly:\n      enabled: {readonly}\n    uploadpurging:\n      enabled: false\n"
            f"http:\n  addr: {address(course)}\n{proxy}")


def kind_for(online: bool) -> str:
    return "proxy" if online else "preloaded"


def _restart(instructor: Settings, course: Course, text: str) -> Registry:
    service = spec(instructor, course)
    stopped = write_if_changed(course.cache_dir / "config.yml", text) and processes.stop(service)
    if processes.owned_pid(service) is None:
        # Just stopped, its port may linger in TIME_WAIT: the registry binds it anyway (SO_REUSEADDR).
        if not stopped and not network.port_is_free("127.0.0.1", course.cache_port):
            raise LabError(f"Port {course.cache_port} on 127.0.0.1 is taken, so the class's base-image cache cannot start.",
                           "Set LABKIT_CLASS_PORT so that it and the next three ports are free.")
        processes.start(service)
    registry = Registry(address(course))
    deadline = time.monotonic() + 20
    while not registry.ping() and processes.owned_pid(service) is not None and time.monotonic() < deadline:
        time.sleep(0.05)
    if not registry.ping():
        raise LabError(f"The class's base-image cache did not answer:\n{processes.log_tail(service)}",
                       f"Read {service.log_file}, then run `labkit class up` again.")
    return registry


def up(instructor: Settings, course: Course) -> str:
    """Start the cache (preloading it first where it cannot pull from Docker Hub); returns its kind."""
    kind = kind_for(network.docker_hub_reachable())
    if kind == "preloaded":
        present = course.cache_dir / "data" / "docker" / "registry" / "v2" / "repositories" / BASE_REPOSITORY
        if not present.is_dir():
            registry = _restart(instructor, course, config(course, kind, writable=True))
            base_image.ensure_pushed(instructor, registry, packages.read_record(instructor))
    _restart(instructor, course, config(course, kind))
    return kind


def down(instructor: Settings, course: Course) -> bool:
    return processes.stop(spec(instructor, course))


def running(instructor: Settings, course: Course) -> bool:
    return processes.owned_pid(spec(instructor, course)) is not None
