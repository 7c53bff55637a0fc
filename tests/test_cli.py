"""The command line: bad input is one line and exit code 2; real runs end cleanly on signals."""

from __future__ import annotations

import os
import queue
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import psutil
import pytest

from mpscope.core.pipeline.event_json import to_json
from mpscope.core.pipeline.events import RunFinished, TaskQueued
from mpscope.core.pipeline.recording import RecordingWriter, header_line
from mpscope.tui.cli import main

ROOT = Path(__file__).parent.parent
FIXTURES = Path(__file__).parent / "fixtures"
CONSOLE_SCRIPT = Path(sys.executable).parent / "mpscope"
QUICK = ["--tasks", "2", "--work-time", "0", "--collect-time", "0"]


def _one_line_error(capsys: pytest.CaptureFixture[str], argv: list[str]) -> str:
    """Run ``mpscope argv`` in-process; it must fail with code 2 and one line on stderr."""
    code = main(argv)
    out, err = capsys.readouterr()
    assert code == 2, (argv, code, out, err)
    lines = err.splitlines()
    assert len(lines) == 1, (argv, err)
    prefix = "mpscope gen: error: " if argv[:1] == ["gen"] else "mpscope: error: "
    assert lines[0].startswith(prefix), (argv, err)
    assert "Traceback" not in err and "Traceback" not in out
    assert out == "", (argv, out)
    return lines[0]


@pytest.mark.parametrize(
    ("argv", "words"),
    [
        (["run", "--workers", "0"], "--workers must be at least 1"),
        (["run", "--workers", "-3"], "workers"),
        (["run", "--workers", "abc"], "--workers must be a whole number"),
        (["run", "--workers", "2.5"], "workers"),
        (["run", "--mode", "foo"], "unknown --mode 'foo'"),
        (["run", "--start-method", "bogus"], "unknown --start-method"),
        (["run", "--source", "nowhere"], "unknown --source"),
        (["run", "--function", "nosuch:fn"], "nosuch"),
        (["run", "--function", "nosuch"], "nosuch"),
        (["run", "--function", f"{FIXTURES}/broken_module.py:f"], "RuntimeError"),
        (["run", "--function", f"{FIXTURES}/user_tasks.py:NOT_CALLABLE"], "not callable"),
        (["run", "--function", f"{FIXTURES}/user_tasks.py:missing"], "missing"),
        (["run", "--function", f"{FIXTURES}/user_tasks.py:not_picklable"], "picklable"),
        (["run", "--speed", "0"], "speed"),
        (["run", "--speed", "-1"], "speed"),
        (["run", "--speed", "fast"], "speed"),
        (["run", "--speed", "nan"], "speed"),
        (["run", "--work-time", "nan"], "--work-time must be a finite number"),
        (["run", "--work-time", "inf"], "--work-time"),
        (["run", "--work-time", "-1"], "--work-time must be at least 0"),
        (["run", "--tasks", "0"], "--tasks must be at least 1"),
        (["run", "--queue-bound", "0"], "--queue-bound must be at least 1"),
        (["run", "--batch-size", "0"], "--batch-size must be at least 1"),
        (["run", "--fail-on", "x"], "--fail-on must be a whole number"),
        (["run", "--plain", "--timeline", "abc"], "--timeline must be a number of seconds"),
        (["run", "--plain", "--timeline", "0"], "--timeline must be more than 0 seconds"),
        (["run", "--timeline", "2"], "--timeline draws the timeline of --plain's summary"),
        (["replay", "tests/recordings/task3.jsonl", "--timeline", "2"], "add --plain"),
        (["run", "--record", "/nonexistent/dir/x.jsonl"], "/nonexistent/dir"),
        (["run", "--plain", "--record", "/nonexistent/dir/x.jsonl"], "/nonexistent/dir"),
        (["replay", "/etc/passwd"], "/etc/passwd"),
        (["replay", "/etc/passwd", "--plain"], "/etc/passwd"),
        (["replay", "missing.jsonl"], "missing.jsonl"),
        (["replay", "--follow", "/etc/passwd"], "/etc/passwd"),
        (["replay", "--follow", "--plain", "tests/recordings/task3.jsonl"], "leave out --plain"),
        (["replay"], "file"),
        (["--nosuchflag"], "--nosuchflag"),
        (["run", "--nosuchflag"], "--nosuchflag"),
        (["nosuchcommand"], "nosuchcommand"),
    ],
)
def test_bad_input_is_one_line_and_exit_code_2(
    capsys: pytest.CaptureFixture[str], argv: list[str], words: str
) -> None:
    line = _one_line_error(capsys, argv)
    assert words in line


def test_a_recording_into_a_directory(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    assert "directory" in _one_line_error(capsys, ["run", "--plain", "--record", str(tmp_path)])


def test_replay_of_a_directory(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    _one_line_error(capsys, ["replay", "--plain", str(tmp_path)])


def test_replay_of_a_truncated_recording(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    path = tmp_path / "cut.jsonl"
    lines = [
        header_line(),
        to_json(TaskQueued(1, 1, "1")),
        to_json(RunFinished(2, "completed", "")),
    ]
    path.write_text("\n".join(lines)[:-5], encoding="utf-8")
    line = _one_line_error(capsys, ["replay", "--plain", str(path)])
    assert "truncated" in line and "last line" in line  # found without reading it all


def test_replay_of_binary_garbage(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    path = tmp_path / "garbage.jsonl"
    path.write_bytes(bytes(range(256)) * 10)
    _one_line_error(capsys, ["replay", "--plain", str(path)])


def test_replay_of_an_empty_file(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    path = tmp_path / "empty.jsonl"
    path.write_bytes(b"")
    _one_line_error(capsys, ["replay", "--plain", str(path)])


@pytest.mark.parametrize(
    "line",
    [
        pytest.param(
            '{"kind":"note","t":' + "1" * 5000 + "}",
            id="huge-integer",
        ),
        pytest.param(
            "[" * 100_000 + "]" * 100_000,
            id="deep-nesting",
        ),
        pytest.param('{"kind":"note","t":1.5,"level":"info","text":"x"}', id="float-time"),
    ],
)
def test_replay_of_a_hostile_line_is_one_line_error(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, line: str
) -> None:
    path = tmp_path / "hostile.jsonl"
    path.write_text(header_line() + "\n" + line + "\n")
    assert "line 2" in _one_line_error(capsys, ["replay", "--plain", str(path)])


@pytest.mark.timeout(60)
def test_workers_over_the_cap_run_with_a_note(capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["run", "--workers", "1000", "--plain", *QUICK])
    out, err = capsys.readouterr()
    assert code == 0, (out, err)
    assert "mpscope: note: --workers 1000 is more than this tool shows; capped at 64" in err
    assert "64 workers" in out
    assert "done 2 + failed 0 + lost 0 = 2 tasks ✓" in out


def test_speed_past_its_range_runs_with_a_note(capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["run", "--speed", "1000", "--plain", *QUICK])
    out, err = capsys.readouterr()
    assert code == 0, (out, err)
    assert "mpscope: note: --speed 1000 is out of range; using 100" in err


# -- real subprocesses ------------------------------------------------------------------------


def _command() -> list[str]:
    if CONSOLE_SCRIPT.exists():
        return [str(CONSOLE_SCRIPT)]
    return [sys.executable, "-m", "mpscope.tui"]


def _run(args: list[str], timeout: float = 45) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*_command(), *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        encoding="utf-8",
        timeout=timeout,
        start_new_session=True,
    )


def _summary_line(stdout: str) -> str:
    lines = [line for line in stdout.splitlines() if line.startswith("done ")]
    assert len(lines) == 1, stdout
    return lines[0]


@pytest.mark.timeout(60)
def test_a_small_plain_run_exits_0_with_a_balanced_summary() -> None:
    result = _run(["run", "--plain", "--tasks", "5", "--work-time", "0.01", "--collect-time", "0"])
    assert result.returncode == 0, result.stderr
    assert "done 5 + failed 0 + lost 0 = 5 tasks ✓" in _summary_line(result.stdout)
    assert "Traceback" not in result.stderr


@pytest.mark.timeout(60)
def test_a_failing_task_is_counted_and_the_run_still_completes() -> None:
    result = _run(["run", "--plain", *QUICK[:1], "4", *QUICK[2:], "--fail-on", "3"])
    assert result.returncode == 0, result.stderr
    assert "done 3 + failed 1 + lost 0 = 4 tasks ✓" in _summary_line(result.stdout)
    assert "InjectedFailure" in result.stdout


@pytest.mark.timeout(60)
def test_record_then_replay_shows_the_same_summary(tmp_path: Path) -> None:
    path = tmp_path / "run.jsonl"
    result = _run(["run", "--plain", *QUICK, "--tasks", "6", "--record", str(path)])
    assert result.returncode == 0, result.stderr
    live = _summary_line(result.stdout)
    assert live.startswith("done 6 + failed 0 + lost 0 = 6 tasks ✓")
    assert path.is_file() and path.read_text(encoding="utf-8").endswith("\n")
    replay = _run(["replay", str(path), "--plain"])
    assert replay.returncode == 0, replay.stderr
    replayed = _summary_line(replay.stdout)
    # the same ledger line and the same counts (wall time is part of the line too)
    assert replayed.split("   ")[:3] == live.split("   ")[:3]
    assert replayed == live


# -- signals ----------------------------------------------------------------------------------


def _reader(stream: object, lines: queue.Queue[str | None]) -> None:
    for line in stream:  # type: ignore[attr-defined]
        lines.put(line)
    lines.put(None)


def _descendants(pid: int) -> list[psutil.Process]:
    try:
        return psutil.Process(pid).children(recursive=True)
    except psutil.NoSuchProcess:
        return []


def _alive(procs: list[psutil.Process]) -> list[psutil.Process]:
    left = []
    for proc in procs:
        try:
            if proc.is_running() and proc.status() != psutil.STATUS_ZOMBIE:
                left.append(proc)
        except psutil.NoSuchProcess:
            pass
    return left


def _wait_gone(procs: list[psutil.Process], seconds: float) -> list[psutil.Process]:
    deadline = time.monotonic() + seconds
    while True:
        left = _alive(procs)
        if not left or time.monotonic() > deadline:
            return left
        time.sleep(0.05)


@dataclass
class LongRun:
    """A running ``mpscope run --plain`` with its output so far and its descendants."""

    proc: subprocess.Popen[str]
    lines: queue.Queue[str | None]
    seen: list[str] = field(default_factory=list)
    family: list[psutil.Process] = field(default_factory=list)

    def read_until(self, words: str, count: int = 1, seconds: float = 30) -> None:
        deadline = time.monotonic() + seconds
        while sum(words in line for line in self.seen) < count:
            assert time.monotonic() < deadline, f"no {words!r} in time:\n" + "".join(self.seen)
            try:
                line = self.lines.get(timeout=0.5)
            except queue.Empty:
                continue
            assert line is not None, "mpscope ended early:\n" + "".join(self.seen)
            self.seen.append(line)

    def read_to_end(self, seconds: float = 10) -> str:
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            try:
                line = self.lines.get(timeout=0.5)
            except queue.Empty:
                continue
            if line is None:
                break
            self.seen.append(line)
        return "".join(self.seen)


@pytest.fixture
def long_run() -> Iterator[LongRun]:
    """A run of 200 tasks of 0.2 s, once its workers are up; everything ends by its PID."""
    proc = subprocess.Popen(
        [*_command(), "run", "--plain", "--tasks", "200", "--work-time", "0.2"],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        encoding="utf-8",
        start_new_session=True,
    )
    lines: queue.Queue[str | None] = queue.Queue()
    threading.Thread(target=_reader, args=(proc.stdout, lines), daemon=True).start()
    run = LongRun(proc, lines)
    try:
        run.read_until("is ready", count=4)  # three workers and the collector
        run.read_until("took task")  # the run is under way
        run.family = _descendants(proc.pid)
        assert len(run.family) >= 4, run.family
        yield run
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.wait(10)
        for child in _alive(run.family):
            child.kill()
        if proc.stdout:
            proc.stdout.close()
        if proc.stderr:
            proc.stderr.close()


def _check_signal_ends_run(run: LongRun, signum: int, group: bool = False) -> str:
    """Send ``signum``; the run must end soon with 128 + signum and leave no process."""
    proc = run.proc
    sent = time.monotonic()
    if group:
        os.killpg(proc.pid, signum)  # what a terminal's Ctrl+C does: the whole group
    else:
        os.kill(proc.pid, signum)
    code = proc.wait(timeout=15)
    took = time.monotonic() - sent
    left = _wait_gone(run.family, 5)
    stderr = proc.stderr.read() if proc.stderr else ""
    stdout = run.read_to_end()
    assert code == 128 + signum, (code, stderr, stdout[-2000:])
    assert took < 10, took
    assert not left, [(p.pid, p.cmdline()) for p in left]
    assert "Traceback" not in stderr, stderr
    return stdout


@pytest.mark.timeout(60)
@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM, signal.SIGHUP])
def test_a_signal_ends_the_run_with_128_plus_signum_and_no_process_left(
    long_run: LongRun, signum: int
) -> None:
    stdout = _check_signal_ends_run(long_run, signum)
    name = signal.Signals(signum).name
    assert f"{name} received" in stdout
    summary = _summary_line(stdout)
    assert summary.endswith("✓") or "✓ " in summary, summary
    assert "lost 0 " not in summary  # 200 tasks cannot have finished


@pytest.mark.timeout(60)
def test_ctrl_c_to_the_whole_process_group_ends_the_run_cleanly(long_run: LongRun) -> None:
    stdout = _check_signal_ends_run(long_run, signal.SIGINT, group=True)
    assert "✓" in _summary_line(stdout)


@pytest.mark.timeout(60)
def test_a_second_ctrl_c_stops_at_once_and_leaves_no_process(long_run: LongRun) -> None:
    proc = long_run.proc
    os.kill(proc.pid, signal.SIGINT)
    time.sleep(0.05)
    os.kill(proc.pid, signal.SIGINT)
    code = proc.wait(timeout=15)
    assert code == 130, code
    left = _wait_gone(long_run.family, 5)
    assert not left, [(p.pid, p.cmdline()) for p in left]
    assert "Traceback" not in (proc.stderr.read() if proc.stderr else "")


@pytest.mark.timeout(60)
def test_sigkill_of_mpscope_leaves_no_worker_behind(long_run: LongRun) -> None:
    """Even when mpscope itself is killed, its workers die with it (they watch their parent)."""
    proc = long_run.proc
    os.kill(proc.pid, signal.SIGKILL)
    assert proc.wait(timeout=10) == -signal.SIGKILL
    left = _wait_gone(long_run.family, 8)
    assert not left, [(p.pid, p.cmdline()) for p in left]


def test_help_is_fast_and_exits_0() -> None:
    with pytest.raises(SystemExit) as caught:
        main(["--help"])
    assert caught.value.code == 0


def test_recording_writer_refuses_a_missing_folder(tmp_path: Path) -> None:
    from mpscope.core.pipeline.recording import RecordingError

    with pytest.raises(RecordingError):
        RecordingWriter(tmp_path / "no" / "x.jsonl")


def test_plain_lines_come_out_in_time_order_across_batches() -> None:
    """Processes report in batches of their own: a batch can bring an event older than the
    last one printed. --plain holds lines a moment and prints them in time order."""
    import io

    from rich.console import Console

    from mpscope.core.pipeline.events import TaskQueued, TaskStarted, WorkerReady, WorkerSpawned
    from mpscope.tui.views.plain import _EventPrinter

    out = io.StringIO()
    printer = _EventPrinter(Console(file=out, width=120))
    ms = 1_000_000
    printer.feed([WorkerSpawned(1 * ms, 0, 10, "worker"), WorkerReady(30 * ms, 0, 10)])
    printer.feed([WorkerSpawned(2 * ms, 1, 11, "worker"), WorkerReady(20 * ms, 1, 11)])
    printer.feed([TaskQueued(400 * ms, 1, "1"), TaskStarted(401 * ms, 1, 0, 1)])
    printer.feed([], now=402 * ms)  # no newer event yet: nothing older than 0.1 s waits on
    assert "0.030s" in out.getvalue() and "0.401s" not in out.getvalue()
    printer.feed([], now=600 * ms)  # the run's clock moved on with no event: out they go
    assert "0.401s" in out.getvalue()
    printer.summary()
    import re

    stamps = re.findall(r"^\s*(\d+\.\d{3})s  ", out.getvalue(), flags=re.MULTILINE)
    times = [float(stamp) for stamp in stamps]
    assert len(times) >= 4 and times == sorted(times)


def _read_one_line_then_leave(args: list[str], timeout: float) -> tuple[int, bytes]:
    """``mpscope ARGS | head -1``: its exit code and what it said on stderr."""
    reader = subprocess.Popen(
        [*_command(), *args],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        start_new_session=True,
    )
    assert reader.stdout is not None and reader.stderr is not None
    reader.stdout.readline()
    reader.stdout.close()  # the reader goes away
    try:
        code = reader.wait(timeout=timeout)
    finally:
        if reader.poll() is None:
            reader.kill()
    return code, reader.stderr.read()


@pytest.mark.timeout(60)
def test_plain_output_into_a_reader_that_stops_early_ends_with_sigpipes_code() -> None:
    # `mpscope replay FILE --plain | head -1`: no traceback, and not 1 (a run that failed)
    code, errors = _read_one_line_then_leave(
        ["replay", "tests/recordings/task3.jsonl", "--plain"], timeout=30
    )
    assert code == 128 + signal.SIGPIPE
    assert b"Traceback" not in errors


@pytest.mark.timeout(90)
def test_a_recording_of_a_plain_run_whose_reader_left_still_ends_as_the_run_did(
    tmp_path: Path,
) -> None:
    from mpscope.core.pipeline.recording import is_complete, read_recording

    path = tmp_path / "piped.jsonl"
    code, _errors = _read_one_line_then_leave(
        ["run", "--plain", "--tasks", "40", "--record", str(path)], timeout=60
    )
    assert code == 128 + signal.SIGPIPE
    assert is_complete(read_recording(path))


@pytest.mark.parametrize(
    ("kind", "words"),
    [
        ("exits", "SystemExit: 3"),
        ("exits_zero", "SystemExit"),
        ("interrupts", "KeyboardInterrupt"),
        ("base_exception", "Odd: odd"),
        ("hostile_str", "Bad (its message could not be shown)"),
        ("hostile_getattr", "SystemExit: 4"),
    ],
)
@pytest.mark.parametrize("command", ["run", "gen"])
def test_a_module_that_exits_or_interrupts_at_import_is_one_line_and_exit_code_2(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, kind: str, words: str, command: str
) -> None:
    from tests.fixtures.hostile_imports import write

    path = write(tmp_path, kind)
    argv = ["run", "--function", f"{path}:f"] if command == "run" else ["gen", f"{path}:f"]
    assert words in _one_line_error(capsys, argv)


@pytest.mark.timeout(20)
@pytest.mark.parametrize("plain", [False, True])
def test_replaying_a_fifo_or_a_device_is_one_line_and_exit_code_2(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, plain: bool
) -> None:
    fifo = tmp_path / "run.jsonl"
    os.mkfifo(fifo)
    for target in (str(fifo), "/dev/zero"):
        line = _one_line_error(capsys, ["replay", target, *(["--plain"] if plain else [])])
        assert target in line and "not a regular file" in line


def test_export_writes_a_trace_the_checker_passes(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from tests.trace_checker import check_trace

    out = tmp_path / "t3.json"
    assert main(["export", str(ROOT / "tests/recordings/task3.jsonl"), "-o", str(out)]) == 0
    assert "wrote" in capsys.readouterr().out
    check_trace(out)


@pytest.mark.parametrize(
    ("recording", "output", "words"),
    [
        ("/etc/passwd", None, "not an mpscope recording"),
        ("missing.jsonl", None, "missing.jsonl"),
        ("tests/recordings/task3.jsonl", "/nonexistent/dir/t.json", "cannot write trace"),
    ],
)
def test_export_of_bad_input_is_one_line_and_exit_code_2(
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
    recording: str,
    output: str | None,
    words: str,
) -> None:
    argv = ["export", str(ROOT / recording) if recording.startswith("tests") else recording]
    argv += ["-o", output or str(tmp_path / "t.json")]
    assert words in _one_line_error(capsys, argv)
    assert not (tmp_path / "t.json").exists()


def test_export_of_a_truncated_recording_leaves_no_half_trace(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    whole = (ROOT / "tests/recordings/task3.jsonl").read_text()
    cut = tmp_path / "cut.jsonl"
    cut.write_text(whole[: len(whole) // 2 - 3])
    out = tmp_path / "t.json"
    assert "truncated" in _one_line_error(capsys, ["export", str(cut), "-o", str(out)])
    assert list(tmp_path.iterdir()) == [cut]


def test_run_plain_with_trace_keeps_the_recording_and_writes_the_trace(tmp_path: Path) -> None:
    from tests.trace_checker import check_trace

    trace = tmp_path / "live.json"
    result = subprocess.run(
        [*_command(), "run", "--plain", *QUICK, "--trace", str(trace)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "live.jsonl").is_file()
    check_trace(trace)


# -- without a terminal (real pipes) ----------------------------------------------------------


def _without_terminal(args: list[str], timeout: float = 45) -> subprocess.CompletedProcess[str]:
    """``mpscope args`` with stdin from /dev/null and stdout/stderr into pipes: no terminal."""
    environment = {k: v for k, v in os.environ.items() if k != "TEXTUAL_DRIVER"}
    return subprocess.run(
        [*_command(), *args],
        cwd=ROOT,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        encoding="utf-8",
        timeout=timeout,
        start_new_session=True,
        env=environment,
    )


@pytest.mark.timeout(60)
def test_run_without_a_terminal_falls_back_to_plain_and_says_so() -> None:
    result = _without_terminal(QUICK)
    assert result.returncode == 0, result.stderr
    assert result.stderr.splitlines()[0].startswith("mpscope: no terminal on stdin and stdout")
    assert "\x1b[" not in result.stderr  # no app drew its escape codes
    assert "done 2 + failed 0 + lost 0 = 2 tasks ✓" in _summary_line(result.stdout)


@pytest.mark.timeout(60)
def test_replay_without_a_terminal_falls_back_to_plain() -> None:
    result = _without_terminal(["replay", "tests/recordings/task3.jsonl"])
    assert result.returncode == 0, result.stderr
    assert "showing the run as --plain" in result.stderr
    assert "done " in result.stdout
    follow = _without_terminal(["replay", "--follow", "tests/recordings/task3.jsonl"])
    assert follow.returncode == 2
    assert follow.stderr.count("\n") == 1 and "needs a terminal" in follow.stderr


@pytest.mark.timeout(30)
def test_gen_without_a_terminal_is_one_line_and_exit_code_2() -> None:
    result = _without_terminal(["gen", "running_average"], timeout=20)
    assert result.returncode == 2
    assert result.stdout == ""
    assert result.stderr.count("\n") == 1
    assert result.stderr.startswith("mpscope gen: error: the stepper needs a terminal")


@pytest.mark.parametrize(
    ("argv", "app", "speed"),
    [
        (["run"], True, 0.5),  # the full-screen app: half speed, for a room to follow
        (["run", "--present"], True, 0.25),
        (["run", "--plain"], False, 1.0),  # --plain keeps real time
        (["run", "--speed", "2"], True, 2.0),
        (["run", "--present", "--speed", "1"], True, 1.0),  # --speed says exactly
    ],
)
def test_speed_defaults_app_half_present_quarter_plain_real_time(
    argv: list[str], app: bool, speed: float
) -> None:
    from mpscope.tui.cli import build_parser, scenario_from_args

    scenario, _notes = scenario_from_args(build_parser().parse_args(argv), app=app)
    assert 1 / scenario.time_scale == pytest.approx(speed)
