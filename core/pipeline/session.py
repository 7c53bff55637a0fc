"""A recording of a whole session: several runs, one after another, and the stepper's calls.

A session recording is an ordinary recording (:mod:`~.recording`) whose runs follow each other:
a run's events, then :class:`~.events.RunReplaced` when another run took its place (a restart,
a mode switch), then the next run's events from its own ``run_started``, each run on a clock of
its own. :class:`~.events.StepperCalled` events, on the run's clock, say what was done with
the generator stepper beside the run. A recording of one run is a session of one run.

Everything here reads a stream once, as it goes: a session of any length is never held whole.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Final

from mpscope.core.pipeline.events import SESSION_EVENTS, Event, RunReplaced, StepperCalled

#: the stepper's calls, as :class:`~.events.StepperCalled` spells them (``open``, ``send`` and
#: ``throw`` take what follows them)
STEPPER_VERBS: Final = (
    "open",
    "next",
    "send",
    "throw",
    "close",
    "reset",
    "give up",
    "show",
    "hide",
)
#: the verbs that take what follows them
TAKES_ARGUMENT: Final = frozenset({"open", "send", "throw"})


def one_run(stream: Iterator[Event]) -> Iterator[Event]:
    """The events of the next run of ``stream``, up to and with the ``run_replaced`` that ends
    it (or to the end of the stream); ``stream`` is left at the following run's start."""
    for event in stream:
        yield event
        if isinstance(event, RunReplaced):
            return


def skip_runs(stream: Iterator[Event], count: int) -> Iterator[Event]:
    """``stream`` after its first ``count`` runs."""
    for _ in range(count):
        for _event in one_run(stream):
            pass
    return stream


def split_session(events: list[Event]) -> tuple[list[Event], list[str], bool]:
    """A replayed batch as the run's own events, the stepper calls in it, and whether a
    ``run_replaced`` (another run follows) was among them."""
    if not any(type(event) in SESSION_EVENTS for event in events):
        return events, [], False
    calls = [event.call for event in events if isinstance(event, StepperCalled)]
    replaced = any(isinstance(event, RunReplaced) for event in events)
    return [event for event in events if type(event) not in SESSION_EVENTS], calls, replaced


def session_timeline(events: Iterable[Event]) -> Iterator[Event]:
    """A session's runs on one timeline, for a trace: each run's times after the end of the
    run before it, and its task ids after theirs (a trace's flow arrows are keyed by task)."""
    t_offset = task_offset = 0
    next_task = 0
    for event in events:
        changes: dict[str, int] = {}
        if t_offset:
            changes["t"] = event.t + t_offset
            started = getattr(event, "started", None)  # a task's start, on the same clock
            if isinstance(started, int):
                changes["started"] = started + t_offset
        task = getattr(event, "task", None)
        if isinstance(task, int):
            next_task = max(next_task, task + task_offset + 1)
            if task_offset:
                changes["task"] = task + task_offset
        yield dataclasses.replace(event, **changes) if changes else event
        if isinstance(event, RunReplaced):
            t_offset, task_offset = event.t + t_offset, next_task


@dataclass(frozen=True, slots=True)
class StepperCall:
    """One call of the stepper read back: ``verb`` (one of :data:`STEPPER_VERBS`) and what
    follows it (the spec, the literal sent, or the exception's name and message)."""

    verb: str
    argument: str = ""

    @property
    def text(self) -> str:
        """As a :class:`~.events.StepperCalled` event spells it."""
        return f"{self.verb} {self.argument}" if self.argument else self.verb

    @property
    def exception(self) -> tuple[str, str]:
        """A ``throw``'s exception name and message."""
        name, _space, message = self.argument.partition(" ")
        return name, message


def parse_call(text: str) -> StepperCall | None:
    """The call ``text`` spells, or None for one this mpscope does not know (a recording from
    a newer one): a replay leaves such a call out rather than guess."""
    for verb in STEPPER_VERBS:
        if text == verb:
            return StepperCall(verb) if verb not in TAKES_ARGUMENT else None
        if text.startswith(verb + " ") and verb in TAKES_ARGUMENT:
            argument = text[len(verb) + 1 :]
            return StepperCall(verb, argument) if argument.strip() else None
    return None
