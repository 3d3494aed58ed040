"""The rootless sandbox's view of the machine, offline: modes and per-user defaults, subordinate ids, binfmt_misc
entries and the descriptions QEMU's packages install, kernel settings, AppArmor profiles, RootlessKit's published
ports, and the rootless engine's own configuration.

Captured on the lab's Debian 12 machine (kernel 6.18, qemu-user-static 1:7.2+dfsg-7+deb12u18): under
data/rootless/, `/proc/sys/fs/binfmt_misc/qemu-aarch64` as registered by binfmt-support, and the two descriptions
the package installs, `/usr/share/binfmts/qemu-aarch64` (binfmt-support's format) and
`/usr/lib/binfmt.d/qemu-aarch64.conf` (systemd's); LIST_PORTS below is `rootlessctl list-ports --json` of RootlessKit
1.1.0 with the registry's port published.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from labkit.engines import KINDS, rootless
from labkit.errors import LabError
from labkit.provision import emulators, prereqs
from labkit.settings import MODES, Settings, default_registry_port, default_run_dir
from labkit.system import binfmt, subids, userns
from labkit.system.subids import has_subids, subid_ranges
from tests.conftest import DATA

CAPTURED = DATA / "rootless"
LIST_PORTS = '{"id":1,"spec":{"proto":"tcp","parentIP":"127.0.0.1","parentPort":5601,"childPort":5601}}\n'
SUBUID = "rlexp:100000:65536\nmlab-learner:165536:65536\n1004:296608:65536\nbroken:line\nsmall:400000:0\n"


# --- modes and defaults -------------------------------------------------------------------------------------------

def test_rootless_is_a_mode_with_an_engine_of_its_own() -> None:
    assert MODES == ("sandbox", "rootless", "host")
    assert KINDS["rootless"] is rootless.RootlessEngine
    assert Settings.from_env({"LABKIT_MODE": "rootless"}).mode == "rootless"
    with pytest.raises(LabError, match="LABKIT_MODE=rootless"):
        Settings.from_env({"LABKIT_MODE": "rootles"})


def test_root_keeps_its_defaults_and_each_user_gets_a_port_and_a_socket_folder_of_their_own() -> None:
    assert default_registry_port(0) == 5000 and default_run_dir("lab", 0, {}) == Path("/tmp/mlab-lab")
    assert {default_registry_port(uid) for uid in (1000, 1001, 1002)} == {21000, 21001, 21002}
    assert all(20000 <= default_registry_port(uid) < 30000 for uid in (1, 65534, 4294967294))
    assert default_run_dir("lab", 1000, {}) == Path("/tmp/mlab-1000-lab")
    assert default_run_dir("lab", 1000, {"XDG_RUNTIME_DIR": "/run/user/1000"}) == Path("/run/user/1000/mlab-lab")
    assert default_run_dir("lab", 1000, {"XDG_RUNTIME_DIR": "relative"}) == Path("/tmp/mlab-1000-lab")


# --- subordinate ids ----------------------------------------------------------------------------------------------

def test_subordinate_ranges_are_found_by_name_or_uid(tmp_path: Path) -> None:
    assert subid_ranges(SUBUID, "mlab-learner", 1002) == [(165536, 65536)]
    assert subid_ranges(SUBUID, "someone", 1004) == [(296608, 65536)]
    assert subid_ranges(SUBUID, "small", 1005) == [] and subid_ranges(SUBUID, "broken", 1006) == []
    files = (tmp_path / "subuid", tmp_path / "subgid")
    files[0].write_text(SUBUID)
    assert not has_subids("rlexp", 1001, files)  # no /etc/subgid range
    files[1].write_text("rlexp:100000:65536\n")
    assert has_subids("rlexp", 1001, files)
    assert [found.size for found in subids.read("rlexp", 1001, files)] == [65536, 65536]


def test_a_new_range_starts_after_every_range_of_anyone(tmp_path: Path) -> None:
    files = (tmp_path / "subuid", tmp_path / "subgid")
    assert subids.next_free(files) == subids.FIRST_ID  # neither file exists
    files[0].write_text(SUBUID)
    files[1].write_text("other:500000:1000\n")
    assert subids.next_free(files) == 501000


# --- binfmt_misc and QEMU -----------------------------------------------------------------------------------------

def test_a_registered_emulator_and_its_flags() -> None:
    entry = binfmt.parse_entry("qemu-aarch64", (CAPTURED / "binfmt_misc-qemu-aarch64.txt").read_text())
    assert (entry.enabled, entry.interpreter, entry.flags, entry.fix_binary) == (
        True, "/usr/libexec/qemu-binfmt/aarch64-binfmt-P", "PF", True)
    assert not binfmt.parse_entry("qemu-aarch64", "disabled\ninterpreter /x\nflags: P\n").fix_binary
    assert binfmt.entry("qemu-aarch64", CAPTURED / "no-such-root") is None


def test_a_register_line_with_the_f_flag_from_either_description(tmp_path: Path) -> None:
    systemd, support = tmp_path / "binfmt.d", tmp_path / "binfmts"
    systemd.mkdir()
    support.mkdir()
    (support / "qemu-aarch64").write_text((CAPTURED / "binfmts-qemu-aarch64.txt").read_text())
    from_support = emulators.register_line("qemu-aarch64", systemd, support)
    assert from_support is not None and from_support.startswith(":qemu-aarch64:M:0:\\x7f\\x45\\x4c\\x46")
    assert from_support.endswith(":/usr/libexec/qemu-binfmt/aarch64-binfmt-P:FP")
    (systemd / "qemu-aarch64.conf").write_text((CAPTURED / "binfmt.d-qemu-aarch64.conf").read_text())
    assert emulators.register_line("qemu-aarch64", systemd, support) == \
        (CAPTURED / "binfmt.d-qemu-aarch64.conf").read_text().strip()  # already OPF
    (systemd / "qemu-aarch64.conf").write_text(":qemu-aarch64:M::\\x7fELF:\\xff:/usr/bin/qemu-aarch64:P\n")
    assert emulators.register_line("qemu-aarch64", systemd, support) == ":qemu-aarch64:M::\\x7fELF:\\xff:/usr/bin/qemu-aarch64:PF"
    assert emulators.register_line("qemu-riscv64", systemd, support) is None


@pytest.mark.parametrize(("candidate", "expected"), [
    ("1:7.2+dfsg-7+deb12u18+b3", ["qemu-user-static", "binfmt-support"]),  # Debian 12
    ("1:8.2.2+ds-0ubuntu1.4", ["qemu-user-static", "binfmt-support"]),  # Ubuntu 24.04
    ("1:10.0.13+ds-0+deb13u1", ["qemu-user", "qemu-user-binfmt"]),  # Debian 13
    ("1:11.1.2+ds-3", ["qemu-user", "qemu-user-binfmt"]),  # Debian testing and unstable
    ("", ["qemu-user-static", "binfmt-support"]),  # no candidate: the older names
])
def test_qemu_comes_from_the_packages_the_suite_has(candidate: str, expected: list[str]) -> None:
    assert emulators.qemu_packages(candidate) == expected


# --- the kernel, the tun device, AppArmor -------------------------------------------------------------------------

def _proc(root: Path, files: dict[str, str]) -> Path:
    for name, text in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text)
    return root


def test_kernel_settings_that_forbid_user_namespaces(tmp_path: Path) -> None:
    closed = _proc(tmp_path / "closed", {"proc/sys/kernel/unprivileged_userns_clone": "0\n",
                                         "proc/sys/user/max_user_namespaces": "0\n"})
    assert [(s.name, s.ok, s.fix) for s in userns.userns_sysctls(closed)] == [
        ("kernel.unprivileged_userns_clone", False, "sudo sysctl -w kernel.unprivileged_userns_clone=1"),
        ("user.max_user_namespaces", False, "sudo sysctl -w user.max_user_namespaces=15000")]
    opened = _proc(tmp_path / "open", {"proc/sys/user/max_user_namespaces": "96365\n"})
    assert [(s.value, s.ok) for s in userns.userns_sysctls(opened)] == [(None, True), ("96365", True)]
    ubuntu = _proc(tmp_path / "ubuntu", {"proc/sys/kernel/apparmor_restrict_unprivileged_userns": "1\n"})
    assert userns.apparmor_restricts_userns(ubuntu) and not userns.apparmor_restricts_userns(opened)
    assert not userns.cgroup_v2(opened) and userns.cgroup_v2(_proc(tmp_path / "v2", {"sys/fs/cgroup/cgroup.controllers": ""}))


@pytest.mark.parametrize(("release", "ok"), [("6.18.44-fc-v657", True), ("5.11.0", True), ("5.10.0-32-amd64", False),
                                             ("4.19.0", False), ("weird", False)])
def test_overlayfs_in_a_user_namespace_needs_5_11(release: str, ok: bool) -> None:
    assert userns.overlay_in_userns(release) is ok


def test_the_tun_device_is_open_to_all_only_with_mode_0666(tmp_path: Path) -> None:
    device = tmp_path / "tun"
    device.write_text("")
    device.chmod(0o600)
    assert not userns.tun_open_to_all(device)
    device.chmod(0o666)
    assert userns.tun_open_to_all(device) and userns.tun_usable(device)
    assert not userns.tun_open_to_all(tmp_path / "missing")


def test_an_apparmor_profile_allows_rootlesskit_only_when_it_names_it_and_allows_userns(tmp_path: Path) -> None:
    program = "/usr/bin/rootlesskit"
    assert not prereqs.apparmor_allows_rootlesskit(tmp_path / "none", program)
    (tmp_path / "other").write_text("profile other /usr/bin/other flags=(unconfined) {\n  userns,\n}\n")
    assert not prereqs.apparmor_allows_rootlesskit(tmp_path, program)
    (tmp_path / "rootlesskit").write_text(f"profile rootlesskit {program} flags=(unconfined) {{\n  # userns,\n}}\n")
    assert not prereqs.apparmor_allows_rootlesskit(tmp_path, program)
    (tmp_path / "multiarch-lab-rootlesskit").write_text(prereqs.apparmor_profile_text(program))
    assert prereqs.apparmor_allows_rootlesskit(tmp_path, program)
    assert "profile multiarch-lab-rootlesskit /usr/bin/rootlesskit flags=(unconfined)" in prereqs.apparmor_profile_text(program)


def test_prepare_host_names_only_users_and_groups_that_exist() -> None:
    with pytest.raises(LabError, match="no user called"):
        prereqs.learners(["no-such-learner-here"], [])
    with pytest.raises(LabError, match="no group called"):
        prereqs.learners([], ["no-such-group-here"])
    assert prereqs.learners(["nobody", "nobody"], []) == [prereqs.Learner("nobody", 65534)]


# --- the rootless engine's own pieces -----------------------------------------------------------------------------

def _settings(tmp_path: Path) -> Settings:
    return Settings(name="unit", cache_dir=tmp_path / "cache", state_dir=tmp_path / "state", run_dir=tmp_path / "run",
                    registry_port=5601, mode="rootless")


def test_each_daemon_is_rootless_with_its_image_store_set_explicitly(tmp_path: Path) -> None:
    settings = _settings(tmp_path)
    engine = rootless.RootlessEngine(settings)
    classic, multi = (engine.daemon_config(name) for name in ("classic", "multiarch"))
    assert classic["rootless"] is True and multi["rootless"] is True
    assert classic["features"] == {"containerd-snapshotter": False} and multi["features"] == {"containerd-snapshotter": True}
    assert multi["registry-mirrors"] == ["http://127.0.0.1:5601"] and multi["insecure-registries"] == ["127.0.0.1:5601"]
    env = dict(engine.spec_of("classic").env)
    assert env["ROOTLESSKIT_STATE_DIR"] == str(tmp_path / "run/rootlesskit")
    assert env["XDG_RUNTIME_DIR"] == str(tmp_path / "run/classic-runtime")


def test_rootlesskit_isolates_the_network_and_publishes_nothing_by_itself(tmp_path: Path) -> None:
    argv = rootless.rootlesskit_spec(_settings(tmp_path)).argv
    assert {"--net=slirp4netns", "--disable-host-loopback", "--port-driver=builtin"} <= set(argv)
    assert not any(arg.startswith(("--publish", "-p")) for arg in argv)  # the registry's port is added with rootlessctl
    assert argv[-2:] == ("-c", rootless.HOLDER) and "sleep infinity" in rootless.HOLDER


def test_the_registry_port_is_published_once_and_old_ports_are_removed() -> None:
    assert rootless.port_plan(LIST_PORTS, "127.0.0.1", 5601) == (True, [])
    assert rootless.port_plan(LIST_PORTS, "127.0.0.1", 5602) == (False, ["1"])
    assert rootless.port_plan("", "127.0.0.1", 5601) == (False, [])


def test_the_socket_folder_must_be_the_learners_own(tmp_path: Path) -> None:
    mine = tmp_path / "mine"
    mine.mkdir(mode=0o755)
    rootless.own_private_folder(mine)
    assert mine.stat().st_mode & 0o777 == 0o700
    (tmp_path / "elsewhere").mkdir()
    (tmp_path / "link").symlink_to(tmp_path / "elsewhere")
    with pytest.raises(LabError, match="not a folder of yours"):
        rootless.own_private_folder(tmp_path / "link")
    if os.geteuid() == 0:  # as root the test can make a folder that belongs to someone else
        theirs = tmp_path / "theirs"
        theirs.mkdir()
        os.chown(theirs, 65534, 65534)
        with pytest.raises(LabError, match="not a folder of yours"):
            rootless.own_private_folder(theirs)
