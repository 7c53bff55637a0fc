"""``mpscope replay``: a recording on the app's screen, or printed with ``--plain``; a DataLoader
recording on its own screen; ``--follow`` for one still being written; and the screencast
options ``--speed``, ``--trim-start`` and ``--exit-after``.
"""

from __future__ import annotations

import argparse
import sys

from mpscope.core.pipeline.recording import RecordingError
from mpscope.core.pipeline.scenario import ScenarioError
from mpscope.tui.cli_support import (
    MAX_SPEED,
    MIN_SPEED,
    UsageError,
    no_timeline_without_plain,
    timeline_seconds,
    to_a_pipe,
)
from mpscope.tui.session.terminal import NO_TERMINAL_NOTE, has_terminal


def replay_loader(path: str, plain: bool) -> int:
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


def replay(args: argparse.Namespace) -> int:
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
        return replay_loader(path, args.plain)
    from mpscope.core.distributed.events import is_dist_recording

    if is_dist_recording(path):
        from mpscope.core.distributed.events import DistRecordError
        from mpscope.tui.dist_cli import replay_distributed

        try:
            return to_a_pipe(lambda: replay_distributed(path, args.plain))
        except DistRecordError as exc:
            raise RecordingError(str(exc)) from None
    if args.follow:
        if args.plain:
            raise UsageError("--follow keeps up with a recording in the app: leave out --plain")
        check_header(path)  # a file that is not a recording fails here, not in the app
        if not has_terminal():
            raise UsageError("--follow shows the app and needs a terminal on stdin and stdout")
        no_timeline_without_plain(args.timeline)
        from mpscope.tui.app import run_replay_app

        return run_replay_app(
            lambda following: follow_recording(path, following), path, not args.no_animation
        )
    if not args.plain:
        no_timeline_without_plain(args.timeline)
    check_recording(path)
    if args.plain or plain_without_terminal():
        from mpscope.tui.views.plain import replay_plain

        timeline = timeline_seconds(args.timeline)
        return to_a_pipe(lambda: replay_plain(iter_recording(path), timeline))
    from mpscope.tui.app import run_replay_app

    speed = replay_speed(args.speed)
    exit_after = None if args.exit_after is None else exit_after_seconds(args.exit_after)
    return run_replay_app(
        lambda _following: iter_recording(path),
        path,
        not args.no_animation,
        speed,
        args.trim_start,
        exit_after,
    )


def replay_speed(value: str) -> float:
    try:
        speed = float(value)
    except ValueError:
        raise ScenarioError(f"--speed must be a number, got {value!r}") from None
    if not MIN_SPEED <= speed <= MAX_SPEED:
        raise ScenarioError(f"--speed must be from {MIN_SPEED:g} to {MAX_SPEED:g}, got {value}")
    return speed


def exit_after_seconds(value: str) -> float:
    try:
        seconds = float(value)
    except ValueError:
        raise ScenarioError(f"--exit-after must be a number of seconds, got {value!r}") from None
    if not 0 <= seconds <= 3600:
        raise ScenarioError(f"--exit-after must be from 0 to 3600 seconds, got {value}")
    return seconds


def plain_without_terminal() -> bool:
    """No terminal to draw the app on: say so on stderr and show the run as ``--plain``."""
    if has_terminal():
        return False
    print(NO_TERMINAL_NOTE, file=sys.stderr)
    return True
