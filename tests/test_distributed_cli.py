"""``mpscope run --mode distributed``, ``mpscope watch``, and a distributed run's recording
replayed and exported: the real command in a real process, its lines, its exit codes."""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from mpscope.core.distributed.report import Reporter
from mpscope.tui.dist_cli import LOOPBACK_NOTE
from tests.trace_checker import check_trace

MPSCOPE = [str(Path(sys.executable).parent / "mpscope")]
RUN_TIMEOUT = 150


def _mpscope(*args: str, timeout: float = RUN_TIMEOUT) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*MPSCOPE, *args], capture_output=True, text=True, timeout=timeout, stdin=subprocess.DEVNULL
    )


@pytest.mark.slow
def test_a_run_prints_each_step_and_a_gantt_and_replays_and_exports(tmp_path: Path) -> None:
    recording = tmp_path / "ddp.jsonl"
    done = _mpscope(
        *("run", "--mode", "distributed", "--workers", "2", "--steps", "4"),
        *("--compute-time", "0.01", "--slow-rank", "1", "--slow-time", "0.12"),
        *("--record", str(recording)),
    )
    assert done.returncode == 0, done.stdout + done.stderr
    out = done.stdout
    assert "rank 0 of 2 joined: local rank 0" in out and "rank 1 of 2 joined" in out
    for step in range(4):
        assert re.search(
            rf"^step {step}: [\d.]+ ms across 2 ranks, \d+% in collectives, "
            r"checksums agree \([0-9a-f]{8}\)$",
            out,
            re.MULTILINE,
        ), out
    rows = re.findall(r"^rank +(\d) \|([█░·]{60})\|$", out, re.MULTILINE)
    assert [r for r, _ in rows] == ["0", "1"]
    fast, slow = rows[0][1], rows[1][1]
    assert fast.count("░") > slow.count("░")  # rank 0 waits for the straggler
    assert "straggler: rank 1" in out
    assert "parameters agree on every rank after every step (4 steps)" in out
    assert out.rstrip().endswith("run completed")
    # the recording replays to the same summary, and exports with the waits as arrows
    replayed = _mpscope("replay", str(recording), "--plain")
    assert replayed.returncode == 0, replayed.stderr
    summary = out[out.index("2 ranks on") :]
    assert replayed.stdout.endswith(summary)
    trace = tmp_path / "ddp.trace.json"
    exported = _mpscope("export", str(recording), "-o", str(trace))
    assert exported.returncode == 0, exported.stderr
    events = check_trace(trace)["traceEvents"]
    names = {e["pid"]: e["args"]["name"] for e in events if e["name"] == "process_name"}
    assert sum(name.startswith("rank ") for name in names.values()) == 2
    steps = [e for e in events if e["ph"] == "X" and e["name"].startswith("step ")]
    assert len(steps) == 8
    released = [e for e in events if e.get("flow_in") and e["name"] == "released"]
    assert len(released) == 4  # one arrow a step: from the straggler to rank 0
    rank_of = {pid: int(name.split()[1]) for pid, name in names.items() if name.startswith("rank")}
    # to rank 0, which waits for the straggler; on a loaded machine the first step's set-up
    # can keep rank 0 later than the 0.12 s straggler once (seen in CI), as the straggler rule
    # allows for: most steps, not every one
    waiters = [rank_of[e["pid"]] for e in released]
    assert waiters.count(0) >= 3, waiters


@pytest.mark.slow
def test_a_crashed_rank_ends_the_command_with_its_traceback_and_code_1() -> None:
    done = _mpscope(
        *("run", "--mode", "distributed", "--workers", "2", "--steps", "3"),
        *("--compute-time", "0", "--crash-rank", "1", "--fault-step", "1"),
    )
    assert done.returncode == 1, done.stdout + done.stderr
    assert re.search(
        r"^run error: rank 1 \(local rank 1\), pid \d+: exitcode 1$", done.stdout, re.M
    )
    assert "rank 1 crashed on purpose at step 1" in done.stdout
    assert "Traceback (most recent call last)" not in done.stderr  # nothing raw on stderr


@pytest.mark.parametrize(
    ("args", "says"),
    [
        (("--workers", "0"), "--workers must be 1..16, got 0"),
        (("--workers", "2", "--slow-rank", "2"), "--slow-rank must be 0..1, got 2"),
        (("--steps", "3", "--fault-step", "3"), "--fault-step must be 0..2, got 3"),
        (("--compute-time", "-1"), "--compute-time must be 0..60, got -1"),
        (("--record", "/no/such/folder/x.jsonl"), "no folder /no/such/folder"),
        (("--workers", "two"), "invalid int value: 'two'"),
        (("--nnodes", "2"), "--nnodes above 1 needs --rdzv-endpoint HOST:PORT"),
        (("--rdzv-endpoint", "127.0.0.1:29400"), "are for --nnodes 2 or more"),
        (("--nnodes", "2", "--rdzv-endpoint", "nowhere"), "an address should be host:port"),
        (
            ("--nnodes", "2", "--rdzv-endpoint", "127.0.0.1:29400", "--report-to", "h:1"),
            "--report-to needs --token",
        ),
    ],
)
def test_bad_input_is_one_line_and_exit_2(args: tuple[str, ...], says: str) -> None:
    done = _mpscope("run", "--mode", "distributed", *args, timeout=30)
    assert done.returncode == 2
    assert done.stderr.count("\n") == 1 and says in done.stderr, done.stderr
    assert done.stdout == ""


def test_watch_on_a_port_in_use_says_so_in_one_line() -> None:
    with socket.create_server(("127.0.0.1", 0)) as taken:
        port = taken.getsockname()[1]
        done = _mpscope("watch", "--port", str(port), timeout=30)
    assert done.returncode == 2
    assert f"cannot listen on 127.0.0.1:{port}" in done.stderr
    assert done.stderr.count("\n") == 1


def test_watch_shows_a_users_ranks_and_drops_reports_without_the_token(tmp_path: Path) -> None:
    recording = tmp_path / "watched.jsonl"
    watch = subprocess.Popen(
        [*MPSCOPE, "watch", "--record", str(recording), "--exit-after", "60"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        stdin=subprocess.DEVNULL,
    )
    try:
        assert watch.stdout is not None
        said = []
        while not (line := watch.stdout.readline()).startswith("  MPSCOPE_ADDRESS="):
            assert line, "".join(said) + watch.stderr.read() if watch.stderr else ""
            said.append(line)
        assert said[0].startswith("mpscope watch: listening on 127.0.0.1:")
        env = dict(part.split("=", 1) for part in line.split()[:2])
        address, token = env["MPSCOPE_ADDRESS"], env["MPSCOPE_TOKEN"]
        host, port = address.rsplit(":", 1)
        with socket.create_connection((host, int(port)), timeout=5) as intruder:
            intruder.sendall(json.dumps({"type": "hello", "token": "wrong"}).encode() + b"\n")
        reporters = [Reporter(address, token, rank=r, local_rank=r, world_size=2) for r in (0, 1)]
        for step in range(2):
            for reporter in reporters:
                with reporter.step(step), reporter.collective("all_reduce"):
                    pass
        for reporter in reporters:
            reporter.close()
        for expected in ("rank 0 of 2 joined", "rank 1 of 2 joined", "step 0: ", "step 1: "):
            while expected not in line:
                line = watch.stdout.readline()
                assert line, f"watch ended before saying {expected!r}"
        watch.send_signal(signal.SIGINT)
        rest, errors = watch.communicate(timeout=30)
    finally:
        if watch.poll() is None:
            os.kill(watch.pid, signal.SIGKILL)
            watch.wait(timeout=10)
    assert watch.returncode == 0, errors
    assert "reports dropped: 1 token" in rest
    assert "run stopped" in rest
    assert "Traceback" not in errors
    replayed = _mpscope("replay", str(recording), "--plain", timeout=30)
    assert replayed.returncode == 0 and "2 ranks on 1 host" in replayed.stdout


def _free_port() -> int:
    with socket.create_server(("127.0.0.1", 0)) as probe:
        port: int = probe.getsockname()[1]
        return port


@pytest.mark.slow
def test_a_rendezvous_that_times_out_is_one_line_naming_the_endpoint() -> None:
    endpoint = f"127.0.0.1:{_free_port()}"
    done = _mpscope(
        *("run", "--mode", "distributed", "--nnodes", "2", "--rdzv-endpoint", endpoint),
        *("--rdzv-timeout", "3", "--workers", "1", "--steps", "2"),
    )
    assert done.returncode == 1, done.stdout + done.stderr
    lines = done.stdout.rstrip().splitlines()
    assert lines[0] == "starting 1 rank on node 1 of 2 with torchrun (gloo), 2 steps"
    other = lines[1]
    assert other.startswith("on each other node: mpscope run --mode distributed --nnodes 2 ")
    assert f"--rdzv-endpoint {endpoint}" in other and re.search(r"--token [0-9a-f]{32}$", other)
    assert lines[2] == LOOPBACK_NOTE  # the others could not reach a viewer on 127.0.0.1
    assert lines[-1] == (
        f"run error: the rendezvous at {endpoint} timed out after 3 s: not all 2 nodes joined "
        "(is every node started, with the same --nnodes and --rdzv-endpoint?)"
    )
    assert any(line.startswith("no rank reported to the viewer at 127.0.0.1:") for line in lines)


def test_a_rendezvous_port_in_use_and_a_viewer_port_in_use_are_one_line_each() -> None:
    with socket.create_server(("127.0.0.1", 0)) as taken:
        port = taken.getsockname()[1]
        endpoint = _mpscope(
            *("run", "--mode", "distributed", "--nnodes", "2"),
            *("--rdzv-endpoint", f"127.0.0.1:{port}"),
            timeout=30,
        )
        viewer = _mpscope("run", "--mode", "distributed", "--port", str(port), timeout=30)
    assert endpoint.returncode == 2 and endpoint.stdout == ""
    assert endpoint.stderr == (
        f"mpscope: error: --rdzv-endpoint 127.0.0.1:{port}: port {port} is in use on this machine\n"
    )
    assert viewer.returncode == 2 and viewer.stdout == ""
    assert f"cannot listen on 127.0.0.1:{port}" in viewer.stderr
    assert viewer.stderr.count("\n") == 1
