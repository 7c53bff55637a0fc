"""The DataLoader screen's keys, described once: its ``BINDINGS``, its help screen and the
README's table of them (``tests/test_loader_controls_screen.py`` holds the README to this)."""

from __future__ import annotations

from typing import Final

from textual.binding import Binding, BindingType

from mpscope.tui.keys import Key

#: (the key, what the help and the README say it does, live only?)
LOADER_KEYS: Final[tuple[tuple[Key, str, bool], ...]] = (
    (
        Key("space", "pause", "Pause"),
        "pause / resume: the workers get SIGSTOP / SIGCONT and the loop waits; the clock stops "
        "with them, so no bar or wait counts the pause",
        True,
    ),
    (
        Key("less_than_sign,comma", "speed(-1)", "Speed", names=("<",), key_display="</>"),
        "slower: the built-in dataset's load time and the training step take longer, down to "
        "×0.25 (slow motion)",
        True,
    ),
    (
        Key("greater_than_sign,full_stop", "speed(1)", "Faster", names=(">",), footer=False),
        "faster, up to ×4 (a `--dataset` of your own keeps its own pace; the step still follows)",
        True,
    ),
    (
        Key("k", "kill", "Kill"),
        "SIGKILL a DataLoader worker (a busy one if any): the run ends with the DataLoader's "
        "own error",
        True,
    ),
    (Key("r", "restart", "Restart"), "run the DataLoader again from the start", True),
    (
        Key("R", "record", "Record"),
        "record this run, from its start, to `mpscope-loader-YYYYmmdd-HHMMSS.jsonl` "
        "(`mpscope replay FILE` shows it again)",
        True,
    ),
    (Key("question_mark,f1", "help", "Help", names=("?", "F1"), key_display="?"), "help", False),
    (Key("escape", "back", "Back"), "back (the run stops; in `--mode dataloader`: quit)", False),
)

#: the actions a recording leaves out: there are no processes to pause, speed up or kill
LIVE_ONLY: Final[frozenset[str]] = frozenset(
    key.action.split("(")[0] for key, _what, live in LOADER_KEYS if live
)


def loader_bindings() -> list[BindingType]:
    """The DataLoader screen's ``BINDINGS``."""
    bindings: list[BindingType] = [key.binding() for key, _what, _live in LOADER_KEYS]
    bindings.append(Binding("ctrl+s", "screenshot", "Screenshot", show=False))
    return bindings


def loader_key_rows() -> list[tuple[tuple[str, ...], str]]:
    """The help's and the README's lines: the keys' names and what they do."""
    return [(key.shown_names, what) for key, what, _live in LOADER_KEYS]
