"""Lessons: the TOML is checked whole before anything plays, the built-in seed lesson loads,
and the app plays a lesson by itself: captions in English and Chinese, the stepper driven with
next() and send(), a run started and waited for on its state, the Task 2 vs Task 3 screen and
the DataLoader's screen waited for on theirs; captions held as long as they take to read."""

from __future__ import annotations

from pathlib import Path

import pytest

from mpscope.core.lesson.loader_step import LOADER_FIELDS
from mpscope.core.lesson.model import LessonError, Wait, load_lesson, parse_lesson
from mpscope.core.lesson.reading import MIN_HOLD_S, reading_seconds
from mpscope.core.stepper.result import GenState
from mpscope.tui.cli import main
from mpscope.tui.lesson.player import CaptionBar, LessonApp
from mpscope.tui.screens.compare import CompareScreen
from mpscope.tui.screens.loader import LoaderScreen
from tests.cast_reader import shows
from tests.test_app_pilot import driving, quit_app, wait_for

FIXTURES = Path(__file__).parent / "fixtures"
SHORT = (FIXTURES / "short_lesson.toml").read_text(encoding="utf-8")
ROOMS = (FIXTURES / "rooms_lesson.toml").read_text(encoding="utf-8")


def test_the_seed_lesson_follows_the_seed_and_loads() -> None:
    lesson = load_lesson("seed")
    text = " ".join(step.caption for step in lesson.steps)
    order = ["memory", "squares_gen", "running_average", "Task 1", "Task 2", "Task 3"]
    assert [text.index(word) for word in order] == sorted(text.index(w) for w in order)
    assert all(step.caption_zh for step in lesson.steps)  # every caption in Chinese too
    assert all(step.title for step in lesson.steps)  # every step a chapter of the cast
    assert any(step.until.wait == Wait.FINISHED for step in lesson.steps)
    # after Task 3, in the order: the two on one timeline, tensors, the DataLoader
    later = ["Task 3", "Task 2 vs Task 3", "Tensors", "DataLoader"]
    titles = [step.title for step in lesson.steps]
    found = [next(i for i, t in enumerate(titles) if w in t) for w in later]
    assert found == sorted(found)
    waits = [step.until.wait for step in lesson.steps]
    assert Wait.COMPARED in waits and Wait.LOADED in waits
    tensor = next(s for s in lesson.steps if s.run is not None and s.run.function == "tensor")
    assert "handle" in tensor.caption and "句柄" in tensor.caption_zh


def test_the_seed_lesson_lasts_about_three_minutes_of_reading() -> None:
    """Holds follow the captions' length: about 3 minutes of reading in English (the runs go
    on while their captions are read)."""
    lesson = load_lesson("seed")
    assert 150 <= lesson.least_seconds("en") <= 210
    assert all(step.hold is None for step in lesson.steps)  # no padding: reading time only


def test_a_caption_is_held_as_long_as_it_takes_to_read() -> None:
    english = "a" * 125  # 12.5 characters a second
    chinese = "汉" * 75  # 7.5 a second: a Chinese character carries more
    assert reading_seconds(english) == reading_seconds(chinese) == 10.0
    assert reading_seconds("send(10)" * 5) < reading_seconds("汉" * 40)  # code at its own rate
    assert reading_seconds("ok") == MIN_HOLD_S
    lesson = parse_lesson(
        f"[[step]]\ncaption = '{english}'\n[[step]]\ncaption = 'x'\nhold = 1", "t"
    )
    app = LessonApp(lesson)
    long, held = lesson.steps
    assert app.hold_after(long, 0.0) == 10.0
    assert app.hold_after(long, 9.0) == MIN_HOLD_S  # read while the run ran: still a look
    assert app.hold_after(held, 30.0) == 1.0  # a step's own hold is its own
    app.lesson_speed = 2.0
    assert app.hold_after(long, 0.0) == 5.0


@pytest.mark.parametrize(
    ("toml", "says"),
    [
        ("title = 'x'", "has no steps"),
        ("[[step]]\ncaption = 'a'\nbogus = 1", "step 1: unknown key 'bogus'"),
        ("[[step]]\ncaption = 'a'\nstepper = 'nope'", "no example named 'nope'"),
        ("[[step]]\ncaption = 'a'\nrun = { workers = 0 }", "step 1: run: workers"),
        ("[[step]]\ncaption = 'a'\nuntil = 'later'", "until must be"),
        ("[[step]]\ncaption = 'a'\ncalls = ['jump']", 'a call is "next"'),
        ("[[step]]\ncaption = 'a'\nhold = -1", "hold must be between"),
        ("[[step]]\nhold = 1", "caption must be a non-empty string"),
        ("[[step]\n", "is not valid TOML"),
        ("[[step]]\ncaption = 'a'\nloader = { workers = 2 }", "loader: unknown setting 'workers'"),
        ("[[step]]\ncaption = 'a'\nloader = { samples = 1.5 }", "loader.samples must be a whole"),
        ("[[step]]\ncaption = 'a'\nloader = { num_workers = 0 }", "num_workers 0 has no worker"),
        ("[[step]]\ncaption = 'a'\nuntil = 'loaded'", 'until = "loaded" needs loader'),
        ("[[step]]\ncaption = 'a'\ntitle = ''", "step 1: title must be a non-empty string"),
    ],
)
def test_a_bad_lesson_is_one_line_naming_the_step(toml: str, says: str) -> None:
    with pytest.raises(LessonError) as caught:
        parse_lesson(toml, "bad.toml")
    assert says in str(caught.value) and "\n" not in str(caught.value)


def test_mpscope_lesson_with_a_bad_file_is_one_line_and_exit_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "bad.toml"
    path.write_text("[[step]]\ncaption = 'a'\nuntil = 'later'\n", encoding="utf-8")
    assert main(["lesson", str(path)]) == 2
    assert main(["lesson", "no-such-lesson"]) == 2
    path.write_text("[[step]]\ncaption = 'a'\n[[step]]\ncaption = 'b'\nkeys = ['j']\n", "utf-8")
    assert main(["lesson", str(path), "--list"]) == 2  # checked before even a listing
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 3 and "until must be" in err[0] and "no lesson named" in err[1]
    assert "bad.toml: step 2: keys: the app has no key 'j'" in err[2]


def test_the_loader_settings_a_lesson_may_set_are_the_dataloaders() -> None:
    from mpscope.core.dataloader.run import LoaderSettings

    fields = LoaderSettings.__dataclass_fields__
    assert set(LOADER_FIELDS) <= set(fields)
    assert all(
        isinstance(getattr(LoaderSettings(), name), LOADER_FIELDS[name][0])
        for name in LOADER_FIELDS
    )


def test_mpscope_lesson_list_prints_the_steps(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["lesson", "--list", "--lang", "zh"]) == 0
    out = capsys.readouterr().out
    assert "任务 3" in out and out.count("\n") == len(load_lesson("seed").steps) + 1


@pytest.mark.parametrize("lang", ["en", "zh"])
async def test_the_app_plays_a_lesson_by_itself(lang: str) -> None:
    lesson = parse_lesson(SHORT, "short.toml")
    app = LessonApp(lesson, lang, exit_at_end=False)
    async with driving(app) as pilot:
        caption = app.query_one(CaptionBar)
        first = lesson.steps[0].caption_in(lang)
        await wait_for(pilot, lambda: shows([str(caption.render())], first), 10, "step 1's caption")
        await wait_for(pilot, lambda: app.step_index == 2, 20, "step 1 done")
        stepper = app.query_one("#stepper").stepper  # type: ignore[attr-defined]
        assert stepper.state == GenState.SUSPENDED
        assert stepper.history[-1].value == 10.0  # next() then send(10): the running average
        await wait_for(pilot, lambda: app.lesson_done, 60, "the run and the lesson's end")
        assert app.state.finished and app.state.collected == 3
        assert shows([str(caption.render())], "课程结束" if lang == "zh" else "lesson over")
        await quit_app(pilot)


def test_the_readme_lesson_example_is_a_lesson() -> None:
    readme = (Path(__file__).parent.parent / "README.md").read_text(encoding="utf-8")
    block = readme.split("```toml\n", 1)[1].split("```", 1)[0]
    lesson = parse_lesson(block, "README")
    assert [step.until.wait for step in lesson.steps] == [Wait.SUSPENDED, Wait.FINISHED]


async def test_a_lesson_waits_on_the_comparison_and_on_the_dataloaders_screen() -> None:
    lesson = parse_lesson(ROOMS, "rooms.toml")
    app = LessonApp(lesson, "zh", exit_at_end=False, speed=4.0)
    async with driving(app) as pilot:
        await wait_for(pilot, lambda: app.step_index == 3, 90, "Task 2 and Task 3 run")
        await wait_for(pilot, lambda: isinstance(app.screen, CompareScreen), 10, "the t screen")
        assert "任务 2 对比任务 3" in str(app.caption)
        # the comparison may fill the screen: it carries the caption over its own footer
        await wait_for(pilot, lambda: bool(app.screen.query(CaptionBar)), 5, "its caption")
        await wait_for(pilot, lambda: app.step_index == 4, 20, "the comparison waited for")
        assert app.late_steps == []  # each came: no "did not happen within"
        await wait_for(pilot, lambda: isinstance(app.screen, LoaderScreen), 10, "key 4's screen")
        loader = app.screen
        assert isinstance(loader, LoaderScreen)
        assert loader.settings.num_workers == 1 and loader.settings.load_time == 0.005 / 4
        # the caption is on that screen of its own too (mounted once the screen is)
        await wait_for(pilot, lambda: bool(loader.query(CaptionBar)), 5, "its caption bar")
        bar = loader.query_one(CaptionBar)
        assert shows([str(bar.render())], "a small DataLoader")
        await wait_for(pilot, lambda: app.lesson_done, 90, "the DataLoader's run and the end")
        assert loader.finished() and app.late_steps == []
        assert shows([str(bar.render())], "课程结束")
        await quit_app(pilot)


def test_a_chinese_caption_wraps_between_characters_and_fills_its_lines() -> None:
    from rich.text import Text

    from mpscope.tui.lesson.caption_bar import wrapped

    step = next(s for s in load_lesson("seed").steps if s.title == "What crossed the queue")
    caption = Text.assemble(("第 15 步，共 17 步", "bold"), "  ", step.caption_zh)
    lines = wrapped(caption, 78)
    assert all(line.cell_len <= 78 for line in lines)
    assert all(line.cell_len >= 70 for line in lines[:-1])  # no short line before the last
    assert "".join(line.plain for line in lines).replace(" ", "") == caption.plain.replace(" ", "")
    assert not any(line.plain.startswith(("，", "。", "：")) for line in lines)
    assert lines[0].spans and lines[0].spans[0].style == "bold"  # the styles go with the text


def test_the_distributed_lesson_loads_in_both_languages() -> None:
    lesson = load_lesson("distributed")
    assert len(lesson.steps) == 3
    assert all(step.caption_zh and step.title_zh for step in lesson.steps)
    first, crash, _end = lesson.steps
    assert first.until.wait == Wait.TRAINED and dict(first.distributed or ())["slow_rank"] == 2
    assert dict(crash.distributed or ())["crash_rank"] == 1 and crash.close


@pytest.mark.parametrize(
    ("toml", "says"),
    [
        ("distributed = { ranks = 2 }", "distributed: unknown setting 'ranks'"),
        ("distributed = { world_size = 0 }", "distributed.world_size must be 1..16, got 0"),
        ("distributed = { world_size = 2, slow_rank = 2 }", "slow_rank must be below world_size"),
        ("distributed = { steps = 3, fault_step = 3 }", "fault_step must be below steps 3"),
        ("until = 'trained'", 'until = "trained" needs distributed'),
    ],
)
def test_a_bad_distributed_step_is_one_line(toml: str, says: str) -> None:
    with pytest.raises(LessonError, match="step 1") as caught:
        parse_lesson(f"[[step]]\ncaption = 'a'\n{toml}", "bad.toml")
    assert says in str(caught.value) and "\n" not in str(caught.value)


@pytest.mark.slow
async def test_the_distributed_lesson_plays_its_torchrun_runs_by_itself() -> None:
    from mpscope.tui.screens.dist import DistScreen

    app = LessonApp(load_lesson("distributed"), "en", exit_at_end=False, speed=4.0)
    async with driving(app) as pilot:
        await wait_for(pilot, lambda: isinstance(app.screen, DistScreen), 30, "the ranks' screen")
        first = app.screen
        assert isinstance(first, DistScreen)
        await wait_for(pilot, lambda: bool(first.query(CaptionBar)), 5, "its caption bar")
        await wait_for(pilot, first.finished, 90, "the straggler's run")
        assert first.state.outcome == "completed" and first.state.straggler() == 2
        assert sorted(first.state.lanes) == [0, 1, 2] and first.state.checksums_agree()
        await wait_for(
            pilot,
            lambda: app.screen is not first and isinstance(app.screen, DistScreen),
            60,
            "the crash",
        )
        crash = app.screen
        assert isinstance(crash, DistScreen)
        await wait_for(pilot, lambda: app.lesson_done, 120, "the crash's run and the end")
        assert crash.state.outcome == "error" and "crashed on purpose" in crash.state.error
        assert app.late_steps == []
        await quit_app(pilot)
