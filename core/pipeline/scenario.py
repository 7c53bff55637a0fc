"""Scenarios: the validated settings of one run (the seed's Task 1, 2 or 3 plus user choices).

A :class:`Scenario` is immutable and holds plain values only, so it pickles into worker
processes and serialises into recordings. :func:`make_scenario` builds one from loose input
(the command line) and returns the notes about any values it capped; bad values raise
:class:`ScenarioError` with a one-line message.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, Final

from mpscope.core.pipeline.shared_fill import FILL_SHARED, MAX_SLICES
from mpscope.core.words import counted


class Mode(StrEnum):
    """The seed's three tasks, by what their processes do (the values are what recordings and
    the command line say)."""

    PRINT = "print"  # Task 1: each process prints 1..N; no queues
    COLLECT_AFTER = "collect-after"  # Task 2: the main process collects after the workers
    PIPELINE = "pipeline"  # Task 3: a collector process drains while the workers compute


MODES: Final = tuple(Mode)
MODE_TITLES: Final = {
    Mode.PRINT: "Task 1 · processes print",
    Mode.COLLECT_AFTER: "Task 2 · collect after",
    Mode.PIPELINE: "Task 3 · pipeline",
}
START_METHODS: Final = ("forkserver", "spawn", "fork")
SHARING_STRATEGIES: Final = ("file_descriptor", "file_system")
DEVICES: Final = ("cpu", "cuda")
LANGS: Final = ("en", "zh")
SOURCES: Final = ("range", "batches")

MAX_WORKERS: Final = 64
MAX_TASKS: Final = 10_000_000
MAX_SECONDS: Final = 60.0
MAX_QUEUE_BOUND: Final = 100_000
MAX_PRINT_COUNT: Final = 1_000
MAX_BATCH: Final = 10_000
MAX_TENSOR_SIZE: Final = 64 * 1024 * 1024  # elements: 256 MB of float32 per result
MIN_TIME_SCALE: Final = 0.01
MAX_TIME_SCALE: Final = 100.0


class ScenarioError(ValueError):
    """A setting that cannot be used; the message names it in one line."""


@dataclass(frozen=True, slots=True)
class Scenario:
    """Everything that defines a run. Defaults reproduce the seed's Task 3."""

    mode: Mode = Mode.PIPELINE
    workers: int = 3
    start_method: str = "forkserver"
    source: str = "range"
    first: int = 1
    count: int = 10
    batch_size: int = 8
    function: str = "square"
    work_time: float = 0.3
    collect_time: float = 0.1
    jitter: float = 0.0
    seed: int = 0
    queue_bound: int = 5
    print_count: int = 5
    print_delay: float = 0.1
    time_scale: float = 1.0
    fail_on: tuple[int, ...] = field(default_factory=tuple)
    sharing: str = "file_descriptor"  # torch's way tensors cross processes (its Linux default)
    tensor_size: int = 1000  # elements of each result of --function tensor
    device: str = "cpu"  # where --function tensor makes its tensors (cuda: see tui/cli.py)
    lang: str = "en"  # "zh": Task 1 and Task 3's collector print the seed's own Chinese lines

    @property
    def title(self) -> str:
        """The mode as the seed names it."""
        return MODE_TITLES[self.mode]

    @property
    def task_total(self) -> int:
        """How many tasks the source will yield (Task 1: one print job per worker)."""
        if self.mode == Mode.PRINT:
            return self.workers
        if self.source == "batches":
            return -(-self.count // self.batch_size)
        return self.count

    def describe(self) -> str:
        """One line in words: mode, start method, workers, tasks."""
        if self.mode == Mode.PRINT:
            work = f"each prints 1..{self.print_count}"
        elif self.source == "batches":
            batches = counted(self.task_total, "batch", "batches")
            work = f"{batches} of {self.batch_size} of {self.function}"
        else:
            work = f"{counted(self.task_total, 'task')} of {self.function}"
        return f"{self.title} · {self.start_method} · {counted(self.workers, 'worker')} · {work}"

    def brief(self) -> str:
        """The shortest useful line: ``Task 3 · 3 workers · 10 tasks`` (narrow headers)."""
        if self.mode == Mode.PRINT:
            what = f"prints 1..{self.print_count}"
        elif self.source == "batches":
            what = counted(self.task_total, "batch", "batches")
        else:
            what = counted(self.task_total, "task")
        return f"{self.title.split(' · ')[0]} · {counted(self.workers, 'worker')} · {what}"

    def to_json(self) -> str:
        """JSON text of all fields."""
        data = dataclasses.asdict(self)
        data["fail_on"] = list(self.fail_on)
        return json.dumps(data, separators=(",", ":"))

    @staticmethod
    def from_json(text: str) -> Scenario:
        """Inverse of :meth:`to_json`; raises :class:`ScenarioError` on foreign text."""
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise ScenarioError(f"scenario is not JSON: {exc.msg}") from None
        except (ValueError, RecursionError) as exc:
            raise ScenarioError(f"scenario is not usable JSON: {type(exc).__name__}") from None
        if not isinstance(data, dict):
            raise ScenarioError("scenario is not a JSON object")
        scenario, _notes = make_scenario(**data)
        return scenario


def _as_int(name: str, value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int | str):
        raise ScenarioError(f"{name} must be a whole number, got {value!r}")
    try:
        return int(value)
    except ValueError:
        raise ScenarioError(f"{name} must be a whole number, got {value!r}") from None


def _as_float(name: str, value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        raise ScenarioError(f"{name} must be a number, got {value!r}")
    try:
        number = float(value)
    except (ValueError, OverflowError):
        raise ScenarioError(f"{name} must be a number, got {str(value)[:40]!r}") from None
    if number != number or number in (float("inf"), float("-inf")):
        raise ScenarioError(f"{name} must be a finite number, got {value!r}")
    return number


def _choice(name: str, value: Any, allowed: tuple[str, ...]) -> str:
    if value not in allowed:
        raise ScenarioError(f"unknown {name} {value!r}; choose one of: {', '.join(allowed)}")
    return str(value)


def make_scenario(
    display_names: Mapping[str, str] | None = None, /, **settings: Any
) -> tuple[Scenario, list[str]]:
    """Validate loose settings into a :class:`Scenario`; return it with notes on capped values.

    ``display_names`` maps a setting to the name its messages use (the command line passes
    ``{"count": "--tasks", ...}``, so that an error names the option the user typed)."""
    known = {f.name for f in dataclasses.fields(Scenario)}
    unknown = sorted(set(settings) - known)
    if unknown:
        raise ScenarioError(f"unknown setting {unknown[0]!r}")
    base = Scenario()
    notes: list[str] = []
    names = dict(display_names or {})

    def shown(name: str) -> str:
        return names.get(name, name)

    def capped_int(name: str, low: int, high: int) -> int:
        value = _as_int(shown(name), settings.get(name, getattr(base, name)))
        if value < low:
            raise ScenarioError(f"{shown(name)} must be at least {low}, got {value}")
        if value > high:
            notes.append(f"{shown(name)} {value} is more than this tool shows; capped at {high}")
            return high
        return value

    def capped_float(name: str, high: float, low: float = 0.0) -> float:
        value = _as_float(shown(name), settings.get(name, getattr(base, name)))
        if value < low:
            raise ScenarioError(f"{shown(name)} must be at least {low:g}, got {value:g}")
        if value > high:
            notes.append(f"{shown(name)} {value:g} is too large; capped at {high:g}")
            return high
        return value

    mode = Mode(_choice(shown("mode"), settings.get("mode", base.mode), MODES))
    start_method = _choice(
        names.get("start_method", "start method"),
        settings.get("start_method", base.start_method),
        START_METHODS,
    )
    source = _choice(shown("source"), settings.get("source", base.source), SOURCES)
    function = settings.get("function", base.function)
    if not isinstance(function, str) or not function.strip():
        raise ScenarioError(
            f"{shown('function')} must be 'square', 'big', 'tensor', '{FILL_SHARED}', "
            "module:function "
            "or file.py:function"
        )
    fail_on_raw = settings.get("fail_on", base.fail_on)
    if isinstance(fail_on_raw, str):
        fail_on_raw = [part for part in fail_on_raw.replace(" ", "").split(",") if part]
    if not isinstance(fail_on_raw, list | tuple):
        raise ScenarioError(
            f"{shown('fail_on')} must be a list of task values, got {fail_on_raw!r}"
        )
    fail_on = tuple(_as_int(shown("fail_on"), v) for v in fail_on_raw)
    first = _as_int(shown("first"), settings.get("first", base.first))
    scenario = Scenario(
        mode=mode,
        workers=capped_int("workers", 1, MAX_WORKERS),
        start_method=start_method,
        source=source,
        first=first,
        count=capped_int("count", 1, MAX_TASKS),
        batch_size=capped_int("batch_size", 1, MAX_BATCH),
        function=function.strip(),
        work_time=capped_float("work_time", MAX_SECONDS),
        collect_time=capped_float("collect_time", MAX_SECONDS),
        jitter=capped_float("jitter", 1.0),
        seed=_as_int(shown("seed"), settings.get("seed", base.seed)),
        queue_bound=capped_int("queue_bound", 1, MAX_QUEUE_BOUND),
        print_count=capped_int("print_count", 1, MAX_PRINT_COUNT),
        print_delay=capped_float("print_delay", MAX_SECONDS),
        time_scale=capped_float("time_scale", MAX_TIME_SCALE, MIN_TIME_SCALE),
        fail_on=fail_on,
        sharing=_choice(
            shown("sharing"), settings.get("sharing", base.sharing), SHARING_STRATEGIES
        ),
        tensor_size=capped_int("tensor_size", 1, MAX_TENSOR_SIZE),
        device=_choice(shown("device"), settings.get("device", base.device), DEVICES),
        lang=_choice(shown("lang"), settings.get("lang", base.lang), LANGS),
    )
    notes.extend(_fail_on_notes(scenario, shown("fail_on")))
    if scenario.function == FILL_SHARED:
        scenario = _fit_shared_tensor(scenario, shown, notes)
    return scenario, notes


def with_function(scenario: Scenario, function: str) -> tuple[Scenario, list[str]]:
    """``scenario`` with each task running ``function`` (the app's ``T``), fitted to what that
    function allows (one shared tensor's slices), and notes for what was capped."""
    notes: list[str] = []
    changed = dataclasses.replace(scenario, function=function)
    if function == FILL_SHARED:
        changed = _fit_shared_tensor(changed, lambda name: name.replace("_", " "), notes)
    return changed, notes


def _fit_shared_tensor(
    scenario: Scenario, shown: Callable[[str], str], notes: list[str]
) -> Scenario:
    """``--function fill-shared`` makes one tensor of a slice per task: at most
    :data:`MAX_SLICES` slices, and :data:`MAX_TENSOR_SIZE` elements in all."""
    if scenario.task_total > MAX_SLICES:
        count = MAX_SLICES * (scenario.batch_size if scenario.source == "batches" else 1)
        notes.append(
            f"{shown('count')} {scenario.count}: {FILL_SHARED} writes one slice per task, "
            f"at most {MAX_SLICES} slices; capped at {count}"
        )
        scenario = dataclasses.replace(scenario, count=count)
    most = MAX_TENSOR_SIZE // scenario.task_total
    if scenario.tensor_size > most:
        notes.append(
            f"{shown('tensor_size')} {scenario.tensor_size} × {scenario.task_total} slices is "
            f"more than {MAX_TENSOR_SIZE} elements; capped at {most} a slice"
        )
        scenario = dataclasses.replace(scenario, tensor_size=most)
    return scenario


def _fail_on_notes(scenario: Scenario, option: str) -> list[str]:
    """Say so when a value asked to fail is no task's: nothing would fail, silently."""
    if not scenario.fail_on:
        return []
    if scenario.mode == Mode.PRINT:
        return [f"{option} is for Task 2 and 3: Task 1 has no tasks to fail"]
    if scenario.source == "batches":
        return [f"{option} matches single task values; batches never do (press f instead)"]
    last = scenario.first + scenario.count - 1
    missing = [v for v in scenario.fail_on if not scenario.first <= v <= last]
    if not missing:
        return []
    values = ", ".join(str(v) for v in missing)
    return [f"{option} {values}: no task has that value (tasks are {scenario.first}..{last})"]
