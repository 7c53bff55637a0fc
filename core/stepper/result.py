"""What one call on a stepped generator did: the stepper's result type and its vocabulary.

Plain frozen values only, so a result can be kept in a history, shown, compared in tests and
passed between threads without holding the generator's frame alive.
"""

from __future__ import annotations

import inspect
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

__all__ = ["Action", "GenState", "LocalVar", "Outcome", "StepResult", "state_of"]


class GenState(StrEnum):
    """A generator's state as :func:`inspect.getgeneratorstate` names it, plus *abandoned*."""

    CREATED = "created"
    """Made by the factory; the body has not run yet."""
    RUNNING = "running"
    """Executing its body, between two yields."""
    SUSPENDED = "suspended"
    """Paused at a ``yield``."""
    CLOSED = "closed"
    """Finished: returned, raised, or closed. Stepping it raises StopIteration."""
    ABANDONED = "abandoned"
    """The user gave up on a step that never came back; the stepper no longer holds it."""


_FROM_INSPECT = {
    inspect.GEN_CREATED: GenState.CREATED,
    inspect.GEN_RUNNING: GenState.RUNNING,
    inspect.GEN_SUSPENDED: GenState.SUSPENDED,
    inspect.GEN_CLOSED: GenState.CLOSED,
}


def state_of(generator: Any) -> GenState:
    """The :class:`GenState` of a generator object, via :func:`inspect.getgeneratorstate`."""
    return _FROM_INSPECT[inspect.getgeneratorstate(generator)]


class Action(StrEnum):
    """What was asked of the generator."""

    NEXT = "next"
    SEND = "send"
    THROW = "throw"
    CLOSE = "close"
    RESET = "reset"
    GIVE_UP = "give up"


class Outcome(StrEnum):
    """What came back."""

    YIELDED = "yielded"
    """The generator yielded a value and is paused again."""
    RETURNED = "returned"
    """The generator finished; ``StopIteration.value`` carried its return value."""
    EXHAUSTED = "exhausted"
    """The generator had already finished; StopIteration again."""
    RAISED = "raised"
    """An exception came out of the call."""
    CLOSED = "closed"
    """``close()`` returned normally."""
    CREATED = "created"
    """``reset`` made a fresh generator."""
    ABANDONED = "abandoned"
    """The user gave up waiting for a step."""
    REFUSED = "refused"
    """There was no generator to call (abandoned, or the factory failed)."""


@dataclass(frozen=True, slots=True)
class LocalVar:
    """One local variable of a suspended generator frame, already turned into text."""

    name: str
    type_name: str
    value_repr: str


@dataclass(frozen=True, slots=True)
class StepResult:
    """The record of one call: what was asked, what came back, and the states around it."""

    index: int
    """1-based position in the stepper's history (0 for a stale result)."""
    action: Action
    argument: str | None
    """The sent value or the thrown exception, as shown to the user."""
    outcome: Outcome
    state_before: GenState
    state_after: GenState
    value: Any = None
    """The yielded value, or the return value carried by StopIteration."""
    value_repr: str | None = None
    """A safe repr of ``value``, taken at the moment it came out."""
    exception: BaseException | None = None
    """The exception that came out (its traceback dropped), for RAISED."""
    error_type: str | None = None
    error_message: str = ""
    error_line: int | None = None
    """The generator's line the exception was raised at, if it was raised inside it."""
    line_after: int | None = None
    """The line the generator is suspended at after the call."""
    locals_after: tuple[LocalVar, ...] = ()
    hint: str | None = None
    """A short explanation of a rule this call ran into, if any."""
    elapsed_s: float = 0.0
    stale: bool = False
    """True when the generator was abandoned or reset while this call ran: ignore it."""

    @property
    def call_text(self) -> str:
        """The call as Python would spell it: ``next()``, ``send(10)``, ``throw(ValueError())``."""
        if self.action is Action.GIVE_UP:
            return "give up"
        return f"{self.action.value}({self.argument or ''})"

    @property
    def error_text(self) -> str:
        """``"Type: message"`` for a raised exception, empty otherwise."""
        if self.error_type is None:
            return ""
        return f"{self.error_type}: {self.error_message}" if self.error_message else self.error_type

    @property
    def produced_value(self) -> bool:
        """Whether a value came out (yielded, or returned through StopIteration)."""
        return self.outcome in (Outcome.YIELDED, Outcome.RETURNED)

    @property
    def summary(self) -> str:
        """One line for the history list."""
        match self.outcome:
            case Outcome.YIELDED:
                return f"{self.call_text} → yielded {self.value_repr}"
            case Outcome.RETURNED:
                return f"{self.call_text} → StopIteration: returned {self.value_repr}"
            case Outcome.EXHAUSTED:
                return f"{self.call_text} → StopIteration (already finished)"
            case Outcome.RAISED:
                return f"{self.call_text} ✗ {self.error_text}"
            case Outcome.REFUSED:
                return f"{self.call_text} ✗ no generator"
            case _:
                return f"{self.call_text} → {self.outcome.value}"
