"""Lessons: the TOML is checked whole before anything plays, the built-in seed lesson loads,
and the app plays a lesson by itself: captions in English and Chinese, the stepper driven with
next() and send(), a run started and waited for on its state."""

from __future__ import annotations

from pathlib import Path

import pytest

from mpscope.core.lesson.model import LessonError, Wait, load_lesson, parse_lesson
from mpscope.core.stepper.result import GenState
from mpscope.tui.cli import main
from mpscope.tui.lesson.player import CaptionBar, LessonApp
from tests.test_app_pilot import driving, quit_app, wait_for

SHORT = (Path(__file__).parent / "fixtures" / "short_lesson.toml").read_text(encoding="utf-8")


def test_the_seed_lesson_follows_the_seed_and_loads() -> None:
    lesson = load_lesson("seed")
    text = " ".join(step.caption for step in lesson.steps)
    order = ["memory", "squares_gen", "running_average", "Task 1", "Task 2", "Task 3"]
    assert [text.index(word) for word in order] == sorted(text.index(w) for w in order)
    assert all(step.caption_zh for step in lesson.steps)  # every caption in Chinese too
    assert any(step.until.wait == Wait.FINISHED for step in lesson.steps)


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
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 2 and "until must be" in err[0] and "no lesson named" in err[1]


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
        await wait_for(pilot, lambda: first in str(caption.render()), 10, "step 1's caption")
        await wait_for(pilot, lambda: app.step_index == 2, 20, "step 1 done")
        stepper = app.query_one("#stepper").stepper  # type: ignore[attr-defined]
        assert stepper.state == GenState.SUSPENDED
        assert stepper.history[-1].value == 10.0  # next() then send(10): the running average
        await wait_for(pilot, lambda: app.lesson_done, 60, "the run and the lesson's end")
        assert app.state.finished and app.state.collected == 3
        assert ("课程结束" if lang == "zh" else "lesson over") in str(caption.render())
        await quit_app(pilot)


def test_the_readme_lesson_example_is_a_lesson() -> None:
    readme = (Path(__file__).parent.parent / "README.md").read_text(encoding="utf-8")
    block = readme.split("```toml\n", 1)[1].split("```", 1)[0]
    lesson = parse_lesson(block, "README")
    assert [step.until.wait for step in lesson.steps] == [Wait.SUSPENDED, Wait.FINISHED]
