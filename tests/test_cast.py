"""``mpscope lesson --cast``: an asciicast v2 of the app's own screen, made without asciinema,
read back here with pyte as a terminal would show it."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from mpscope.core.export.asciicast import CastError, parse_size, record_cast
from mpscope.core.lesson.model import load_lesson, parse_lesson
from mpscope.tui.cli import main
from tests.cast_reader import read_cast, shows

LESSON = (Path(__file__).parent / "fixtures" / "short_lesson.toml").read_text(encoding="utf-8")

MARKING = """
import sys, time
from mpscope.core.export.asciicast import marker_sink
mark = marker_sink()
print("before", flush=True)
time.sleep(0.2)
mark("1. the first\\nchapter")
print("during", flush=True)
time.sleep(0.2)
mark("2. 第二章")
print("after", flush=True)
"""


@pytest.mark.timeout(120)
def test_a_lesson_cast_headless_shows_its_captions_in_chinese_aligned(tmp_path: Path) -> None:
    lesson = tmp_path / "short.toml"
    lesson.write_text(LESSON, encoding="utf-8")  # a copy: the cast's child reads it by path
    cast = tmp_path / "short.cast"
    argv = ["lesson", str(lesson), "--lang", "zh", "--cast", str(cast), "--headless"]
    assert main([*argv, "--size", "100x30"]) == 0
    recorded = read_cast(cast)
    header, screens = recorded.header, [rows for _t, rows in recorded.frames]
    assert header["version"] == 2 and (header["width"], header["height"]) == (100, 30)
    captions = [row for screen in screens for row in screen if "平均值" in row]
    assert captions, "the first step's caption never showed"
    # pyte lays double-width characters out as a terminal does: the row is still 100 cells
    assert "第 1 步，共 2 步" in captions[-1]
    assert any("课程结束" in row for row in screens[-1])  # it held the end, then left
    assert any(any("collected 3" in row for row in screen) for screen in screens)
    # nothing but the app on the recorded screen (torch's "Failed to initialize NumPy" once was)
    assert "Warning" not in cast.read_text(encoding="utf-8")


def test_the_apps_modules_import_without_torch() -> None:
    """torch loads when a run starts, not with the app (nor the lesson, nor the DataLoader's
    screen): the first frame does not wait for it, and its warnings cannot reach the screen."""
    code = (
        "import sys, mpscope.tui.cli, mpscope.tui.app, mpscope.tui.lesson.player,"
        " mpscope.tui.screens.loader; print('torch' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert (out.returncode, out.stdout.strip(), out.stderr) == (0, "False", "")


#: the built-in lesson's cast that the README links to, made by the project's own command
SEED_CAST = Path(__file__).parent / "casts" / "seed_lesson.cast"
REMAKE = "mpscope lesson --cast tests/casts/seed_lesson.cast --size 120x40 --headless"


def test_the_committed_cast_of_the_seed_lesson_is_the_lesson_of_today() -> None:
    """Its chapters are the built-in lesson's steps, in order: a lesson changed without a new
    cast fails here (remake it with ``REMAKE``)."""
    lines = SEED_CAST.read_text(encoding="utf-8").splitlines()
    header = json.loads(lines[0])
    assert (header["version"], header["width"], header["height"]) == (2, 120, 40)
    events = [json.loads(line) for line in lines[1:]]
    markers = [data for _t, code, data in events if code == "m"]
    steps = load_lesson("seed").steps
    wanted = [step.marker_in("en", n) for n, step in enumerate(steps, 1)]
    assert markers == wanted, f"the lesson changed: remake its cast with `{REMAKE}`"
    times = [t for t, _code, _data in events]
    assert times == sorted(times) and 120 < times[-1] < 600  # about three minutes
    output = "".join(data for _t, code, data in events if code == "o")
    assert "Warning" not in output and "Traceback" not in output
    assert "done 6 + failed 0 + lost 0 = 6 tasks" in output  # the tensors step's run ended


def test_cast_size_and_paths_are_checked_first(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(CastError):
        parse_size("120 by 40")
    with pytest.raises(CastError):
        parse_size("10x5")
    assert parse_size("80x24") == (80, 24)
    assert main(["lesson", "--cast", str(tmp_path / "no" / "x.cast"), "--headless"]) == 2
    assert main(["lesson", "--cast", str(tmp_path / "x.cast"), "--size", "9x9"]) == 2
    assert main(["lesson", "--headless"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 3 and "no folder" in err[0] and "out of range" in err[1]


@pytest.mark.timeout(120)
def test_each_step_of_a_cast_lesson_begins_with_its_marker(tmp_path: Path) -> None:
    lesson_path = tmp_path / "short.toml"
    lesson_path.write_text(LESSON, encoding="utf-8")
    cast = tmp_path / "short.cast"
    assert main(["lesson", str(lesson_path), "--cast", str(cast), "--headless"]) == 0
    recorded = read_cast(cast)
    steps = parse_lesson(LESSON, "short.toml").steps
    # a step with a title is its chapter; one without is named by its caption's start
    assert [label for _t, label in recorded.markers] == [
        "1. running_average",
        "2. a small Task 3",
    ]
    assert [s.marker_in("en", n) for n, s in enumerate(steps, 1)] == [
        label for _t, label in recorded.markers
    ]
    (first, _), (second, _) = recorded.markers
    # each step's caption shows after its marker, and not before it
    assert any(shows(rows, steps[0].caption) for rows in recorded.frames_between(first, second))
    assert not any(shows(rows, steps[1].caption) for rows in recorded.frames_between(0, second))
    assert any(shows(rows, steps[1].caption) for rows in recorded.frames_between(second, 1e9))


def test_markers_come_from_the_command_in_order_with_its_output(tmp_path: Path) -> None:
    cast = tmp_path / "marks.cast"
    argv = [sys.executable, "-c", MARKING]
    assert record_cast(argv, cast, (80, 24), "marks", headless=True) == 0
    recorded = read_cast(cast)
    assert [label for _t, label in recorded.markers] == ["1. the first chapter", "2. 第二章"]
    first_at = recorded.markers[0][0]
    before = recorded.frames_between(0, first_at)
    assert before and any("before" in row for row in before[-1])
    assert not any(any("during" in row for row in rows) for rows in before)
    second_at = recorded.markers[1][0]
    assert any(any("after" in r for r in rows) for rows in recorded.frames_between(second_at, 99))
    assert not any(
        any("after" in r for r in rows) for rows in recorded.frames_between(0, second_at)
    )


def test_a_command_not_recorded_has_no_marker_sink(monkeypatch: pytest.MonkeyPatch) -> None:
    from mpscope.core.export.asciicast import MARKER_ENV, marker_sink

    monkeypatch.delenv(MARKER_ENV, raising=False)
    assert marker_sink() is None
    monkeypatch.setenv(MARKER_ENV, "not a number")
    assert marker_sink() is None


@pytest.mark.timeout(120)
@pytest.mark.parametrize("command", ["run", "replay"])
def test_a_live_run_or_a_replay_casts_headless_and_ends_by_itself(
    tmp_path: Path, command: str
) -> None:
    cast = tmp_path / f"{command}.cast"
    if command == "run":
        what = ["run", "--tasks", "4", "--work-time", "0.05", "--workers", "2"]
        summary = "done 4 + failed 0 + lost 0 = 4 tasks"
    else:
        what = ["replay", str(Path(__file__).parent / "recordings" / "task2.jsonl"), "--speed", "4"]
        summary = "done 6 + failed 0 + lost 0 = 6 tasks"
    assert main([*what, "--cast", str(cast), "--size", "100x30", "--headless"]) == 0
    recorded = read_cast(cast)
    assert (recorded.header["width"], recorded.header["height"]) == (100, 30)
    assert recorded.header["title"] == "mpscope " + " ".join(what)  # as the user asked
    last = recorded.frames[-1][1]
    assert any(summary in row for row in last), "\n".join(last)


@pytest.mark.parametrize(
    ("argv", "words"),
    [
        (["run", "--headless"], "go with --cast FILE"),
        (["replay", "x.jsonl", "--size", "80x24"], "go with --cast FILE"),
        (["run", "--plain", "--cast", "x.cast"], "leave out --plain"),
        (["run", "--cast"], "--cast needs a value"),
        (["run", "--mode", "dataloader", "--cast", "x.cast", "--headless"], "never end"),
    ],
)
def test_cast_options_of_run_and_replay_are_checked(
    argv: list[str], words: str, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    assert main(argv) == 2
    err = capsys.readouterr().err.strip()
    assert words in err and len(err.splitlines()) == 1 and not (tmp_path / "x.cast").exists()
