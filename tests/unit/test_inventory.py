"""Parsing /proc/net/tcp and tcp6, over outputs captured on a real machine."""

from labkit.engine.inventory import parse_proc_net_tcp
from tests.conftest import DATA


def test_ipv4_listening_sockets_are_decoded() -> None:
    sockets = parse_proc_net_tcp((DATA / "proc-net-tcp.txt").read_text())
    assert [(s.address, s.port, s.inode) for s in sockets] == [("127.0.0.1", 5000, 6745), ("0.0.0.0", 2024, 107)]
    assert [s.is_loopback for s in sockets] == [True, False]


def test_ipv6_listening_sockets_are_decoded() -> None:
    sockets = parse_proc_net_tcp((DATA / "proc-net-tcp6.txt").read_text())
    assert {(s.address, s.port) for s in sockets} == {("::", 47002), ("::1", 47001)}
    assert {s.address: s.is_loopback for s in sockets} == {"::": False, "::1": True}


def test_sockets_not_listening_are_ignored() -> None:
    text = (DATA / "proc-net-tcp.txt").read_text()
    assert all(s.inode != 0 for s in parse_proc_net_tcp(text))
