"""Settings read from an explicit environment mapping: defaults, overrides and refusals."""

from pathlib import Path

import pytest

from labkit.errors import LabError
from labkit.settings import DEBIAN_PLATFORMS, Settings

XDG = {"XDG_STATE_HOME": "/xdg/state", "XDG_CACHE_HOME": "/xdg/cache"}


def test_defaults() -> None:
    settings = Settings.from_env(XDG)
    assert settings.name == "lab"
    assert settings.registry_port == 5000
    assert settings.registry_address == "127.0.0.1:5000"
    assert settings.debian_mirror == "http://deb.debian.org/debian"
    assert (settings.engine_suite, settings.base_suite) == ("forky", "trixie")
    assert settings.base_arches == tuple(DEBIAN_PLATFORMS)


def test_default_folders_follow_xdg() -> None:
    settings = Settings.from_env(XDG)
    assert settings.state_dir == Path("/xdg/state/multiarch-lab/lab")
    assert settings.cache_dir == Path("/xdg/cache/multiarch-lab")


def test_default_folders_without_xdg_are_under_home() -> None:
    settings = Settings.from_env({})
    assert settings.state_dir == Path.home() / ".local/state/multiarch-lab/lab"
    assert settings.cache_dir == Path.home() / ".cache/multiarch-lab"


def test_default_run_dir_is_named_after_the_sandbox() -> None:
    assert Settings.from_env(XDG).run_dir == Path("/tmp/mlab-lab")
    assert Settings.from_env({**XDG, "LABKIT_NAME": "second"}).run_dir == Path("/tmp/mlab-second")


def test_name_also_separates_state_but_not_cache() -> None:
    first, second = Settings.from_env(XDG), Settings.from_env({**XDG, "LABKIT_NAME": "second"})
    assert first.state_dir != second.state_dir
    assert first.cache_dir == second.cache_dir


@pytest.mark.parametrize(("variable", "value", "attribute", "expected"), [
    ("LABKIT_NAME", "other", "name", "other"),
    ("LABKIT_CACHE_DIR", "/c", "cache_dir", Path("/c")),
    ("LABKIT_STATE_DIR", "/s", "state_dir", Path("/s")),
    ("LABKIT_RUN_DIR", "/r", "run_dir", Path("/r")),
    ("LABKIT_REGISTRY_PORT", "5001", "registry_port", 5001),
    ("LABKIT_DEBIAN_MIRROR", "http://mirror.example/debian", "debian_mirror", "http://mirror.example/debian"),
    ("LABKIT_ENGINE_SUITE", "sid", "engine_suite", "sid"),
    ("LABKIT_BASE_SUITE", "bookworm", "base_suite", "bookworm"),
    ("LABKIT_BASE_ARCHES", "amd64,arm64", "base_arches", ("amd64", "arm64")),
])
def test_each_variable_overrides_its_setting(variable: str, value: str, attribute: str, expected: object) -> None:
    assert getattr(Settings.from_env(XDG), attribute) != expected
    assert getattr(Settings.from_env({**XDG, variable: value}), attribute) == expected


def test_empty_variable_means_default() -> None:
    assert Settings.from_env({**XDG, "LABKIT_REGISTRY_PORT": "", "LABKIT_NAME": ""}) == Settings.from_env(XDG)


def test_empty_items_in_base_arches_are_skipped() -> None:
    assert Settings.from_env({**XDG, "LABKIT_BASE_ARCHES": "amd64,,arm64,"}).base_arches == ("amd64", "arm64")


@pytest.mark.parametrize("port", ["abc", "0", "65536", "-1", "50 00", "5000.0", "²", "٥٠٠١"])
def test_invalid_registry_port_is_refused_by_name(port: str) -> None:
    with pytest.raises(LabError) as raised:
        Settings.from_env({**XDG, "LABKIT_REGISTRY_PORT": port})
    assert "LABKIT_REGISTRY_PORT" in str(raised.value)
    assert repr(port) in raised.value.what


def test_registry_port_override_changes_the_address() -> None:
    assert Settings.from_env({**XDG, "LABKIT_REGISTRY_PORT": "5001"}).registry_address == "127.0.0.1:5001"


def test_sockets_of_a_default_sandbox_fit_in_a_unix_socket_path() -> None:
    settings = Settings.from_env(XDG)
    for service in ("classic", "multiarch", "registry"):
        path = settings.socket(service)
        assert path.parent == settings.run_dir
        assert len(str(path).encode()) < 108


def test_per_sandbox_paths_live_under_the_state_folder() -> None:
    settings = Settings.from_env(XDG)
    for path in (settings.docker_config, settings.lock_file, settings.service_dir("classic")):
        assert path.is_relative_to(settings.state_dir)


@pytest.mark.parametrize("arches", ["amd64,mips", "amd64", "arm64,armhf"])
def test_base_arches_must_be_known_and_include_both_experiment_platforms(arches: str) -> None:
    with pytest.raises(LabError) as raised:
        Settings.from_env({**XDG, "LABKIT_BASE_ARCHES": arches})
    assert "LABKIT_BASE_ARCHES" in raised.value.what


def test_a_name_too_long_for_a_socket_path_is_refused() -> None:
    with pytest.raises(LabError) as raised:
        Settings.from_env({**XDG, "LABKIT_NAME": "n" * 100})
    assert "LABKIT_NAME" in raised.value.next_step
