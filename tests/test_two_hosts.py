"""Across machines for real: two network namespaces joined by a veth pair stand for two hosts
(each with a host name of its own), each runs ``torchrun --nnodes 2 --nproc-per-node 2`` with
c10d rendezvous over that link, and one ``mpscope watch`` sees 4 lanes on 2 hosts.

Needs root and ``ip netns`` (Debian's iproute2) and ``unshare``; skipped with the reason where
namespaces cannot be made. Everything made is removed again: namespaces, the veth pair (it goes
with them), the per-namespace hosts files under /etc/netns.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from mpscope.core.distributed.run import processes_with_token

NET = "10.231.7"  # the two "hosts" of this test, inside namespaces this test makes
WATCH_PORT = 29650
RDZV_PORT = 29400
TIMEOUT = 180
BIN = Path(sys.executable).parent


def _ip(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["ip", *args], capture_output=True, text=True, timeout=30)


def _cannot_make_namespaces() -> str:
    if os.geteuid() != 0:
        return "network namespaces need root"
    if shutil.which("ip") is None or shutil.which("unshare") is None:
        return "needs ip (iproute2) and unshare (util-linux)"
    name = f"mpscope-probe-{os.getpid()}"
    made = _ip("netns", "add", name)
    if made.returncode != 0:
        return f"ip netns add failed: {made.stderr.strip()}"
    _ip("netns", "del", name)
    return ""


@pytest.fixture
def two_hosts() -> Iterator[list[tuple[str, str, str, str]]]:
    """Two namespaces, each (namespace, host name, interface, address)."""
    reason = _cannot_make_namespaces()
    if reason:
        pytest.skip(reason)
    tag = os.getpid()
    hosts = [
        (f"mpscope-a-{tag}", "hosta", f"mpsa{tag}"[:15], f"{NET}.1"),
        (f"mpscope-b-{tag}", "hostb", f"mpsb{tag}"[:15], f"{NET}.2"),
    ]
    try:
        for ns, _host, _ifname, _addr in hosts:
            assert _ip("netns", "add", ns).returncode == 0
        if_a, if_b = hosts[0][2], hosts[1][2]
        assert _ip("link", "add", if_a, "type", "veth", "peer", "name", if_b).returncode == 0
        names = "".join(f"{addr} {host}\n" for _ns, host, _i, addr in hosts)
        for ns, _host, ifname, addr in hosts:
            assert _ip("link", "set", ifname, "netns", ns).returncode == 0
            assert _ip("-n", ns, "addr", "add", f"{addr}/24", "dev", ifname).returncode == 0
            assert _ip("-n", ns, "link", "set", ifname, "up").returncode == 0
            assert _ip("-n", ns, "link", "set", "lo", "up").returncode == 0
            # ip netns exec puts /etc/netns/NS/hosts over /etc/hosts: the host names resolve
            folder = Path("/etc/netns") / ns
            folder.mkdir(parents=True, exist_ok=True)
            (folder / "hosts").write_text(f"127.0.0.1 localhost\n{names}")
        yield hosts
    finally:
        for ns, _host, _ifname, _addr in hosts:
            _ip("netns", "del", ns)  # its end of the veth pair goes with it, and so the pair
            shutil.rmtree(Path("/etc/netns") / ns, ignore_errors=True)
        _ip("link", "del", hosts[0][2])  # a pair never moved into its namespaces


def _on_host(ns: str, host: str, command: list[str]) -> list[str]:
    """``command`` inside namespace ``ns``, with host name ``host`` (a UTS namespace)."""
    script = f'hostname {host} && exec "$@"'
    return ["ip", "netns", "exec", ns, "unshare", "--uts", "sh", "-c", script, "sh", *command]


def _start_on_host(
    ns: str, host: str, ifname: str, command: list[str], env: dict[str, str]
) -> subprocess.Popen[str]:
    """``command`` on a "host", gloo on its end of the link, its output (both streams) read."""
    return subprocess.Popen(
        _on_host(ns, host, command),
        env={**env, "GLOO_SOCKET_IFNAME": ifname},
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        stdin=subprocess.DEVNULL,
        text=True,
    )


def _end(procs: list[subprocess.Popen[str]]) -> None:
    for proc in procs:
        if proc.poll() is None:
            os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=30)


def test_ranks_on_two_hosts_report_to_one_viewer(
    two_hosts: list[tuple[str, str, str, str]], tmp_path: Path
) -> None:
    (ns_a, _host_a, _if_a, addr_a) = two_hosts[0]
    address = f"{addr_a}:{WATCH_PORT}"
    watch_cmd = [str(BIN / "mpscope"), "watch", "--host", addr_a, "--port", str(WATCH_PORT)]
    watch_cmd += ["--exit-after", str(TIMEOUT), "--record", str(tmp_path / "two.jsonl")]
    watch = subprocess.Popen(
        ["ip", "netns", "exec", ns_a, *watch_cmd],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        stdin=subprocess.DEVNULL,
        text=True,
    )
    procs = [watch]
    try:
        assert watch.stdout is not None
        line = ""
        while "MPSCOPE_TOKEN=" not in line:
            line = watch.stdout.readline()
            assert line, "watch ended before saying its token"
        token = re.search(r"MPSCOPE_TOKEN=([0-9a-f]+)", line).group(1)  # type: ignore[union-attr]
        env = {
            **os.environ,
            "MPSCOPE_ADDRESS": address,
            "MPSCOPE_TOKEN": token,
            "OMP_NUM_THREADS": "1",
            "PYTHONWARNINGS": "ignore:Failed to initialize NumPy",
        }
        nodes = []
        for ns, host, ifname, addr in two_hosts:
            torchrun = [sys.executable, "-m", "torch.distributed.run", "--nnodes", "2"]
            torchrun += ["--nproc-per-node", "2", "--rdzv-backend", "c10d", "--rdzv-id", "t"]
            torchrun += ["--rdzv-endpoint", f"{addr_a}:{RDZV_PORT}", "--local-addr", addr]
            torchrun += ["--max-restarts", "0", "-m", "mpscope.core.distributed.train"]
            torchrun += ["--steps", "3"]
            node = _start_on_host(ns, host, ifname, torchrun, env)
            nodes.append(node)
            procs.append(node)
        for node in nodes:
            output, _ = node.communicate(timeout=TIMEOUT)
            assert node.returncode == 0, output[-3000:]
        watch.send_signal(signal.SIGINT)
        out, errors = watch.communicate(timeout=60)
    finally:
        _end(procs)
    assert watch.returncode == 0, errors
    assert "4 ranks on 2 hosts (hosta, hostb)" in out, out
    joined = re.findall(r"^rank (\d) of 4 joined: local rank (\d), pid \d+, host (\w+)", out, re.M)
    assert sorted(joined) == [
        ("0", "0", "hosta"),
        ("1", "1", "hosta"),
        ("2", "0", "hostb"),
        ("3", "1", "hostb"),
    ], out
    for step in range(3):
        assert re.search(rf"^step {step}: .* across 4 ranks, .* checksums agree", out, re.M), out
    assert "parameters agree on every rank after every step (3 steps)" in out
    assert processes_with_token(token) == []  # nothing outlives the run on either host


def test_mpscope_runs_one_node_of_two_and_the_other_reports_to_it(
    two_hosts: list[tuple[str, str, str, str]],
) -> None:
    """``mpscope run --mode distributed --nnodes 2`` on host A prints the command for the other
    nodes; host B runs it; A's viewer shows 4 ranks on 2 hosts, B says how its ranks ended."""
    (ns_a, host_a, if_a, addr_a), (ns_b, host_b, if_b, _addr_b) = two_hosts
    first = [str(BIN / "mpscope"), "run", "--mode", "distributed", "--nnodes", "2"]
    first += ["--rdzv-endpoint", f"{addr_a}:{RDZV_PORT}", "--workers", "2", "--steps", "3"]
    first += ["--compute-time", "0.01", "--host", addr_a, "--port", str(WATCH_PORT), "--plain"]
    base = {**os.environ, "PYTHONWARNINGS": "ignore:Failed to initialize NumPy"}
    node_a = _start_on_host(ns_a, host_a, if_a, first, base)
    procs = [node_a]
    try:
        assert node_a.stdout is not None
        line = ""
        while not line.startswith("on each other node: "):
            line = node_a.stdout.readline()
            assert line, "node A ended before saying what the other nodes run"
        command = line.removeprefix("on each other node: ").split()
        assert command[:2] == ["mpscope", "run"] and "--report-to" in command
        node_b = _start_on_host(ns_b, host_b, if_b, [str(BIN / "mpscope"), *command[1:]], base)
        procs.append(node_b)
        said_b, _ = node_b.communicate(timeout=TIMEOUT)
        said_a, _ = node_a.communicate(timeout=TIMEOUT)
    finally:
        _end(procs)
    assert node_b.returncode == 0 and said_b.rstrip().endswith("run completed"), said_b
    assert f"its ranks report to the viewer at {addr_a}:{WATCH_PORT}" in said_b
    assert node_a.returncode == 0, said_a
    assert "4 ranks on 2 hosts (hosta, hostb)" in said_a, said_a
    assert "parameters agree on every rank after every step (3 steps)" in said_a
    assert said_a.rstrip().endswith("run completed")
