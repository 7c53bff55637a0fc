"""``--cast FILE`` for ``mpscope run`` and ``mpscope replay`` (``lesson`` has its own, in
:mod:`mpscope.tui.lesson.command`): the same command, in a terminal of ``--size`` of its own,
recorded as an asciicast by :func:`mpscope.core.export.asciicast.record_cast`; shown here as it
goes, or not at all with ``--headless``.

A cast ends when its command does: ``q`` when it is shown here; with ``--headless``, nobody can
press a key, so the app leaves ``--exit-after`` seconds (3 unless given) after the run ends.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final

from mpscope.tui.cli_support import UsageError, check_writable, fail

#: seconds a headless cast holds the end of its run before the app leaves
HEADLESS_HOLD: Final = "3"


@dataclass(frozen=True, slots=True)
class CastOptions:
    """``--cast FILE``, ``--size COLUMNSxROWS`` and ``--headless``, taken out of a command."""

    path: str
    size: str = "120x40"
    headless: bool = False


def _value(argv: list[str], index: int, flag: str) -> tuple[str, int]:
    """The value of ``flag`` at ``argv[index]`` (``--flag VALUE`` or ``--flag=VALUE``), and the
    index after it."""
    word = argv[index]
    if word.startswith(flag + "="):
        return word[len(flag) + 1 :], index + 1
    if index + 1 >= len(argv):
        raise UsageError(f"{flag} needs a value")
    return argv[index + 1], index + 2


def take_cast_options(argv: Sequence[str]) -> tuple[list[str], CastOptions | None]:
    """``argv`` without the cast's options, and the options (None without ``--cast``)."""
    rest: list[str] = []
    path: str | None = None
    size, headless, sized = "120x40", False, False
    words, index = list(argv), 0
    while index < len(words):
        word = words[index]
        if word == "--":
            rest.extend(words[index:])
            break
        if word == "--cast" or word.startswith("--cast="):
            path, index = _value(words, index, "--cast")
        elif word == "--size" or word.startswith("--size="):
            size, index = _value(words, index, "--size")
            sized = True
        elif word == "--headless":
            headless, index = True, index + 1
        else:
            rest.append(word)
            index += 1
    if path is None:
        if sized or headless:
            raise UsageError("--size and --headless go with --cast FILE")
        return rest, None
    return rest, CastOptions(path, size, headless)


def cast_command(command: str, rest: list[str], options: CastOptions) -> int:
    """Record ``mpscope COMMAND REST`` as an asciicast; its exit code."""
    from mpscope.core.export.asciicast import CastError, parse_size, record_cast

    if "--plain" in rest:
        raise UsageError("--cast records the app's screen: leave out --plain")
    if options.headless and command == "run" and _wants_loader(rest):
        raise UsageError(
            "a headless cast of the DataLoader screen would never end: leave out --headless "
            "(q ends the cast)"
        )
    try:
        size = parse_size(options.size)
        check_writable(options.path, "cast")
        title = " ".join(["mpscope", command, *rest])
        if options.headless and not any(w.split("=")[0] == "--exit-after" for w in rest):
            rest = [*rest, "--exit-after", HEADLESS_HOLD]
        argv = [sys.executable, "-m", "mpscope.tui", command, *rest]
        code = record_cast(argv, options.path, size, title, options.headless)
    except CastError as exc:
        return fail(str(exc))
    print(f"wrote {options.path}: play it with `asciinema play {options.path}`", file=sys.stderr)
    return code


def _wants_loader(argv: list[str]) -> bool:
    from mpscope.tui.loader_cli import wants_loader

    return wants_loader(argv)
