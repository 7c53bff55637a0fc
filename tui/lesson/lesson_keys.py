"""The app's keys a lesson step may press (``keys = [...]``), by name, from the key table; a
lesson naming another key is refused before it plays."""

from __future__ import annotations

from mpscope.core.lesson.model import Lesson, LessonError
from mpscope.tui.keys import KEY_TABLE, RUN

__all__ = ["check_keys", "key_actions"]


def key_actions() -> dict[str, str]:
    """Key name → the app's action, from the key table."""
    actions: dict[str, str] = {}
    for row in KEY_TABLE:
        if row.where & RUN:
            for key in row.keys:
                for name in key.keys.split(","):
                    actions.setdefault(name, key.action)
    return actions


def check_keys(lesson: Lesson) -> None:
    """Raise :class:`LessonError` (one line: the lesson, the step, the key) for a step that
    presses a key the app does not have."""
    actions = key_actions()
    for number, step in enumerate(lesson.steps, 1):
        for key in step.keys:
            if key not in actions:
                raise LessonError(
                    f"{lesson.name}: step {number}: keys: the app has no key {key!r} "
                    f"(it has {', '.join(sorted(actions))})"
                )
