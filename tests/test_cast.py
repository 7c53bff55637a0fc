"""``mpscope lesson --cast``: an asciicast v2 of the app's own screen, made without asciinema,
read back here with pyte as a terminal would show it."""

from __future__ import annotations

import json
from pathlib import Path

import pyte
import pytest

from mpscope.core.export.asciicast import CastError, parse_size
from mpscope.tui.cli import main

LESSON = (Path(__file__).parent / "fixtures" / "short_lesson.toml").read_text(encoding="utf-8")


def _screens(path: Path) -> tuple[dict[str, object], list[list[str]]]:
    lines = path.read_text(encoding="utf-8").splitlines()
    header = json.loads(lines[0])
    screen = pyte.Screen(int(header["width"]), int(header["height"]))
    stream = pyte.Stream(screen)
    seen: list[list[str]] = []
    last = 0.0
    for line in lines[1:]:
        t, kind, data = json.loads(line)
        assert kind == "o" and t >= last
        last = t
        stream.feed(data)
        seen.append(list(screen.display))
    return header, seen


@pytest.mark.timeout(120)
def test_a_lesson_cast_headless_shows_its_captions_in_chinese_aligned(tmp_path: Path) -> None:
    lesson = tmp_path / "short.toml"
    lesson.write_text(LESSON, encoding="utf-8")  # a copy: the cast's child reads it by path
    cast = tmp_path / "short.cast"
    argv = ["lesson", str(lesson), "--lang", "zh", "--cast", str(cast), "--headless"]
    assert main([*argv, "--size", "100x30"]) == 0
    header, screens = _screens(cast)
    assert header["version"] == 2 and (header["width"], header["height"]) == (100, 30)
    captions = [row for screen in screens for row in screen if "平均值" in row]
    assert captions, "the first step's caption never showed"
    # pyte lays double-width characters out as a terminal does: the row is still 100 cells
    assert "第 1 步，共 2 步" in captions[-1]
    assert any("课程结束" in row for row in screens[-1])  # it held the end, then left
    assert any(any("collected 3" in row for row in screen) for screen in screens)


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
