"""The key table (``mpscope.tui.keys``) against what is generated from it and against the
README, which lists the same keys, in the same order, with the same meaning."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from mpscope.tui.app import MpscopeApp
from mpscope.tui.keys import (
    KEY_TABLE,
    LIVE_ONLY_ACTIONS,
    RUN,
    Where,
    action_name,
    bindings_for,
    help_rows,
    in_footer_order,
    keys_for,
)
from mpscope.tui.screens.help import HELP
from mpscope.tui.stepper.app import GenApp
from mpscope.tui.stepper.panel import StepperPanel

README = (Path(__file__).parent.parent / "README.md").read_text(encoding="utf-8")

#: A word or two that says what each help line means: the README's line must say it too
#: (keyed by the line's first key)
APP_MEANINGS = {
    "r": "restart",
    "space": "pause / resume",
    "x": "stop the run",
    "1": "Task 1 (print), Task 2 (collect after), Task 3 (pipeline)",
    "4": "a real torch DataLoader",
    "t": "task 2 vs task 3",
    "b": "shared memory vs a pickled copy",
    "+": "one worker more / fewer",
    "<": "slower / faster",
    "T": "the seed's square",
    "k": "SIGKILL",
    "f": "the next task raise",
    "e": "the last failed task's traceback",
    "R": "record this run",
    "ctrl+s": "SVG screenshot",
    "l": "show / hide the event log",
    "g": "show / hide the generator stepper",
    "a": "flying tokens on / off",
    "?": "help",
    "q": "quit",
}
STEPPER_MEANINGS = {
    "n": "next(",
    "s": "Enter sends it",
    "t": "throw()",
    "c": "close()",
    "r": "a fresh generator from the same factory",
    "x": "give up on a step",
    "e": "example",
    "m": "memory lesson",
    "Esc": "leave the send box",
    "ctrl+s": "SVG screenshot",
    "?": "help",
    "q": "quit",
}


def _section(title: str) -> str:
    start = README.index(f"\n{title}")
    end = README.index("\n#", start + 1)
    return README[start:end]


def _readme_key_table() -> list[tuple[tuple[str, ...], str]]:
    """The rows of the README's "### Keys" table: each row's key names and its words."""
    rows = []
    for line in _section("### Keys").splitlines():
        if not line.startswith("| `"):
            continue
        keys, words = line.strip("|").split("|", 1)
        rows.append((tuple(re.findall(r"`([^`]+)`", keys)), words.strip(" |")))
    return rows


def _readme_stepper_keys() -> list[tuple[tuple[str, ...], str]]:
    """The ``mpscope gen`` section's "Keys: ..." line: each item's key names and its words."""
    section = _section("## `mpscope gen`")
    paragraph = section[section.index("\nKeys: ") + len("\nKeys: ") :].split("\n\n")[0]
    items = []
    for item in " ".join(paragraph.split()).rstrip(".").split(" · "):
        keys = re.match(r"((?:`[^`]+` ?)+)", item)
        assert keys is not None, item
        items.append((tuple(re.findall(r"`([^`]+)`", keys.group(1))), item[keys.end() :]))
    return items


def _meanings_hold(
    readme: list[tuple[tuple[str, ...], str]],
    table: list[tuple[tuple[str, ...], str]],
    meanings: dict[str, str],
) -> None:
    assert [names for names, _ in readme] == [names for names, _ in table]
    assert set(meanings) == {names[0] for names, _ in table}
    for (names, readme_words), (_, help_words) in zip(readme, table, strict=True):
        meaning = meanings[names[0]].lower()
        assert meaning in readme_words.lower(), (names, readme_words)
        assert meaning in help_words.lower(), (names, help_words)


def test_the_readme_lists_the_apps_keys_as_the_table_does() -> None:
    _meanings_hold(_readme_key_table(), help_rows(RUN), APP_MEANINGS)


def test_the_readme_lists_the_steppers_keys_as_the_table_does() -> None:
    _meanings_hold(_readme_stepper_keys(), help_rows(Where.STEPPER | Where.GEN), STEPPER_MEANINGS)


def test_the_readme_names_the_keys_a_replay_leaves_out() -> None:
    sentence = re.search(r"leaves out the keys only a live run obeys \(([^)]*)\)", README)
    assert sentence is not None
    named = set(re.findall(r"`([^`]+)`", sentence.group(1)))
    live_only = {
        name
        for row in KEY_TABLE
        if row.where == Where.LIVE
        for key in row.keys
        for name in key.shown_names
    }
    assert named == live_only
    assert {"mode", "workers", "kill", "inject", "cycle_function"} == LIVE_ONLY_ACTIONS


def test_the_footer_starts_with_the_keys_the_readme_says_an_80_column_one_shows() -> None:
    sentence = re.search(r"an 80-column terminal still shows ([^)]*)\)", README)
    assert sentence is not None
    named = re.findall(r"`([^`]+)`", sentence.group(1))
    shown = [key.key_display or key.shown_names[0] for key in in_footer_order(RUN) if key.footer]
    assert shown[: len(named)] == named


def test_the_apps_help_names_the_steppers_keys_in_the_tables_order() -> None:
    prose = " ".join(HELP.split("its own keys come first: ", 1)[1].split(". So", 1)[0].split())
    named = [item.split()[0].strip("`") for item in prose.split(", ")]
    assert named == [names[0] for names, _ in help_rows(Where.STEPPER)]


@pytest.mark.parametrize(
    ("where", "owner"),
    [(Where.LIVE, MpscopeApp), (Where.REPLAY, MpscopeApp), (Where.STEPPER, StepperPanel)],
)
def test_each_key_is_bound_once_to_an_action_that_exists(where: Where, owner: type) -> None:
    keys = [name for key in keys_for(where) for name in key.keys.split(",")]
    assert len(keys) == len(set(keys)), keys
    for key in keys_for(where):
        assert callable(getattr(owner, f"action_{action_name(key.action)}", None)), key.action


def test_gen_has_its_own_quit_help_and_screenshot() -> None:
    actions = [b.action for b in GenApp.BINDINGS]  # type: ignore[union-attr]
    assert actions == ["quit", "help", "screenshot"]
    assert callable(GenApp.action_help) and callable(GenApp.action_screenshot)


def test_the_footers_order_comes_from_the_table() -> None:
    def shown(bindings: object) -> list[str]:
        return [b.description for b in bindings if b.show]  # type: ignore[attr-defined]

    assert shown(MpscopeApp.BINDINGS)[:4] == ["Quit", "Help", "Speed", "Gen"]
    assert shown(StepperPanel.BINDINGS)[0] == "Hide"
    assert bindings_for(RUN) == MpscopeApp.BINDINGS
