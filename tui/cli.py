"""The ``mpscope`` command line: ``run``, ``replay``, ``lesson``, ``gen``, ``export`` and ``serve``;
no arguments opens the app.

Bad input gets one line on stderr naming the problem and exit code 2, before any process
starts. Textual and torch are imported only when needed, so errors and ``--help`` are fast.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import signal
import sys
from collections.abc import Callable, Iterator, Sequence
from typing import Final, NoReturn

from mpscope.core.export.perfetto import TraceError
from mpscope.core.loading import SpecError
from mpscope.core.pipeline.recording import RecordingError
from mpscope.core.pipeline.scenario import (
    MAX_TIME_SCALE,
    MIN_TIME_SCALE,
    MODES,
    START_METHODS,
    Mode,
    Scenario,
    ScenarioError,
    make_scenario,
)
from mpscope.tui.session.exit_codes import signal_exit_code
from mpscope.tui.session.terminal import NO_TERMINAL_NOTE, has_terminal

MODE_ALIASES = {
    "task1": Mode.PRINT,
    "task2": Mode.COLLECT_AFTER,
    "task3": Mode.PIPELINE,
    "1": Mode.PRINT,
    "2": Mode.COLLECT_AFTER,
    "3": Mode.PIPELINE,
}
EXIT_USAGE = 2


class UsageError(Exception):
    """Bad command-line input; the message is one line."""


class _Parser(argparse.ArgumentParser):
    """argparse that reports errors as one line and exit code 2."""

    def error(self, message: str) -> NoReturn:
        raise UsageError(message)


def _scenario_options(parser: argparse.ArgumentParser) -> None:
    add = parser.add_argument
    add(
        "--mode",
        "-m",
        default=Mode.PIPELINE.value,
        help=f"task1|task2|task3 or {'|'.join(MODES)} (default: pipeline = Task 3)",
    )
    add("--workers", "-w", default="3", help="compute worker processes (default 3, at most 64)")
    add("--tasks", "-n", dest="count", default="10", help="how many values the source yields")
    add("--first", default="1", help="first value of the task range (default 1)")
    add("--source", default="range", help="range | batches (the seed's batch_generator)")
    add("--batch-size", default="8", help="values per batch with --source batches (default 8)")
    add(
        "--function",
        "-f",
        default="square",
        help="task function: square, big (square + 256 KB: join-before-drain in Task 2), "
        "tensor (a float32 tensor of --tensor-size elements, shared, not copied), "
        "module:function or path/to/file.py:function",
    )
    add("--work-time", default="0.3", help="simulated seconds of work per task (default 0.3)")
    add("--collect-time", default="0.1", help="simulated seconds per collected result (0.1)")
    add("--jitter", default="0", help="random share added to work time, 0..1 (seeded)")
    add("--seed", default="0", help="seed for --jitter (default 0)")
    add("--queue-bound", default="5", help="task queue capacity (default 5)")
    add("--start-method", "-s", default="forkserver", help=f"{' | '.join(START_METHODS)}")
    add(
        "--sharing",
        default="file_descriptor",
        help="how tensors cross processes: file_descriptor (torch's default) | file_system",
    )
    add("--tensor-size", default="1000", help="elements per --function tensor result (1000)")
    add(
        "--device",
        default="cpu",
        help="cpu | cuda: where --function tensor makes its tensors (CUDA needs -s spawn: a "
        "forked child cannot use the CUDA its parent started)",
    )
    add("--print-count", default="5", help="Task 1: each worker prints 1..N (default 5)")
    add("--print-delay", default="0.1", help="Task 1: seconds between prints (default 0.1)")
    add(
        "--speed",
        default=None,
        help="time factor: 0.25 = slow motion, 4 = fast (default: 0.5 in the app, 1 with --plain)",
    )
    add("--present", action="store_true", help="a pace a room can follow: --speed 0.25")
    add("--fail-on", default="", help="task values whose task raises, e.g. 3,7")
    add("--record", metavar="FILE", help="write the run's events to FILE (JSON lines)")
    add("--trace", metavar="FILE", help="write the run as a Perfetto / chrome://tracing trace")
    add("--plain", action="store_true", help="no full-screen app: Rich live view or plain lines")
    add(
        "--timeline",
        metavar="SECONDS",
        help="--plain: draw the timeline over SECONDS (at least the run): runs compare by length",
    )
    add("--no-animation", action="store_true", help="tokens do not fly (key a toggles it)")


def build_parser() -> argparse.ArgumentParser:
    """The whole command line."""
    parser = _Parser(
        prog="mpscope",
        description="Watch a torch.multiprocessing pipeline and step Python generators, live.",
        epilog="With no command, mpscope opens the app on the seed's Task 3 (run's options work "
        "without the word run too).",
    )
    sub = parser.add_subparsers(dest="command", parser_class=_Parser)
    run = sub.add_parser("run", help="run a scenario (the app, or --plain)")
    _scenario_options(run)
    replay = sub.add_parser("replay", help="show a recorded run (the app, or --plain)")
    replay.add_argument("file", help="a recording written with --record")
    replay.add_argument("--plain", action="store_true", help="print instead of the app")
    replay.add_argument(
        "--timeline", metavar="SECONDS", help="--plain: draw the timeline over SECONDS"
    )
    replay.add_argument("--no-animation", action="store_true", help="tokens do not fly")
    replay.add_argument("--speed", default="1", help="replay time factor (default 1)")
    replay.add_argument(
        "--trim-start", action="store_true", help="skip the recorded start-up's waits"
    )
    replay.add_argument(
        "--exit-after", metavar="SECONDS", help="end by itself SECONDS after the recording ends"
    )
    replay.add_argument(
        "--follow",
        action="store_true",
        help="a recording still being written: keep up with it as it grows (as tail -f does)",
    )
    export = sub.add_parser(
        "export", help="a recording as a trace for Perfetto (ui.perfetto.dev) or chrome://tracing"
    )
    export.add_argument("file", help="a recording written with --record")
    export.add_argument(
        "-o", "--output", metavar="TRACE", help="the trace to write (default: FILE.trace.json)"
    )
    gen = sub.add_parser("gen", help="step a generator: an example name or module:function")
    gen.add_argument("name", nargs="?", help="example name, module:function or file.py:function")
    gen.add_argument("args", nargs="*", help="arguments as Python literals, e.g. 5 or '[1, 2]'")
    lesson = sub.add_parser(
        "lesson", help="play a lesson hands-free, captioned: the seed's tour, or a .toml file"
    )
    lesson.add_argument("name", nargs="?", default="seed", help="a built-in lesson or FILE.toml")
    lesson.add_argument("--lang", default="en", choices=("en", "zh"), help="captions' language")
    lesson.add_argument("--speed", default="1", help="the runs' speed and the holds' (default 1)")
    lesson.add_argument("--exit", action="store_true", help="leave when the lesson is over")
    lesson.add_argument("--list", action="store_true", help="list the lesson's steps and leave")
    lesson.add_argument(
        "--cast", metavar="FILE", help="record the lesson as an asciicast (asciinema's format)"
    )
    lesson.add_argument("--size", default="120x40", help="--cast: the screen, COLUMNSxROWS")
    lesson.add_argument(
        "--headless", action="store_true", help="--cast: record without showing it here"
    )
    sub.add_parser(  # parsed by mpscope.tui.serve: `serve [--host H] [--port P] [run's options]`
        "serve", help="the app in a browser tab: serve [--host H] [--port P] [run's options]"
    )
    return parser


#: How errors and notes name each setting: the option that sets it.
OPTION_NAMES: Final[dict[str, str]] = {
    "mode": "--mode",
    "workers": "--workers",
    "count": "--tasks",
    "first": "--first",
    "source": "--source",
    "batch_size": "--batch-size",
    "function": "--function",
    "work_time": "--work-time",
    "collect_time": "--collect-time",
    "jitter": "--jitter",
    "seed": "--seed",
    "queue_bound": "--queue-bound",
    "start_method": "--start-method",
    "print_count": "--print-count",
    "print_delay": "--print-delay",
    "fail_on": "--fail-on",
    "sharing": "--sharing",
    "tensor_size": "--tensor-size",
    "device": "--device",
}
MIN_SPEED: Final = 1 / MAX_TIME_SCALE
MAX_SPEED: Final = 1 / MIN_TIME_SCALE


#: Speeds when --speed is not given: the full-screen app goes at half speed, so that a room can
#: follow one task end to end; --present slower still; --plain and benchmarks keep real time.
APP_SPEED: Final = 0.5
PRESENT_SPEED: Final = 0.25
PLAIN_SPEED: Final = 1.0


def default_speed(args: argparse.Namespace, app: bool) -> str:
    """The speed of a run whose --speed was not given."""
    if getattr(args, "present", False):
        return str(PRESENT_SPEED)
    return str(APP_SPEED if app else PLAIN_SPEED)


def scenario_from_args(args: argparse.Namespace, app: bool = False) -> tuple[Scenario, list[str]]:
    """Validate the run options into a scenario (raises ScenarioError/SpecError); ``app``: it
    runs in the full-screen app (which sets the default speed)."""
    from mpscope.core.engine.tensors import usable_device
    from mpscope.core.pipeline.tasks import check_task_function

    mode = MODE_ALIASES.get(args.mode.lower(), args.mode.lower())
    given = args.speed if args.speed is not None else default_speed(args, app)
    try:
        speed = float(given)
    except ValueError:
        raise ScenarioError(f"--speed must be a number, got {given!r}") from None
    if not speed > 0:
        raise ScenarioError(f"--speed must be more than 0, got {given}")
    capped = min(MAX_SPEED, max(MIN_SPEED, speed))
    speed_notes = []
    if capped != speed:
        speed_notes.append(f"--speed {speed:g} is out of range; using {capped:g}")
    scenario, notes = make_scenario(
        OPTION_NAMES,
        mode=mode,
        workers=args.workers,
        count=args.count,
        first=args.first,
        source=args.source,
        batch_size=args.batch_size,
        function=args.function,
        work_time=args.work_time,
        collect_time=args.collect_time,
        jitter=args.jitter,
        seed=args.seed,
        queue_bound=args.queue_bound,
        start_method=args.start_method,
        print_count=args.print_count,
        print_delay=args.print_delay,
        time_scale=1 / capped,
        fail_on=args.fail_on,
        sharing=args.sharing,
        tensor_size=args.tensor_size,
        device=args.device,
    )
    check_task_function(scenario.function)
    scenario, device_notes = usable_device(scenario)
    return scenario, [*speed_notes, *notes, *device_notes]


def _fail(message: str) -> int:
    print(f"mpscope: error: {message}", file=sys.stderr)
    return EXIT_USAGE


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``mpscope`` console script."""
    parser = build_parser()
    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv or (argv[0].startswith("-") and argv[0] not in ("-h", "--help")):
        argv = ["run", *argv]  # `mpscope --workers 4` means `mpscope run --workers 4`
    try:
        if argv[0] == "serve":
            from mpscope.tui.serve import serve

            return serve(argv[1:])
        if argv[0] == "run" and _wants_loader(argv[1:]):
            from mpscope.tui.loader_cli import run_loader_command

            return run_loader_command(argv[1:])
        args = parser.parse_args(argv)
        if args.command == "gen":
            from mpscope.tui.stepper.app import run_gen_command

            return run_gen_command(args.name, list(args.args))
        if args.command == "export":
            return _export(args.file, args.output or _trace_name(args.file))
        if args.command == "replay":
            return _replay(args)
        if args.command == "lesson":
            return _lesson(args)
        if not args.plain:  # an error with or without a terminal
            _no_timeline_without_plain(args.timeline)
        plain = args.plain or not has_terminal()
        scenario, notes = scenario_from_args(args, app=not plain)
        if args.record:
            _check_writable(args.record)
        if args.trace:
            _check_writable(args.trace, "trace")
        if plain and not args.plain:
            print(NO_TERMINAL_NOTE, file=sys.stderr)
        with _tracing(args.record, args.trace) as record:
            if plain:
                from mpscope.tui.views.plain import run_plain

                timeline = _timeline_seconds(args.timeline)
                return _to_a_pipe(lambda: run_plain(scenario, notes, record, timeline))
            _no_timeline_without_plain(args.timeline)
            from mpscope.tui.app import run_app

            return run_app(scenario, notes, record, not args.no_animation)
    except UsageError as exc:
        return _fail(f"{exc} (see mpscope --help)")
    except (ScenarioError, SpecError, RecordingError, TraceError) as exc:
        return _fail(str(exc))


def _wants_loader(argv: Sequence[str]) -> bool:
    from mpscope.tui.loader_cli import wants_loader

    return wants_loader(argv)


def _replay_loader(path: str, plain: bool) -> int:
    """A recorded DataLoader run, printed as its run printed it."""
    from mpscope.core.dataloader.events import LoaderRecordError
    from mpscope.core.dataloader.report import replay_plain_loader

    try:
        if not plain:
            from mpscope.core.dataloader.report import read_recording
            from mpscope.tui.loader_app import run_loader_app

            return run_loader_app(events=read_recording(path))
        return replay_plain_loader(path)
    except LoaderRecordError as exc:
        raise RecordingError(str(exc)) from None


def _replay(args: argparse.Namespace) -> int:
    """``mpscope replay``: the recording is checked where that is cheap (its header, its first
    event, its last line) and then read as it plays, so a file of any size starts at once."""
    from mpscope.core.pipeline.recording import (
        check_header,
        check_recording,
        follow_recording,
        iter_recording,
    )

    path = args.file
    from mpscope.core.dataloader.events import is_loader_recording

    if is_loader_recording(path):
        return _replay_loader(path, args.plain)
    if args.follow:
        if args.plain:
            raise UsageError("--follow keeps up with a recording in the app: leave out --plain")
        check_header(path)  # a file that is not a recording fails here, not in the app
        if not has_terminal():
            raise UsageError("--follow shows the app and needs a terminal on stdin and stdout")
        _no_timeline_without_plain(args.timeline)
        from mpscope.tui.app import run_replay_app

        return run_replay_app(
            lambda following: follow_recording(path, following), path, not args.no_animation
        )
    if not args.plain:
        _no_timeline_without_plain(args.timeline)
    check_recording(path)
    if args.plain or _plain_without_terminal():
        from mpscope.tui.views.plain import replay_plain

        timeline = _timeline_seconds(args.timeline)
        return _to_a_pipe(lambda: replay_plain(iter_recording(path), timeline))
    from mpscope.tui.app import run_replay_app

    speed = _replay_speed(args.speed)
    exit_after = None if args.exit_after is None else _exit_after(args.exit_after)
    return run_replay_app(
        lambda _following: iter_recording(path),
        path,
        not args.no_animation,
        speed,
        args.trim_start,
        exit_after,
    )


def _replay_speed(value: str) -> float:
    try:
        speed = float(value)
    except ValueError:
        raise ScenarioError(f"--speed must be a number, got {value!r}") from None
    if not MIN_SPEED <= speed <= MAX_SPEED:
        raise ScenarioError(f"--speed must be from {MIN_SPEED:g} to {MAX_SPEED:g}, got {value}")
    return speed


def _exit_after(value: str) -> float:
    try:
        seconds = float(value)
    except ValueError:
        raise ScenarioError(f"--exit-after must be a number of seconds, got {value!r}") from None
    if not 0 <= seconds <= 3600:
        raise ScenarioError(f"--exit-after must be from 0 to 3600 seconds, got {value}")
    return seconds


def _lesson(args: argparse.Namespace) -> int:
    """``mpscope lesson``: the lesson is read and checked whole before anything plays."""
    from mpscope.core.lesson.model import LessonError, load_lesson

    try:
        lesson = load_lesson(args.name)
    except LessonError as exc:
        return _fail(str(exc))
    try:
        speed = float(args.speed)
    except ValueError:
        raise UsageError(f"--speed must be a number, got {args.speed!r}") from None
    if not MIN_SPEED <= speed <= MAX_SPEED:
        raise UsageError(f"--speed must be between {MIN_SPEED:g} and {MAX_SPEED:g}")
    if args.list:

        def listing() -> int:
            print(f"{lesson.title_in(args.lang)} ({len(lesson.steps)} steps)")
            for number, step in enumerate(lesson.steps, 1):
                print(f"{number:3}. {step.caption_in(args.lang)}")
            return 0

        return _to_a_pipe(listing)
    if args.cast:
        return _cast_lesson(args, lesson.title_in(args.lang))
    if args.headless:
        raise UsageError("--headless goes with --cast FILE")
    if not has_terminal():
        raise UsageError(
            "a lesson plays in the app and needs a terminal (or --cast FILE --headless)"
        )
    from mpscope.tui.lesson.player import run_lesson_app

    return run_lesson_app(lesson, args.lang, args.exit, speed)


def _cast_lesson(args: argparse.Namespace, title: str) -> int:
    """``mpscope lesson --cast FILE``: the same lesson in a terminal of ``--size``, recorded;
    it leaves when the lesson is over."""
    from mpscope.core.export.asciicast import CastError, parse_size, record_cast

    try:
        size = parse_size(args.size)
        _check_writable(args.cast, "cast")
        argv = [sys.executable, "-m", "mpscope.tui", "lesson", args.name, "--exit"]
        argv += ["--lang", args.lang, "--speed", str(args.speed)]
        code = record_cast(argv, args.cast, size, title, args.headless)
    except CastError as exc:
        return _fail(str(exc))
    print(f"wrote {args.cast}: play it with `asciinema play {args.cast}`", file=sys.stderr)
    return code


def _plain_without_terminal() -> bool:
    """No terminal to draw the app on: say so on stderr and show the run as ``--plain``."""
    if has_terminal():
        return False
    print(NO_TERMINAL_NOTE, file=sys.stderr)
    return True


def _trace_name(recording: str) -> str:
    """``run.jsonl`` -> ``run.trace.json``, in the current folder."""
    from pathlib import Path

    return Path(recording).with_suffix("").name + ".trace.json"


def _export(recording: str, output: str) -> int:
    from mpscope.core.dataloader.events import LoaderRecordError, is_loader_recording
    from mpscope.core.export.perfetto import export_recording

    if is_loader_recording(recording):
        from mpscope.core.export.perfetto_loader import export_loader_recording

        try:
            count = export_loader_recording(recording, output)
        except LoaderRecordError as exc:
            raise RecordingError(str(exc)) from None
    else:
        count = export_recording(recording, output)
    print(f"wrote {output}: {count:,} events; open it at ui.perfetto.dev or chrome://tracing")
    return 0


@contextlib.contextmanager
def _tracing(record: str | None, trace: str | None) -> Iterator[str | None]:
    """With ``--trace``, the run is recorded (to ``--record``'s file, or else beside the trace:
    ``t.json`` keeps ``t.jsonl``, which ``mpscope replay`` and ``export`` read) and exported
    when it is over: the first run, as ``--record`` keeps."""
    if trace is None:
        yield record
        return
    from pathlib import Path

    from mpscope.core.export.perfetto import export_recording

    source = record or str(Path(trace).with_suffix(".jsonl"))
    if source == trace:
        raise UsageError("--trace and --record name the same file")
    yield source
    if os.path.isfile(source) and os.path.getsize(source) > 0:
        export_recording(source, trace)
        print(f"wrote the trace {trace} (open it at ui.perfetto.dev)", file=sys.stderr)


def _no_timeline_without_plain(value: str | None) -> None:
    if value is not None:
        raise UsageError("--timeline draws the timeline of --plain's summary: add --plain")


def _to_a_pipe(write_out: Callable[[], int]) -> int:
    """Run a --plain output; if its reader goes away (``| head``), stop quietly (the run's
    processes are stopped on the way out) with SIGPIPE's exit code, as the shell tools do."""
    try:
        return write_out()
    except BrokenPipeError:
        devnull = os.open(os.devnull, os.O_WRONLY)  # nothing more may reach the closed pipe
        os.dup2(devnull, sys.stdout.fileno())
        return signal_exit_code(signal.SIGPIPE)


def _timeline_seconds(value: str | None) -> float | None:
    """``--timeline SECONDS``: a positive number of seconds, or None when not given."""
    if value is None:
        return None
    try:
        seconds = float(value)
    except ValueError:
        raise ScenarioError(f"--timeline must be a number of seconds, got {value!r}") from None
    if not 0 < seconds < 1e6:
        raise ScenarioError(f"--timeline must be more than 0 seconds, got {value}")
    return seconds


def _check_writable(path: str, what: str = "recording") -> None:
    """Fail early (before processes start) if a recording or trace cannot be written there."""
    from pathlib import Path

    target = Path(path)
    if target.is_dir():
        raise RecordingError(f"cannot write {what} {path}: it is a directory")
    if not target.parent.exists():
        raise RecordingError(f"cannot write {what} {path}: no folder {target.parent}")


if __name__ == "__main__":
    sys.exit(main())
