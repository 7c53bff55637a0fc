"""``mpscope lesson``: a lesson read and checked whole, then played in the app, listed
(``--list``) or recorded as an asciicast (``--cast``).
"""

from __future__ import annotations

import argparse
import sys

from mpscope.tui.cli_support import (
    MAX_SPEED,
    MIN_SPEED,
    UsageError,
    check_writable,
    fail,
    to_a_pipe,
)
from mpscope.tui.session.terminal import has_terminal


def lesson(args: argparse.Namespace) -> int:
    """``mpscope lesson``: the lesson is read and checked whole before anything plays."""
    from mpscope.core.lesson.model import LessonError, load_lesson
    from mpscope.tui.lesson.lesson_keys import check_keys

    try:
        lesson = load_lesson(args.name)
        check_keys(lesson)
    except LessonError as exc:
        return fail(str(exc))
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
                title = step.title_in(args.lang)
                print(f"{number:3}. {title + ' — ' if title else ''}{step.caption_in(args.lang)}")
            return 0

        return to_a_pipe(listing)
    if args.presenter and args.headless:
        raise UsageError("--presenter waits for your keys: it cannot go with --headless")
    if args.cast:
        return cast_lesson(args, lesson.title_in(args.lang))
    if args.headless:
        raise UsageError("--headless goes with --cast FILE")
    if not has_terminal():
        raise UsageError(
            "a lesson plays in the app and needs a terminal (or --cast FILE --headless)"
        )
    from mpscope.tui.lesson.player import run_lesson_app

    return run_lesson_app(lesson, args.lang, args.exit, speed, args.presenter)


def cast_lesson(args: argparse.Namespace, title: str) -> int:
    """``mpscope lesson --cast FILE``: the same lesson in a terminal of ``--size``, recorded;
    it leaves when the lesson is over."""
    from mpscope.core.export.asciicast import CastError, parse_size, record_cast

    try:
        size = parse_size(args.size)
        check_writable(args.cast, "cast")
        argv = [sys.executable, "-m", "mpscope.tui", "lesson", args.name, "--exit"]
        argv += ["--lang", args.lang, "--speed", str(args.speed)]
        argv += ["--presenter"] if args.presenter else []
        code = record_cast(argv, args.cast, size, title, args.headless)
    except CastError as exc:
        return fail(str(exc))
    print(f"wrote {args.cast}: play it with `asciinema play {args.cast}`", file=sys.stderr)
    return code
