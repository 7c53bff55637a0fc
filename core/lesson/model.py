"""A lesson: steps, each with a caption in English and Chinese, what to do, and what to wait
for. Read from TOML (stdlib :mod:`tomllib`); every mistake in a lesson file is one
:class:`LessonError` line naming the step and the key, found before anything plays.

A step (``[[step]]``)::

    title = "Task 3"                           # short: the cast's chapter, --list, the bar
    title_zh = "任务 3"
    caption = "Task 3: workers compute, a collector process collects at the same time"
    caption_zh = "任务 3：……"
    run = { mode = "pipeline", count = 8 }   # start a run of this scenario (make_scenario)
    keys = ["space"]                           # press the app's keys
    stepper = "running_average"                # open the stepper on one of the seed's examples
    calls = ["next", "send 10"]                # call next() / send(literal) on it, in order
    memory = true                              # open the memory lesson (list vs generator)
    close = true                               # close the screen or panel the step opened
    until = "finished"                         # or "suspended", or { collected = 5 }
    hold = 3.0                                 # seconds to read the caption afterwards
    timeout = 30.0                             # the longest it waits for ``until``
"""

from __future__ import annotations

import dataclasses
import tomllib
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum
from importlib import resources
from pathlib import Path
from typing import Any

from mpscope.core.lesson.dist_step import distributed_settings
from mpscope.core.lesson.loader_step import loader_settings
from mpscope.core.lesson.reading import MIN_HOLD_S, reading_seconds
from mpscope.core.pipeline.scenario import Scenario, ScenarioError, make_scenario
from mpscope.core.stepper.examples import EXAMPLES

__all__ = [
    "BUILT_IN",
    "Lesson",
    "LessonError",
    "Step",
    "Until",
    "Wait",
    "load_lesson",
    "parse_lesson",
]

BUILT_IN = {"seed": "seed.toml", "distributed": "distributed.toml"}
"""The lessons that ship with mpscope, by name."""
LANGUAGES = ("en", "zh")
MAX_HOLD_S = 120.0
DEFAULT_TIMEOUT_S = 60.0
STEP_KEYS = frozenset(
    {"title", "title_zh", "caption", "caption_zh", "run", "keys", "stepper", "calls"}
    | {"memory", "loader", "distributed", "close", "until", "hold", "timeout"}
)
UNTIL_WORDS = '"finished", "suspended", "loaded", "trained", "compared" or { collected = N }'


class LessonError(ValueError):
    """A lesson that cannot be read; its text is the one line to show."""


class Wait(StrEnum):
    """What a step waits for before its hold."""

    NOTHING = "nothing"
    FINISHED = "finished"
    """The run has ended (completed, stopped or failed)."""
    COLLECTED = "collected"
    """At least ``count`` tasks collected."""
    SUSPENDED = "suspended"
    """The stepper's generator is suspended at a yield (after the step's calls)."""
    LOADED = "loaded"
    """The DataLoader screen's run has ended."""
    COMPARED = "compared"
    """The Task 2 vs Task 3 screen is up with a finished run of each."""
    TRAINED = "trained"
    """The distributed screen's run has ended."""


@dataclass(frozen=True)
class Until:
    wait: Wait = Wait.NOTHING
    count: int = 0


@dataclass(frozen=True)
class Step:
    caption: str
    caption_zh: str = ""
    title: str = ""
    title_zh: str = ""
    run: Scenario | None = None
    keys: tuple[str, ...] = ()
    stepper: str | None = None
    calls: tuple[str, ...] = ()
    memory: bool = False
    loader: tuple[tuple[str, int | float], ...] | None = None
    """The DataLoader screen's settings (field, value), if the step opens it."""
    distributed: tuple[tuple[str, int | float], ...] | None = None
    """The distributed screen's torchrun settings (field, value), if the step opens it."""
    close: bool = False
    until: Until = Until()
    hold: float | None = None
    """Seconds to look after ``until``; None: as long as the caption takes to read."""
    timeout: float = DEFAULT_TIMEOUT_S

    def caption_in(self, lang: str) -> str:
        """The caption in ``lang`` ("en" or "zh"; English where no Chinese is given)."""
        return self.caption_zh if lang == "zh" and self.caption_zh else self.caption

    def title_in(self, lang: str) -> str:
        """The step's short title in ``lang`` (English where no Chinese is given; "" if none)."""
        return self.title_zh if lang == "zh" and self.title_zh else self.title

    def marker_in(self, lang: str, number: int) -> str:
        """The cast's marker (a player's chapter) for this step, the ``number``-th."""
        return f"{number}. {self.title_in(lang) or self.caption_in(lang)[:40]}"

    def reading_in(self, lang: str) -> float:
        """Seconds the caption in ``lang`` takes to read."""
        return reading_seconds(self.caption_in(lang))

    def least_hold_in(self, lang: str) -> float:
        """The hold after ``until`` when nothing else showed the caption: the step's own, or
        its reading time."""
        return self.hold if self.hold is not None else max(MIN_HOLD_S, self.reading_in(lang))


@dataclass(frozen=True)
class Lesson:
    name: str
    title: str
    title_zh: str
    steps: tuple[Step, ...]

    def title_in(self, lang: str) -> str:
        return self.title_zh if lang == "zh" and self.title_zh else self.title

    def least_seconds(self, lang: str = "en") -> float:
        """The lesson's length if nothing had to be waited for: the holds."""
        return sum(step.least_hold_in(lang) for step in self.steps)


def _text(where: str, key: str, value: Any) -> str:
    if not isinstance(value, str) or not value.strip():
        raise LessonError(f"{where}: {key} must be a non-empty string")
    return value.strip()


def _seconds(where: str, key: str, value: Any, default: float) -> float:
    if value is None:
        return default
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise LessonError(f"{where}: {key} must be a number of seconds, got {value!r}")
    if not 0 <= value <= MAX_HOLD_S:
        raise LessonError(f"{where}: {key} must be between 0 and {MAX_HOLD_S:g} seconds")
    return float(value)


def _screen_settings(
    where: str,
    raw: dict[str, Any],
    key: str,
    check: Callable[[str, Any], tuple[tuple[str, int | float], ...]],
) -> tuple[tuple[str, int | float], ...] | None:
    """A step's settings for a screen of its own (``loader``, ``distributed``), checked; None
    when the step has none."""
    if key not in raw:
        return None
    try:
        return check(where, raw[key])
    except ValueError as exc:
        raise LessonError(str(exc)) from None


def _until(where: str, value: Any) -> Until:
    if value is None:
        return Until()
    if isinstance(value, dict) and set(value) == {"collected"}:
        count = value["collected"]
        if isinstance(count, bool) or not isinstance(count, int) or count < 1:
            raise LessonError(f"{where}: until.collected must be a whole number ≥ 1")
        return Until(Wait.COLLECTED, count)
    if value in (Wait.FINISHED, Wait.SUSPENDED, Wait.LOADED, Wait.TRAINED, Wait.COMPARED):
        return Until(Wait(value))
    raise LessonError(f"{where}: until must be {UNTIL_WORDS}, got {value!r}")


def _call(where: str, value: Any) -> str:
    text = _text(where, "each call", value)
    if text != "next" and not text.startswith("send "):
        raise LessonError(f'{where}: a call is "next" or "send VALUE", got {text!r}')
    return text


def _step(index: int, raw: Any) -> Step:
    where = f"step {index}"
    if not isinstance(raw, dict):
        raise LessonError(f"{where} is not a table")
    unknown = sorted(set(raw) - STEP_KEYS)
    if unknown:
        raise LessonError(f"{where}: unknown key {unknown[0]!r}")
    run = None
    if "run" in raw:
        if not isinstance(raw["run"], dict):
            raise LessonError(f"{where}: run must be a table of scenario settings")
        try:
            run, _notes = make_scenario(**raw["run"])
        except ScenarioError as exc:
            raise LessonError(f"{where}: run: {exc}") from None
    keys = raw.get("keys", [])
    if not isinstance(keys, list) or not all(isinstance(k, str) and k for k in keys):
        raise LessonError(f"{where}: keys must be a list of key names")
    stepper = raw.get("stepper")
    if stepper is not None and stepper not in {example.name for example in EXAMPLES}:
        raise LessonError(f"{where}: stepper: no example named {stepper!r}")
    calls = raw.get("calls", [])
    if not isinstance(calls, list):
        raise LessonError(f"{where}: calls must be a list")
    for flag in ("memory", "close"):
        if not isinstance(raw.get(flag, False), bool):
            raise LessonError(f"{where}: {flag} must be true or false")
    loader = _screen_settings(where, raw, "loader", loader_settings)
    distributed = _screen_settings(where, raw, "distributed", distributed_settings)
    until = _until(where, raw.get("until"))
    if until.wait == Wait.LOADED and loader is None:
        raise LessonError(f'{where}: until = "loaded" needs loader = {{ ... }} in the step')
    if until.wait == Wait.TRAINED and distributed is None:
        raise LessonError(f'{where}: until = "trained" needs distributed = {{ ... }} in the step')

    def optional(key: str) -> str:
        return _text(where, key, raw[key]) if key in raw else ""

    return Step(
        caption=_text(where, "caption", raw.get("caption")),
        caption_zh=optional("caption_zh"),
        title=optional("title"),
        title_zh=optional("title_zh"),
        run=run,
        keys=tuple(keys),
        stepper=stepper,
        calls=tuple(_call(where, c) for c in calls),
        memory=raw.get("memory", False),
        loader=loader,
        distributed=distributed,
        close=raw.get("close", False),
        until=until,
        hold=_seconds(where, "hold", raw["hold"], 0) if "hold" in raw else None,
        timeout=_seconds(where, "timeout", raw.get("timeout"), DEFAULT_TIMEOUT_S),
    )


def parse_lesson(text: str, name: str) -> Lesson:
    """A lesson from its TOML text; ``name`` is what errors call it."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise LessonError(f"{name} is not valid TOML: {exc}") from None
    steps = data.get("step")
    if not isinstance(steps, list) or not steps:
        raise LessonError(f"{name} has no steps (a lesson is a list of [[step]] tables)")
    try:
        lesson = Lesson(
            name=name,
            title=_text("the lesson", "title", data.get("title", name)),
            title_zh=str(data.get("title_zh", "")),
            steps=tuple(_step(i, raw) for i, raw in enumerate(steps, 1)),
        )
    except LessonError as exc:
        raise LessonError(f"{name}: {exc}") from None
    return dataclasses.replace(lesson)


def load_lesson(name_or_path: str) -> Lesson:
    """A built-in lesson by name (:data:`BUILT_IN`), or a lesson file."""
    if name_or_path in BUILT_IN:
        text = resources.files(__package__).joinpath(BUILT_IN[name_or_path]).read_text("utf-8")
        return parse_lesson(text, name_or_path)
    path = Path(name_or_path)
    if not path.is_file():
        known = ", ".join(BUILT_IN)
        raise LessonError(f"no lesson named {name_or_path!r} (built in: {known}; or a .toml file)")
    try:
        text = path.read_text("utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise LessonError(f"cannot read {path}: {exc}") from None
    return parse_lesson(text, path.name)
