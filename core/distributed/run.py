"""``--mode distributed``: torchrun starts the ranks, the viewer listens to their reports.

:func:`run_distributed` opens a :class:`.Listener` (127.0.0.1, an ephemeral port, a new token),
starts ``python -m torch.distributed.run --standalone --nproc-per-node N -m
mpscope.core.distributed.train`` in its own session with the address and token in its
environment, and waits for it (or for ``stop``, or the run's time limit). torchrun's output
goes to a file, and each rank's stderr to a file of its own; if torchrun fails, its failure
summary (with the failed rank's traceback, which ``@record`` writes) is the run's error, with
the last lines the root-cause rank wrote (all a rank killed by a signal leaves behind). At the
end torchrun's session is ended, and so is any process still carrying this run's token in its
environment (a rank is a session of its own, and outlives a torchrun that was killed), so
nothing outlives the run.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import os
import re
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Final

from mpscope.core.distributed.events import DistEvent, DistFinished, DistStarted
from mpscope.core.distributed.listener import Listener, new_token
from mpscope.core.distributed.wire import ADDRESS_ENV, TOKEN_ENV

TRAIN_MODULE: Final = "mpscope.core.distributed.train"
STOP_GRACE: Final = 15.0
STDERR_LINES: Final = 15
RUN_ENV: Final = "MPSCOPE_RUN"


@dataclass(frozen=True, slots=True)
class DistSettings:
    """A distributed run: the world, the loop, the straggler and the faults to show."""

    world_size: int = 2
    steps: int = 10
    compute_time: float = 0.02
    slow_rank: int = -1
    slow_time: float = 0.1
    batch: int = 32
    features: int = 32
    hidden: int = 64
    seed: int = 0
    crash_rank: int = -1
    kill_rank: int = -1
    fault_step: int = 1
    time_limit: float = 300.0
    #: more than one node: this machine is one of them, met at ``rdzv_endpoint`` (c10d)
    nnodes: int = 1
    rdzv_endpoint: str = ""
    rdzv_timeout: float = 60.0

    def to_json(self) -> str:
        """JSON text of every field."""
        return json.dumps(dataclasses.asdict(self), separators=(",", ":"))

    @staticmethod
    def from_json(text: str) -> DistSettings:
        """Inverse of :meth:`to_json` (unknown fields ignored)."""
        data = json.loads(text)
        known = {f.name for f in dataclasses.fields(DistSettings)}
        return DistSettings(**{k: v for k, v in data.items() if k in known})

    def train_args(self) -> list[str]:
        """The rank script's options."""
        return [
            *("--steps", str(self.steps), "--batch", str(self.batch)),
            *("--features", str(self.features), "--hidden", str(self.hidden)),
            *("--compute-time", repr(self.compute_time), "--seed", str(self.seed)),
            *("--slow-rank", str(self.slow_rank), "--slow-time", repr(self.slow_time)),
            *("--crash-rank", str(self.crash_rank), "--kill-rank", str(self.kill_rank)),
            *("--fault-step", str(self.fault_step)),
        ]

    def launcher(self, log_dir: str | None = None) -> list[str]:
        """The torchrun command (``python -m torch.distributed.run``) that starts this node's
        ranks (``world_size`` of them); with ``log_dir``, each rank's stderr goes to a file of
        its own there."""
        logs = ("--log-dir", log_dir, "--redirects", "2") if log_dir else ()
        nodes: tuple[str, ...] = ("--standalone", "--nnodes", "1")
        if self.nnodes > 1:
            nodes = ("--nnodes", str(self.nnodes), "--rdzv-backend", "c10d")
            nodes += ("--rdzv-endpoint", self.rdzv_endpoint, "--rdzv-id", "mpscope")
            nodes += ("--rdzv-conf", f"join_timeout={max(1, round(self.rdzv_timeout))}")
        return [
            sys.executable,
            *("-m", "torch.distributed.run", *nodes),
            *("--nproc-per-node", str(self.world_size), "--max-restarts", "0"),
            *logs,
            *("-m", TRAIN_MODULE, *self.train_args()),
        ]


def rank_environment(address: str, token: str, run: str = "") -> dict[str, str]:
    """torchrun's environment: ours plus the viewer's address and token, and this run's own
    mark (what :func:`end_processes` ends; ranks inherit all of it)."""
    return {
        **os.environ,
        ADDRESS_ENV: address,
        TOKEN_ENV: token,
        RUN_ENV: run or token,
        "OMP_NUM_THREADS": "1",
        "PYTHONWARNINGS": "ignore:Failed to initialize NumPy",
    }


def processes_with_token(token: str) -> list[int]:
    """PIDs of the processes whose environment carries this token (torchrun, ranks)."""
    return processes_marked(TOKEN_ENV, token)


def processes_marked(name: str, value: str) -> list[int]:
    """PIDs of the processes whose environment has ``name=value``."""
    mark = f"{name}={value}".encode()
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        with contextlib.suppress(OSError):
            if mark in (entry / "environ").read_bytes().split(b"\0"):
                found.append(int(entry.name))
    return found


def end_processes(proc: subprocess.Popen[bytes], run: str) -> None:
    """End torchrun's session (SIGTERM: it stops its ranks; then SIGKILL), then anything else
    still carrying this run's mark (ranks of a torchrun that was killed). The mark is this
    node's own: other nodes' ranks share the token, never the mark."""
    if proc.poll() is None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=STOP_GRACE)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=5)
    deadline = time.monotonic() + 5
    while (left := processes_marked(RUN_ENV, run)) and time.monotonic() < deadline:
        for pid in left:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.kill(pid, signal.SIGKILL)
        time.sleep(0.05)


def failure_summary(output: str) -> str:
    """torchrun's failure summary (from its ``=====`` line before ``FAILED`` to the end), or
    the output's last lines."""
    lines = output.rstrip().splitlines()
    for i in range(len(lines) - 1):
        if set(lines[i].strip()) == {"="} and "FAILED" in lines[i + 1]:
            return "\n".join(lines[i:])
    return "\n".join(lines[-20:])


def root_cause_local_rank(summary: str) -> int | None:
    """The local rank torchrun's failure summary names as the root cause, if it names one."""
    found = re.search(r"Root Cause.*?local_rank:\s*(\d+)", summary, re.DOTALL)
    return int(found.group(1)) if found else None


def rank_stderr_tail(log_dir: Path, local_rank: int, lines: int = STDERR_LINES) -> str:
    """The last lines a local rank wrote to stderr (torchrun's ``--redirects`` file of its
    latest attempt), or nothing; what a rank that died of a signal said just before."""
    files = sorted(log_dir.glob(f"*/attempt_*/{local_rank}/stderr.log"))
    if not files:
        return ""
    text = files[-1].read_text(errors="replace").rstrip()
    return "\n".join(text.splitlines()[-lines:])


def failure_report(output: str, log_dir: Path) -> str:
    """The run's error: torchrun's failure summary, then the last stderr lines of the rank it
    names as the root cause (a rank killed by a signal has no traceback in the summary)."""
    summary = failure_summary(output)
    local_rank = root_cause_local_rank(summary)
    tail = rank_stderr_tail(log_dir, local_rank) if local_rank is not None else ""
    if not tail:
        return summary
    return f"{summary}\nlocal rank {local_rank}'s stderr ended with:\n{tail}"


def rendezvous_failure(output: str, settings: DistSettings) -> str:
    """One line for a rendezvous that timed out (torchrun's ``RendezvousTimeoutError``), naming
    the endpoint; empty otherwise."""
    if "RendezvousTimeoutError" not in output:
        return ""
    return (
        f"the rendezvous at {settings.rdzv_endpoint} timed out after "
        f"{settings.rdzv_timeout:g} s: not all {settings.nnodes} nodes joined "
        "(is every node started, with the same --nnodes and --rdzv-endpoint?)"
    )


def torch_version() -> str:
    """The installed torch's version, without importing it into the viewer."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("torch")
    except PackageNotFoundError:
        return "?"


def run_distributed(
    settings: DistSettings,
    emit: Callable[[DistEvent], None],
    stop: threading.Event | None = None,
    host: str = "127.0.0.1",
    port: int = 0,
    report_to: tuple[str, str] | None = None,
    token: str | None = None,
) -> str:
    """Run this node's ranks to their end; every event to ``emit`` (under one lock); the
    outcome. The ranks report to a viewer listening on ``host:port``, or, on a node of a
    multi-node run, to the first node's (``report_to``: its address and token); ``token``:
    the viewer's, when the other nodes were given it first."""
    start = time.monotonic_ns()
    run = new_token()
    listener: Listener | None = None
    if report_to is None:
        listener = Listener(token or new_token(), emit, start, host=host, port=port)
        address, token = listener.address, listener.token
        say: Callable[[DistEvent], None] = listener.emit
    else:
        (address, token), lock = report_to, threading.Lock()

        def say(event: DistEvent) -> None:
            with lock:
                emit(event)

    logs = tempfile.TemporaryDirectory(prefix="mpscope-ranks-")
    command = settings.launcher(logs.name)
    say(DistStarted(0, settings.to_json(), torch_version(), address, " ".join(command)))
    if listener is not None:
        listener.start()
    outcome, error = "completed", ""
    with logs, tempfile.TemporaryFile() as output:
        proc = subprocess.Popen(
            command,
            env=rank_environment(address, token, run),
            stdin=subprocess.DEVNULL,
            stdout=output,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        deadline = time.monotonic() + settings.time_limit
        try:
            while proc.poll() is None:
                if stop is not None and stop.is_set():
                    outcome = "stopped"
                    break
                if time.monotonic() > deadline:
                    outcome, error = "error", f"the run took over {settings.time_limit:g} s"
                    break
                with contextlib.suppress(subprocess.TimeoutExpired):
                    proc.wait(timeout=0.1)
        finally:
            end_processes(proc, run)
            if listener is not None:
                listener.close()
        if outcome == "completed" and proc.returncode != 0:
            output.seek(0)
            text = output.read().decode(errors="replace")
            error = rendezvous_failure(text, settings) or failure_report(text, Path(logs.name))
            outcome = "error"
    say(DistFinished(time.monotonic_ns() - start, outcome, error[:8000]))
    return outcome
