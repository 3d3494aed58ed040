"""Parsing /proc/net/tcp and tcp6, over outputs captured on a real machine.

proc-net-tcp.txt was captured on the lab's Debian 12 machine (kernel 6.18), in a network namespace of its own
(`unshare --net`) so that it holds only these sockets: the lab's registry binary (Debian's docker-registry 2.8.3,
`serve` with `http.addr: 127.0.0.1:5000`) listening on 127.0.0.1:5000, socket inode 90267 (read from the
registry's /proc/PID/fd); a Python listener on 0.0.0.0:2024, inode 89220 (from fstat); and one finished
`GET /v2/` to the registry, left in TIME_WAIT (state 06, inode 0). The file is `/proc/net/tcp` copied byte for
byte at that moment: the kernel pads every line to 149 characters.
"""

from labkit.system.inventory import parse_proc_net_tcp
from tests.conftest import DATA


def test_the_capture_is_as_the_kernel_writes_it() -> None:
    lines = (DATA / "proc-net-tcp.txt").read_text().splitlines()
    assert len(lines) == 4 and {len(line) for line in lines} == {149}


def test_ipv4_listening_sockets_are_decoded() -> None:
    sockets = parse_proc_net_tcp((DATA / "proc-net-tcp.txt").read_text())
    assert [(s.address, s.port, s.inode) for s in sockets] == [("127.0.0.1", 5000, 90267), ("0.0.0.0", 2024, 89220)]
    assert [s.is_loopback for s in sockets] == [True, False]


def test_ipv6_listening_sockets_are_decoded() -> None:
    sockets = parse_proc_net_tcp((DATA / "proc-net-tcp6.txt").read_text())
    assert {(s.address, s.port) for s in sockets} == {("::", 47002), ("::1", 47001)}
    assert {s.address: s.is_loopback for s in sockets} == {"::": False, "::1": True}


def test_sockets_not_listening_are_ignored() -> None:
    text = (DATA / "proc-net-tcp.txt").read_text()
    states = [line.split()[3] for line in text.splitlines()[1:]]
    assert states == ["0A", "0A", "06"]  # two listening, one in TIME_WAIT
    assert len(parse_proc_net_tcp(text)) == 2
    assert all(s.inode != 0 for s in parse_proc_net_tcp(text))
