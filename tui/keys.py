"""Every key of the app and of the generator stepper, described once.

:data:`KEY_TABLE` holds one :class:`KeyRow` per line of a help screen (and of the README's key
tables): one meaning, one or more :class:`Key` bindings, and where they apply (:class:`Where`).
A key carries everything said about it anywhere: Textual's key names and action, the footer's
label and key display, whether the footer shows it, and its entry in the command palette.

Generated from it: the ``BINDINGS`` of :class:`~mpscope.tui.app.MpscopeApp`, of the stepper
panel and of ``mpscope gen`` (:func:`bindings_for`, in footer order), the help screens' key
lists (:func:`help_rows`), the palette's entries (:func:`palette_entries`) and the keys that a
replay hides (:data:`LIVE_ONLY_ACTIONS`). ``tests/test_keys.py`` holds the README to it.
"""

from __future__ import annotations

import enum
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Final

from textual.actions import parse as parse_action
from textual.binding import Binding, BindingType

__all__ = [
    "FOOTER_FIRST",
    "KEY_TABLE",
    "LIVE_ONLY_ACTIONS",
    "RUN",
    "Key",
    "KeyRow",
    "Where",
    "action_name",
    "bindings_for",
    "help_rows",
    "in_footer_order",
    "keys_for",
    "palette_entries",
    "rows_for",
]


class Where(enum.Flag):
    """Where a key applies."""

    LIVE = enum.auto()
    """The app on a live run."""
    REPLAY = enum.auto()
    """The app on a recording (``mpscope replay FILE``)."""
    STEPPER = enum.auto()
    """The generator stepper panel, while it has focus (beside the lanes, or ``mpscope gen``)."""
    GEN = enum.auto()
    """``mpscope gen``'s own screen around the stepper panel."""


RUN: Final = Where.LIVE | Where.REPLAY
"""The app's keys, live run or replay."""


@dataclass(frozen=True)
class Key:
    """One binding: Textual's key names and action, and how the footer and palette show it."""

    keys: str
    """Textual's key names, comma-separated: ``"question_mark,f1"``."""
    action: str
    """Textual's action, with its arguments: ``"mode('print')"``."""
    label: str
    """The footer's word for it (the binding's description)."""
    palette: tuple[str, str] | None = None
    """Its command in the palette: the title, and the line under it after the key's name
    (``("Restart the run", "start the run again")``); None: not in the palette."""
    names: tuple[str, ...] = ()
    """How the help screens and the README name its keys (``("?", "f1")``); empty: as
    :attr:`keys` does."""
    key_display: str | None = None
    """What the footer shows instead of the first key's name (``"+/-"`` for a pair)."""
    footer: bool = True
    """Whether the footer lists it."""
    priority: bool = False
    """Whether it is checked before the focused widget's keys."""

    @property
    def shown_names(self) -> tuple[str, ...]:
        """How the help screens, the palette and the README name its keys."""
        return self.names or (self.keys,)

    def binding(self) -> Binding:
        """The Textual binding."""
        return Binding(
            self.keys,
            self.action,
            self.label,
            show=self.footer,
            key_display=self.key_display,
            priority=self.priority,
        )


@dataclass(frozen=True)
class KeyRow:
    """One meaning: a line of a help screen and of the README, for one or more keys."""

    where: Where
    help: str | None
    """The help screen's words (Markdown in the app's help); None: not on a help screen."""
    keys: tuple[Key, ...]

    @property
    def names(self) -> tuple[str, ...]:
        """Every key's name, as the help screen and the README list them."""
        return tuple(name for key in self.keys for name in key.shown_names)


def _row(where: Where, help_text: str | None, *keys: Key) -> KeyRow:
    return KeyRow(where, help_text, keys)


#: Every key, in the help screens' order: the app's rows (LIVE, REPLAY), then the stepper's
#: (STEPPER, and GEN for mpscope gen's own screen).
KEY_TABLE: Final[tuple[KeyRow, ...]] = (
    # -- the app -----------------------------------------------------------------------------
    _row(
        RUN,
        "start the run again (restart)",
        Key("r", "restart", "Restart", ("Restart the run", "start the run again")),
    ),
    _row(
        RUN,
        "pause / resume (SIGSTOP / SIGCONT: really suspended; no time shown counts the pause)",
        Key("space", "pause", "Pause", ("Pause or resume", "SIGSTOP / SIGCONT every run process")),
    ),
    _row(
        RUN,
        "stop the run (ordered: drain, end sentinels, join, then terminate)",
        Key("x", "stop", "Stop", ("Stop the run", "drain, end sentinels, join, then terminate")),
    ),
    _row(
        Where.LIVE,
        "switch to the seed's Task 1 (print), Task 2 (collect after), Task 3 (pipeline)",
        Key(
            "1",
            "mode('print')",
            "Task 1",
            ("Task 1 · processes print", "each process prints 1..N"),
            footer=False,
        ),
        Key(
            "2",
            "mode('collect-after')",
            "Task 2",
            ("Task 2 · collect after", "the main process collects after the workers"),
            footer=False,
        ),
        Key(
            "3",
            "mode('pipeline')",
            "Task 3",
            ("Task 3 · pipeline", "a collector process drains while workers compute"),
            footer=False,
        ),
    ),
    _row(
        RUN,
        "a real torch DataLoader, lane by lane, on its own screen (Esc: back)",
        Key(
            "4",
            "dataloader",
            "DataLoader",
            ("DataLoader", "a real torch.utils.data.DataLoader: its workers, prefetch, waits"),
            footer=False,
        ),
    ),
    _row(
        RUN,
        "Task 2 vs Task 3: the last run of each, on one time axis from 0, with their work times",
        Key(
            "t",
            "compare",
            "Compare",
            ("Compare Task 2 and Task 3", "their last runs' timelines on one axis from 0"),
            footer=False,
        ),
    ),
    _row(
        RUN,
        "tensors across processes: shared memory vs a pickled copy, measured now (1 and 16 MB)",
        Key(
            "b",
            "tensor_bench",
            "Tensors",
            ("Tensors: shared memory vs a copy", "measure both ways across a process boundary"),
            footer=False,
        ),
    ),
    # the footer shows each pair once (both keys are in the help screen and the palette)
    _row(
        Where.LIVE,
        "one worker more / fewer (restarts the run)",
        Key(
            "plus,equals_sign",
            "workers(1)",
            "Workers",
            ("One worker more", "restarts the run"),
            names=("+",),
            key_display="+/-",
        ),
        Key(
            "minus",
            "workers(-1)",
            "Worker-",
            ("One worker fewer", "restarts the run"),
            names=("-",),
            key_display="-",
            footer=False,
        ),
    ),
    _row(
        RUN,
        "slower / faster: ×0.25 slow motion … ×4; applies to the next tasks at once",
        Key(
            "less_than_sign,comma",
            "speed(-1)",
            "Speed",
            ("Slower", "down to x0.25, slow motion"),
            names=("<",),
            key_display="</>",
        ),
        Key(
            "greater_than_sign,full_stop",
            "speed(1)",
            "Faster",
            ("Faster", "up to x4"),
            names=(">",),
            key_display=">",
            footer=False,
        ),
    ),
    _row(
        Where.LIVE,
        "what each task returns: the seed's square → a tensor → one shared tensor (restarts)",
        Key(
            "T",
            "cycle_function",
            "Tensor",
            ("Next task function", "square, tensor results, one shared tensor (restarts)"),
            key_display="T",
            footer=False,
        ),
    ),
    _row(
        Where.LIVE,
        "kill a worker with SIGKILL (a busy one if any), to watch its task go back on the queue",
        Key("k", "kill", "Kill", ("Kill a worker", "SIGKILL a busy worker; its task is re-queued")),
    ),
    _row(
        Where.LIVE,
        "make the next task raise inside its worker",
        Key("f", "inject", "Fail", ("Fail the next task", "the next task a worker takes raises")),
    ),
    _row(
        RUN,
        "show the collector's traceback if it failed, else the last failed task's traceback",
        Key(
            "e",
            "show_error",
            "Error",
            ("Show the last traceback", "the last failed task's error"),
            footer=False,
        ),
    ),
    _row(
        RUN,
        "record this run to a JSON-lines file (replay it with `mpscope replay FILE`)",
        Key(
            "R",
            "record",
            "Record",
            ("Record this run", "to mpscope-*.jsonl in the current folder"),
            key_display="R",
            footer=False,
        ),
    ),
    _row(
        RUN,
        "save an SVG screenshot",
        Key("ctrl+s", "screenshot", "Screenshot", key_display="^s", footer=False),
    ),
    _row(
        RUN,
        "show / hide the event log",
        Key("l", "toggle_log", "Log", ("Toggle the event log", "(after a run: log or summary)")),
    ),
    _row(
        RUN,
        "show / hide the generator stepper (its keys work while it has focus)",
        Key(
            "g",
            "toggle_stepper",
            "Gen",
            ("Toggle the generator stepper", "step a generator beside the lanes"),
        ),
    ),
    _row(
        RUN,
        "flying tokens on / off (`--no-animation` starts with them off)",
        Key(
            "a",
            "toggle_animation",
            "Animation",
            ("Flying tokens on or off", "animation of tasks moving between places"),
            footer=False,
        ),
    ),
    _row(
        RUN,
        "this help",
        Key(
            "question_mark,f1",
            "help",
            "Help",
            ("mpscope help", "every key, and how to read the screen"),
            names=("?", "f1"),
            key_display="?",
        ),
    ),
    _row(
        RUN,
        "quit (every child process is stopped first)",
        Key("q", "quit", "Quit"),
        Key("ctrl+c", "quit", "Quit", footer=False, priority=True),
    ),
    # -- the generator stepper ---------------------------------------------------------------
    # not on the stepper's help: it is shown by mpscope gen, which has no lanes to go back to
    _row(Where.STEPPER, None, Key("g", "hide", "Hide")),
    _row(Where.STEPPER, "next(g): run to the next yield", Key("n", "step_next", "Next")),
    _row(
        Where.STEPPER,
        "type a value for send(); Enter sends it (a Python literal) and gives the keys back",
        Key("s", "focus_send", "Send"),
    ),
    _row(
        Where.STEPPER,
        "throw(): raise an exception at the paused yield",
        Key("t", "throw", "Throw"),
    ),
    _row(
        Where.STEPPER,
        "close(): raise GeneratorExit at the paused yield",
        Key("c", "close_generator", "Close"),
    ),
    _row(
        Where.STEPPER,
        "reset: a fresh generator from the same factory",
        Key("r", "reset", "Reset"),
    ),
    _row(
        Where.STEPPER,
        "give up on a step that does not come back",
        Key("x", "give_up", "Give up"),
    ),
    _row(Where.STEPPER, "pick one of the seed's examples", Key("e", "pick_example", "Pick")),
    _row(Where.STEPPER, "the memory lesson: list vs generator", Key("m", "memory", "Memory")),
    _row(
        Where.STEPPER,
        "leave the send box",
        Key("escape", "focus_panel", "Back to the panel", names=("Esc",)),
    ),
    _row(
        Where.GEN,
        "save an SVG screenshot",
        Key("ctrl+s", "screenshot", "Screenshot", key_display="^s", footer=False),
    ),
    _row(
        Where.GEN,
        "this help",
        Key("question_mark,f1", "help", "Help", names=("?", "F1"), key_display="?"),
    ),
    _row(Where.GEN, "quit", Key("q", "quit", "Quit")),
)

#: Actions whose keys lead the footer, in this order: a narrow footer (80 columns) still shows
#: the way out, the help, the speed (what a teacher needs first) and the way to the stepper (and,
#: in the stepper, the way back to the lanes). The other keys follow in the table's order.
FOOTER_FIRST: Final[tuple[str, ...]] = ("quit", "help", "speed", "toggle_stepper", "hide")


def action_name(action: str) -> str:
    """An action without its arguments or namespace: ``"mode('print')"`` -> ``"mode"``."""
    return parse_action(action)[1]


def rows_for(where: Where) -> Iterator[KeyRow]:
    """The rows that apply anywhere in ``where``, in the table's order."""
    return (row for row in KEY_TABLE if row.where & where)


def keys_for(where: Where) -> Iterator[Key]:
    """The keys that apply anywhere in ``where``, in the table's order."""
    return (key for row in rows_for(where) for key in row.keys)


def _footer_rank(key: Key) -> int:
    action = action_name(key.action)
    return FOOTER_FIRST.index(action) if action in FOOTER_FIRST else len(FOOTER_FIRST)


def in_footer_order(where: Where) -> list[Key]:
    """The keys of ``where``, :data:`FOOTER_FIRST`'s first, then in the table's order."""
    return sorted(keys_for(where), key=_footer_rank)


def bindings_for(where: Where) -> list[BindingType]:
    """The ``BINDINGS`` of a screen or widget that has the keys of ``where``, in footer order
    (the footer lists the shown ones in this order; the key panel lists them all)."""
    return [key.binding() for key in in_footer_order(where)]


def help_rows(where: Where) -> list[tuple[tuple[str, ...], str]]:
    """The lines a help screen for ``where`` lists, in order: the keys' names, and the help."""
    return [(row.names, row.help) for row in rows_for(where) if row.help is not None]


def palette_entries(where: Where) -> list[tuple[str, str, str]]:
    """The palette's commands for ``where``, in the table's order: each one's title, the line
    under it (its key's name, then what it does) and its action."""
    return [
        (key.palette[0], f"{key.shown_names[0]}: {key.palette[1]}", key.action)
        for key in keys_for(where)
        if key.palette is not None
    ]


#: The actions a replay hides (it shows what was recorded: no processes to change, kill or fail)
LIVE_ONLY_ACTIONS: Final[frozenset[str]] = frozenset(
    action_name(key.action)
    for row in KEY_TABLE
    if Where.LIVE in row.where and Where.REPLAY not in row.where
    for key in row.keys
)
