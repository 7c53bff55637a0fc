"""The ``mpscope`` command line: ``run``, ``replay``, ``lesson``, ``gen``, ``export`` and ``serve``;
no arguments opens the app.

Here: the parser, a run's scenario from its options, and ``main``, which hands ``replay`` to
:mod:`.replay_command` and ``lesson`` to :mod:`.lesson.command` (what they share is in
:mod:`.cli_support`). Bad input gets one line on stderr naming the problem and exit code 2,
before any process starts. Textual and torch are imported only when needed, so errors and
``--help`` are fast.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import sys
from collections.abc import Iterator, Sequence
from typing import Final, NoReturn

from mpscope.core.export.perfetto import TraceError
from mpscope.core.loading import SpecError
from mpscope.core.pipeline.recording import RecordingError
from mpscope.core.pipeline.scenario import (
    MODES,
    START_METHODS,
    Mode,
    Scenario,
    ScenarioError,
    make_scenario,
)
from mpscope.tui.cli_support import (
    MAX_SPEED,
    MIN_SPEED,
    UsageError,
    check_writable,
    fail,
    no_timeline_without_plain,
    timeline_seconds,
    to_a_pipe,
)
from mpscope.tui.replay_command import exit_after_seconds
from mpscope.tui.session.terminal import NO_TERMINAL_NOTE, has_terminal

MODE_ALIASES = {
    "task1": Mode.PRINT,
    "task2": Mode.COLLECT_AFTER,
    "task3": Mode.PIPELINE,
    "1": Mode.PRINT,
    "2": Mode.COLLECT_AFTER,
    "3": Mode.PIPELINE,
}


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
        "fill-shared (one tensor the main process made with share_memory_(): each task fills "
        "its slice of --tensor-size elements in place and sends no data back), "
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
    add(
        "--tensor-size",
        default="1000",
        help="elements per --function tensor result, or per fill-shared slice (1000)",
    )
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
    add(
        "--lang",
        default="en",
        choices=("en", "zh"),
        help="zh: Task 1 and Task 3's collector print the seed's lines (计数=1, 收到第 1/10 个)",
    )
    add("--exit-after", metavar="SECONDS", help="the app leaves SECONDS after the run ends")
    add("--cast", metavar="FILE", help="record the app's screen as an asciicast (asciinema's)")
    add("--size", default="120x40", help="--cast: the screen, COLUMNSxROWS")
    add("--headless", action="store_true", help="--cast: record without showing it here")


def locale_language(environ: dict[str, str] | None = None) -> str:
    """``zh`` when the locale is Chinese (``LC_ALL``, ``LC_MESSAGES`` or ``LANG``, the first
    one set, as gettext reads them), else ``en``."""
    env = os.environ if environ is None else environ
    for name in ("LC_ALL", "LC_MESSAGES", "LANG"):
        value = env.get(name, "")
        if value:
            return "zh" if value.lower().startswith("zh") else "en"
    return "en"


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
    replay.add_argument("--cast", metavar="FILE", help="record the replay as an asciicast")
    replay.add_argument("--size", default="120x40", help="--cast: the screen, COLUMNSxROWS")
    replay.add_argument("--headless", action="store_true", help="--cast: record, not shown")
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
    lesson.add_argument(
        "--lang",
        default=locale_language(),
        choices=("en", "zh"),
        help="captions' language (default: zh under a Chinese locale, else en)",
    )
    lesson.add_argument("--speed", default="1", help="the runs' speed and the holds' (default 1)")
    lesson.add_argument("--exit", action="store_true", help="leave when the lesson is over")
    lesson.add_argument("--list", action="store_true", help="list the lesson's steps and leave")
    lesson.add_argument(
        "--presenter", action="store_true", help="wait for → or space after each step; ← goes back"
    )
    lesson.add_argument(
        "--cast", metavar="FILE", help="record the lesson as an asciicast (asciinema's format)"
    )
    lesson.add_argument("--size", default="120x40", help="--cast: the screen, COLUMNSxROWS")
    lesson.add_argument(
        "--headless", action="store_true", help="--cast: record without showing it here"
    )
    sub.add_parser(  # parsed by mpscope.tui.dist_cli
        "watch", help="listen for the reports of your own torchrun ranks (--host, --port)"
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
        lang=args.lang,
    )
    check_task_function(scenario.function)
    scenario, device_notes = usable_device(scenario)
    return scenario, [*speed_notes, *notes, *device_notes]


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
        if argv[0] in ("run", "replay"):
            from mpscope.tui.cast_command import cast_command, take_cast_options

            rest, cast = take_cast_options(argv[1:])
            if cast is not None:
                return cast_command(argv[0], rest, cast)
        if argv[0] == "watch":
            from mpscope.tui.dist_cli import watch_command

            return watch_command(argv[1:])
        if argv[0] == "run" and _wants_distributed(argv[1:]):
            from mpscope.tui.dist_cli import run_distributed_command

            return run_distributed_command(argv[1:])
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
            from mpscope.tui.replay_command import replay

            return replay(args)
        if args.command == "lesson":
            from mpscope.tui.lesson.command import lesson

            return lesson(args)
        if not args.plain:  # an error with or without a terminal
            no_timeline_without_plain(args.timeline)
        plain = args.plain or not has_terminal()
        scenario, notes = scenario_from_args(args, app=not plain)
        if args.record:
            check_writable(args.record)
        if args.trace:
            check_writable(args.trace, "trace")
        if plain and not args.plain:
            print(NO_TERMINAL_NOTE, file=sys.stderr)
        with _tracing(args.record, args.trace) as record:
            if plain:
                from mpscope.tui.views.plain import run_plain

                timeline = timeline_seconds(args.timeline)
                return to_a_pipe(lambda: run_plain(scenario, notes, record, timeline))
            no_timeline_without_plain(args.timeline)
            from mpscope.tui.app import run_app

            exit_after = None if args.exit_after is None else exit_after_seconds(args.exit_after)
            return run_app(scenario, notes, record, not args.no_animation, exit_after)
    except UsageError as exc:
        return fail(f"{exc} (see mpscope --help)")
    except (ScenarioError, SpecError, RecordingError, TraceError) as exc:
        return fail(str(exc))


def _wants_distributed(argv: Sequence[str]) -> bool:
    from mpscope.tui.cli_support import DISTRIBUTED_MODES, asks_for_mode

    return asks_for_mode(argv, DISTRIBUTED_MODES)  # without importing the mode's command line


def _wants_loader(argv: Sequence[str]) -> bool:
    from mpscope.tui.loader_cli import wants_loader

    return wants_loader(argv)


def _trace_name(recording: str) -> str:
    """``run.jsonl`` -> ``run.trace.json``, in the current folder."""
    from pathlib import Path

    return Path(recording).with_suffix("").name + ".trace.json"


def _export(recording: str, output: str) -> int:
    from mpscope.core.dataloader.events import LoaderRecordError, is_loader_recording
    from mpscope.core.distributed.events import DistRecordError, is_dist_recording
    from mpscope.core.export.perfetto import export_recording

    if is_dist_recording(recording):
        from mpscope.core.export.perfetto_dist import export_dist_recording

        try:
            count = export_dist_recording(recording, output)
        except DistRecordError as exc:
            raise RecordingError(str(exc)) from None
    elif is_loader_recording(recording):
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


if __name__ == "__main__":
    sys.exit(main())
