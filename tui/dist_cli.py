"""``mpscope run --mode distributed`` and ``mpscope watch``: ranks of torch.distributed as lanes,
printed as the run goes and summed up at its end with a per-rank Gantt.

``run --mode distributed`` starts the ranks with torchrun (``--standalone``) on gloo, each
running mpscope's small data-parallel loop; ``watch`` listens for the reports of a script the
user launches themselves (it prints the environment their ranks need). Both print one line per
rank that joins and one per step once every rank reported it (its time across the world, the
share spent in collectives, whether the ranks' parameter checksums agree), then the summary.
``--record FILE`` writes the events as JSON lines; ``mpscope replay FILE`` prints them again.

Ctrl+C (or SIGTERM, SIGHUP) stops the run: torchrun's ranks are ended, nothing outlives it, and
the exit code is the signal's (130 for Ctrl+C). Bad input: one line, exit 2, before anything
starts.
"""

from __future__ import annotations

import argparse
import signal
import sys
import threading
from collections.abc import Callable, Sequence
from typing import IO, TYPE_CHECKING, NoReturn

from mpscope.core.distributed.events import DistEvent, to_json
from mpscope.core.distributed.listener import new_token
from mpscope.core.distributed.report import parse_address
from mpscope.core.distributed.state import DistState
from mpscope.core.distributed.summary import live_lines, summary_lines, unsaid_steps
from mpscope.tui.cli_support import check_writable
from mpscope.tui.dist_nodes import endpoint_free, free_port, other_nodes_command
from mpscope.tui.session.exit_codes import exit_code
from mpscope.tui.session.terminal import has_terminal

if TYPE_CHECKING:
    from mpscope.core.distributed.listener import Listener

SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)
LOOPBACK_HOSTS = ("127.0.0.1", "localhost", "::1")
LOOPBACK_NOTE = "(the viewer listens on this machine only: --host ADDRESS lets the others reach it)"


class DistUsageError(Exception):
    """Bad input for the distributed mode or ``watch``; one line."""


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        raise DistUsageError(message)


def _run_parser() -> argparse.ArgumentParser:
    p = _Parser(prog="mpscope run --mode distributed", description=__doc__)
    add = p.add_argument
    add("--mode", "-m", default="distributed")
    add("--workers", "-w", type=int, default=2, help="the world size: ranks to start (2)")
    add("--steps", type=int, default=10, help="training steps (10)")
    add("--compute-time", type=float, default=0.02, help="seconds of compute a step (0.02)")
    add("--slow-rank", type=int, default=-1, help="this rank is a straggler (none)")
    add("--slow-time", type=float, default=0.1, help="the straggler's extra seconds (0.1)")
    add("--crash-rank", type=int, default=-1, help="this rank raises at --fault-step")
    add("--kill-rank", type=int, default=-1, help="this rank is SIGKILLed at --fault-step")
    add("--fault-step", type=int, default=1, help="the step a fault happens in (1)")
    add("--batch", type=int, default=32, help="samples per rank and step (32)")
    add("--seed", type=int, default=0, help="seed of the model and the data (0)")
    add("--time-limit", type=float, default=300.0, help="end the run after SECONDS (300)")
    add("--nnodes", type=int, default=1, help="machines in the run (1: --standalone)")
    add("--rdzv-endpoint", default="", help="HOST:PORT the nodes meet at (c10d; --nnodes > 1)")
    add("--rdzv-timeout", type=float, default=60.0, help="seconds to wait for every node (60)")
    add("--host", default="127.0.0.1", help="the viewer listens here (other nodes report to it)")
    add("--port", type=int, default=0, help="the viewer's port (0: any free one)")
    add("--report-to", default="", metavar="ADDRESS", help="a node: report to that viewer")
    add("--token", default="", help="with --report-to: the token that viewer printed")
    add("--record", metavar="FILE", help="write the run's events to FILE (JSON lines)")
    add("--plain", action="store_true", help="print the lines and the summary, not the screen")
    return p


def _watch_parser() -> argparse.ArgumentParser:
    p = _Parser(prog="mpscope watch", description=__doc__)
    add = p.add_argument
    add("--host", default="127.0.0.1", help="the address to listen on (127.0.0.1: this machine)")
    add("--port", type=int, default=0, help="the port (0: any free one)")
    add("--record", metavar="FILE", help="write the reports to FILE (JSON lines)")
    add("--exit-after", type=float, metavar="SECONDS", help="stop listening after SECONDS")
    add("--plain", action="store_true", help="print the lines and the summary, not the screen")
    return p


def _check(name: str, value: float, low: float, high: float) -> None:
    if not low <= value <= high:
        raise DistUsageError(f"{name} must be {low:g}..{high:g}, got {value:g}")


def settings_from_args(args: argparse.Namespace) -> object:
    """The run's :class:`.DistSettings`, every option checked."""
    from mpscope.core.distributed.run import DistSettings

    _check("--workers", args.workers, 1, 16)
    _check("--steps", args.steps, 1, 100_000)
    _check("--batch", args.batch, 1, 100_000)
    _check("--fault-step", args.fault_step, 0, args.steps - 1)
    for name, seconds in (("--compute-time", args.compute_time), ("--slow-time", args.slow_time)):
        _check(name, seconds, 0, 60)
    _check("--time-limit", args.time_limit, 1, 86_400)
    for name, rank in (
        ("--slow-rank", args.slow_rank),
        ("--crash-rank", args.crash_rank),
        ("--kill-rank", args.kill_rank),
    ):
        if rank != -1:
            _check(name, rank, 0, args.workers - 1)
    _check("--nnodes", args.nnodes, 1, 64)
    _check("--rdzv-timeout", args.rdzv_timeout, 1, 3600)
    _check("--port", args.port, 0, 65_535)
    if args.nnodes > 1:
        if not args.rdzv_endpoint:
            raise DistUsageError("--nnodes above 1 needs --rdzv-endpoint HOST:PORT")
        endpoint_free(args.rdzv_endpoint)
    elif args.rdzv_endpoint or args.report_to:
        raise DistUsageError("--rdzv-endpoint and --report-to are for --nnodes 2 or more")
    if args.report_to:
        parse_address(args.report_to)
        if not args.token:
            raise DistUsageError("--report-to needs --token (the viewer's, as it printed it)")
    return DistSettings(
        nnodes=args.nnodes,
        rdzv_endpoint=args.rdzv_endpoint,
        rdzv_timeout=args.rdzv_timeout,
        world_size=args.workers,
        steps=args.steps,
        compute_time=args.compute_time,
        slow_rank=args.slow_rank,
        slow_time=args.slow_time,
        batch=args.batch,
        seed=args.seed,
        crash_rank=args.crash_rank,
        kill_rank=args.kill_rank,
        fault_step=args.fault_step,
        time_limit=args.time_limit,
    )


class _Printer:
    """Folds events, prints what each one adds, writes the recording; thread-safe because the
    listener emits under one lock."""

    def __init__(self, out: IO[str], record: str | None) -> None:
        self.out = out
        self.state = DistState()
        self.printed: set[int] = set()
        self.sink = open(record, "w", encoding="utf-8") if record else None  # noqa: SIM115
        self.reader_gone = threading.Event()

    def emit(self, event: DistEvent) -> None:
        self.state.apply(event)
        if self.sink is not None:
            self.sink.write(to_json(event) + "\n")
            self.sink.flush()
        self.say(live_lines(self.state, event, self.printed))

    def say(self, lines: list[str]) -> None:
        if not lines or self.reader_gone.is_set():
            return
        try:
            self.out.write("".join(f"{line}\n" for line in lines))
            self.out.flush()
        except BrokenPipeError:  # `| head`: the run is stopped, quietly
            self.reader_gone.set()

    def finish(self) -> None:
        if self.sink is not None:
            self.sink.close()
        unsaid = unsaid_steps(self.state, self.printed)
        self.say([*unsaid, "", *summary_lines(self.state)])


def _until_done(
    body: Callable[[threading.Event], str], printer: _Printer
) -> tuple[str, int | None]:
    """Run ``body(stop)`` on a thread; a signal (or the reader going away) sets ``stop``. The
    outcome and the signal that stopped it, if one did."""
    stop = threading.Event()
    caught: list[int] = []

    def on_signal(signum: int, _frame: object) -> None:
        caught.append(signum)
        stop.set()

    previous = {s: signal.signal(s, on_signal) for s in SIGNALS}
    outcome: list[str] = []
    thread = threading.Thread(target=lambda: outcome.append(body(stop)), name="distributed")
    thread.start()
    try:
        while thread.is_alive():
            thread.join(0.2)
            if printer.reader_gone.is_set():
                stop.set()
    finally:
        for s, handler in previous.items():
            signal.signal(s, handler)
    return (outcome[0] if outcome else "error"), (caught[0] if caught else None)


def run_distributed_command(argv: Sequence[str], out: IO[str] | None = None) -> int:
    """``mpscope run --mode distributed``: parse, check, run; the exit code."""
    from mpscope.core.distributed.run import DistSettings, run_distributed

    try:
        args = _run_parser().parse_args(list(argv))
        settings = settings_from_args(args)
        if args.record:
            check_writable(args.record)
    except (DistUsageError, ValueError) as exc:
        print(f"mpscope: error: {exc}", file=sys.stderr)
        return 2
    assert isinstance(settings, DistSettings)
    report_to = (args.report_to, args.token) if args.report_to else None
    token = new_token()
    hint = ""
    if report_to is None and (settings.nnodes > 1 or args.port):
        try:  # the viewer's port: taken now, and known before the other nodes are told it
            args.port = free_port(args.host, args.port)
        except OSError as exc:
            reason = exc.strerror or exc
            print(
                f"mpscope: error: cannot listen on {args.host}:{args.port}: {reason}",
                file=sys.stderr,
            )
            return 2
        if settings.nnodes > 1:
            command = other_nodes_command(argv, f"{args.host}:{args.port}", token)
            hint = f"on each other node: {command}"
            if args.host in LOOPBACK_HOSTS:
                hint += f"\n{LOOPBACK_NOTE}"

    def source(emit: Callable[[DistEvent], None], stop: threading.Event) -> str:
        return run_distributed(settings, emit, stop, args.host, args.port, report_to, token)

    if not args.plain and out is None and has_terminal() and report_to is None:
        from mpscope.tui.dist_app import run_dist_app

        return run_dist_app(source, args.record, hint)
    printer = _Printer(out or sys.stdout, args.record)
    nodes = f" on node 1 of {settings.nnodes}" if settings.nnodes > 1 else ""
    ranks = f"{settings.world_size} rank{'s' if settings.world_size != 1 else ''}"
    started = f"starting {ranks}{nodes} with torchrun (gloo), "
    printer.say([f"{started}{settings.steps} steps", *([hint] if hint else [])])
    if report_to is not None:
        printer.say([f"its ranks report to the viewer at {report_to[0]}"])
    outcome, signum = _until_done(lambda stop: source(printer.emit, stop), printer)
    if report_to is not None:  # the viewer shows the lanes; this node says how its ranks ended
        printer.say([f"run {outcome}", *([printer.state.error] if printer.state.error else [])])
    else:
        printer.finish()
    return 141 if printer.reader_gone.is_set() else exit_code(outcome, signum)


def watch_command(argv: Sequence[str], out: IO[str] | None = None) -> int:
    """``mpscope watch``: listen for a user's ranks until Ctrl+C (or ``--exit-after``)."""
    from mpscope.core.distributed.watch import launch_hint, open_listener, watch_reports

    try:
        args = _watch_parser().parse_args(list(argv))
        _check("--port", args.port, 0, 65_535)
        if args.exit_after is not None:
            _check("--exit-after", args.exit_after, 0.1, 86_400)
        if args.record:
            check_writable(args.record)
    except (DistUsageError, ValueError) as exc:
        print(f"mpscope: error: {exc}", file=sys.stderr)
        return 2
    app = not args.plain and out is None and has_terminal()
    printer = _Printer(out or sys.stdout, None if app else args.record)
    relay = _Relay(None if app else printer.emit)
    try:
        listener = open_listener(relay.emit, args.host, args.port)
    except OSError as exc:
        print(
            f"mpscope: error: cannot listen on {args.host}:{args.port}: {exc.strerror or exc}",
            file=sys.stderr,
        )
        return 2
    hint = launch_hint(listener.address, listener.token)
    lines = [f"mpscope watch: listening on {listener.address}", "start your ranks with:"]
    lines.append(f"  {hint} \\")  # two lines, each short enough to copy whole
    lines.append("    torchrun --nproc-per-node 2 your_script.py")
    lines.append("(your script: from mpscope.core.distributed import report as mpscope)")
    if args.host not in LOOPBACK_HOSTS:
        lines.append("listening beyond this machine: only reports with the token count")
    if app:
        from mpscope.tui.dist_app import run_dist_app

        def source(emit: Callable[[DistEvent], None], stop: threading.Event) -> str:
            relay.attach(emit)
            if args.exit_after is not None:
                return _watch_for(listener, stop, args.exit_after)
            return watch_reports(listener, stop)

        return run_dist_app(source, args.record, "\n".join(lines[1:-1]))
    lines.append("Ctrl+C stops watching")
    printer.say(lines)

    def body(stop: threading.Event) -> str:
        if args.exit_after is not None:
            return _watch_for(listener, stop, args.exit_after)
        return watch_reports(listener, stop)

    outcome, signum = _until_done(body, printer)
    printer.finish()
    if printer.reader_gone.is_set():
        return 141
    return 0 if signum == signal.SIGINT else exit_code(outcome, signum)


class _Relay:
    """Holds the events a listener emits until their receiver is there (the app's fold)."""

    def __init__(self, target: Callable[[DistEvent], None] | None) -> None:
        self.target = target
        self.held: list[DistEvent] = []

    def emit(self, event: DistEvent) -> None:
        if self.target is None:
            self.held.append(event)
        else:
            self.target(event)

    def attach(self, target: Callable[[DistEvent], None]) -> None:
        """From now on to ``target``, what was held first (before the listener starts)."""
        for event in self.held:
            target(event)
        self.held.clear()
        self.target = target


def _watch_for(listener: Listener, stop: threading.Event, seconds: float) -> str:
    """:func:`.watch_reports` that also stops after ``seconds``."""
    from mpscope.core.distributed.watch import watch_reports

    timer = threading.Timer(seconds, stop.set)
    timer.daemon = True  # a stop that comes first must not wait for it
    timer.start()
    try:
        return watch_reports(listener, stop)
    finally:
        timer.cancel()


def replay_distributed(path: str, plain: bool = True, out: IO[str] | None = None) -> int:
    """Show a recorded distributed run again: in the app, or (``plain``, or no terminal) its
    lines, then its summary."""
    from mpscope.core.distributed.events import read_dist_recording

    if not plain and out is None and has_terminal():
        from mpscope.tui.dist_app import recorded, run_dist_app

        source = recorded(read_dist_recording(path))
        code = run_dist_app(source, hint=f"a recording: {path} (what it shows was measured then)")
        return 0 if code == 1 else code  # a replay shows a failed run: it does not fail
    printer = _Printer(out or sys.stdout, None)
    for event in read_dist_recording(path):
        printer.emit(event)
    printer.finish()
    return 0
