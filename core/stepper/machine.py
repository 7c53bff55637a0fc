"""Step a generator by hand — ``next``, ``send``, ``throw``, ``close`` — and record what happens.

:class:`GeneratorStepper` wraps a *factory* (a zero-argument callable returning a generator) so
that ``reset`` can make a fresh generator after the old one finished. Every call returns a
:class:`~mpscope.core.stepper.result.StepResult`: the value yielded, the value returned through
StopIteration, or the exception raised, with the generator's state before and after
(:func:`inspect.getgeneratorstate`), the line it is suspended at, its locals and a hint naming
the rule the call ran into. Between calls the stepper exposes the generator's source, suspended
line, locals (safe reprs: see :mod:`mpscope.core.stepper.safe_repr`) and a bounded history.

Threads: a step may run on another thread (a generator can run forever between two yields; see
:mod:`.runner`). The stepper is guarded by a lock that is *not* held while the generator
runs, so the UI can read the state ("running") meanwhile, give up on the step
(:meth:`GeneratorStepper.abandon`) or reset. A call that comes back after its generator was
abandoned or reset returns a result marked ``stale`` and changes nothing.

No Textual here: this runs headless, in tests and in any front end.
"""

from __future__ import annotations

import contextlib
import inspect
import threading
import time
from collections import deque
from collections.abc import Callable, Generator
from dataclasses import replace
from types import GeneratorType, TracebackType
from typing import Any

from mpscope.core.stepper.hints import hint_for
from mpscope.core.stepper.result import Action, GenState, LocalVar, Outcome, StepResult, state_of
from mpscope.core.stepper.safe_repr import safe_repr
from mpscope.core.stepper.source import SourceText, source_for_code

__all__ = ["THROWABLE", "FactoryError", "GeneratorFactory", "GeneratorStepper"]

GeneratorFactory = Callable[[], Generator[Any, Any, Any]]
"""A zero-argument callable that returns a fresh generator each time it is called."""


THROWABLE: dict[str, type[BaseException]] = {
    exc.__name__: exc
    for exc in (
        ValueError,
        TypeError,
        KeyError,
        RuntimeError,
        ZeroDivisionError,
        StopIteration,
        GeneratorExit,
        Exception,
    )
}
"""Exception types worth throwing into a generator from the UI, by name."""


class FactoryError(ValueError):
    """The factory did not produce a generator; the message is one line."""


def create_generator(factory: Callable[[], object]) -> GeneratorType[Any, Any, Any]:
    """Call ``factory`` and check it returned a plain generator; raise :class:`FactoryError`."""
    try:
        made = factory()
    except Exception as exc:
        raise FactoryError(f"creating the generator failed: {type(exc).__name__}: {exc}") from exc
    if inspect.isgenerator(made):
        return made
    if inspect.isasyncgen(made):
        raise FactoryError("that is an async generator; the stepper steps plain generators")
    if inspect.iscoroutine(made):
        made.close()
        raise FactoryError("that is a coroutine (async def), not a generator")
    raise FactoryError(f"the factory returned a {type(made).__name__}, not a generator")


def _error_line(tb: TracebackType | None, code: Any) -> int | None:
    """The last line of ``code`` the traceback passes through (where the generator raised)."""
    line = None
    while tb is not None:
        if tb.tb_frame.f_code is code:
            line = tb.tb_lineno
        tb = tb.tb_next
    return line


def _message(error: BaseException | None) -> str:
    """``str(error)`` on one line, or a placeholder if even that fails."""
    if error is None:
        return ""
    try:
        text = str(error)
    except Exception:
        return "<str() of the exception failed>"
    return " ".join(text.split())[:300]


class GeneratorStepper:
    """Drive one generator (and its re-creations) step by step; see the module docstring."""

    def __init__(
        self,
        factory: GeneratorFactory,
        *,
        label: str | None = None,
        source: SourceText | None = None,
        history_limit: int = 200,
        repr_width: int = 60,
    ) -> None:
        """Create the first generator at once; raise :class:`FactoryError` if that fails."""
        self._factory = factory
        self._label = label or str(getattr(factory, "__name__", "generator"))
        self._repr_width = repr_width
        self._lock = threading.RLock()
        self._history: deque[StepResult] = deque(maxlen=history_limit)
        self._count = 0
        self._epoch = 0
        self._running = 0
        self._abandoned = False
        self._last_result: StepResult | None = None
        self._last_output: StepResult | None = None
        self._gen: GeneratorType[Any, Any, Any] | None = create_generator(factory)
        self._code = self._gen.gi_code
        self._source = source if source is not None else source_for_code(self._code)
        self._line, self._locals = self._snapshot(self._gen)

    # -- what can be read between steps ------------------------------------------------------

    @property
    def label(self) -> str:
        """A short name for what is being stepped, e.g. ``squares_gen(5)``."""
        return self._label

    @property
    def generator(self) -> GeneratorType[Any, Any, Any] | None:
        """The current generator object (None after giving up on it, or if reset failed)."""
        return self._gen

    @property
    def state(self) -> GenState:
        """The current state; RUNNING while a step is in progress on any thread."""
        with self._lock:
            return self._state_now()

    @property
    def busy(self) -> bool:
        """Whether a step is in progress."""
        with self._lock:
            return self._running > 0

    @property
    def abandoned(self) -> bool:
        """Whether the user gave up on the current generator while it ran."""
        return self._abandoned

    @property
    def source(self) -> SourceText | None:
        """The generator's source, or None if Python cannot find it."""
        return self._source

    @property
    def current_line(self) -> int | None:
        """The file line the generator is suspended at (None unless suspended)."""
        return self._line

    @property
    def live_line(self) -> int | None:
        """The line the generator is at *now*, even while it runs on another thread.

        Reading a frame's line number runs no code; it is how debuggers sample running threads.
        """
        gen = self._gen
        frame = gen.gi_frame if gen is not None else None
        return frame.f_lineno if frame is not None else None

    @property
    def locals(self) -> tuple[LocalVar, ...]:
        """The generator frame's locals as of the last step (empty once closed)."""
        return self._locals

    @property
    def history(self) -> tuple[StepResult, ...]:
        """The most recent results, oldest first (bounded by ``history_limit``)."""
        with self._lock:
            return tuple(self._history)

    @property
    def last_result(self) -> StepResult | None:
        """The most recent result."""
        return self._last_result

    @property
    def last_output(self) -> StepResult | None:
        """The most recent result that produced a value (yielded or returned)."""
        return self._last_output

    # -- the calls ---------------------------------------------------------------------------

    def next(self) -> StepResult:
        """``next(gen)``: run to the next yield."""
        return self._step(Action.NEXT, None, next)

    def send(self, value: object) -> StepResult:
        """``gen.send(value)``: resume the paused yield with ``value``."""
        return self._step(Action.SEND, safe_repr(value, self._repr_width), lambda g: g.send(value))

    def throw(
        self, exc: type[BaseException] | BaseException, message: str | None = None
    ) -> StepResult:
        """``gen.throw(exc)``: raise ``exc`` (a type is built with ``message``) at the yield."""
        error = exc if not isinstance(exc, type) else exc() if message is None else exc(message)
        shown = f"{type(error).__name__}({', '.join(safe_repr(a, 40) for a in error.args)})"
        return self._step(Action.THROW, shown, lambda g: g.throw(error))

    def close(self) -> StepResult:
        """``gen.close()``: raise GeneratorExit at the paused yield and finish the generator."""
        return self._step(Action.CLOSE, None, lambda g: g.close())

    def reset(self) -> StepResult:
        """Close the old generator (unless it is still running) and make a fresh one.

        The old generator is closed outside the lock: its ``finally`` blocks are user code and
        may take their time, and the state must stay readable meanwhile.
        """
        with self._lock:
            if self._running:
                self.abandon()
            before = self._state_now()
            old = self._gen
            self._epoch += 1
            self._gen = None
            self._abandoned = False
            self._line, self._locals = None, ()
        if old is not None:
            with contextlib.suppress(Exception):  # one that refuses to close is dropped
                old.close()
        with self._lock:
            try:
                self._gen = create_generator(self._factory)
            except FactoryError as exc:
                self._line, self._locals = None, ()
                result = StepResult(
                    index=0,
                    action=Action.RESET,
                    argument=None,
                    outcome=Outcome.RAISED,
                    state_before=before,
                    state_after=GenState.CLOSED,
                    error_type="FactoryError",
                    error_message=str(exc),
                )
                return self._record(result)
            self._code = self._gen.gi_code
            self._line, self._locals = self._snapshot(self._gen)
            result = StepResult(
                index=0,
                action=Action.RESET,
                argument=None,
                outcome=Outcome.CREATED,
                state_before=before,
                state_after=GenState.CREATED,
                locals_after=self._locals,
            )
            return self._record(result)

    def abandon(self) -> StepResult | None:
        """Give up on a step in progress: forget its generator. None if nothing is running."""
        with self._lock:
            if not self._running:
                return None
            self._epoch += 1
            self._running = 0
            self._gen = None
            self._abandoned = True
            self._line, self._locals = None, ()
            result = StepResult(
                index=0,
                action=Action.GIVE_UP,
                argument=None,
                outcome=Outcome.ABANDONED,
                state_before=GenState.RUNNING,
                state_after=GenState.ABANDONED,
            )
            return self._record(result)

    # -- internals ---------------------------------------------------------------------------

    def _state_now(self) -> GenState:
        """The state, the lock being held."""
        if self._running:
            return GenState.RUNNING
        if self._gen is None:
            return GenState.ABANDONED if self._abandoned else GenState.CLOSED
        return state_of(self._gen)

    def _snapshot(
        self, gen: GeneratorType[Any, Any, Any]
    ) -> tuple[int | None, tuple[LocalVar, ...]]:
        """The suspended line and the locals of a generator that is not running."""
        frame = gen.gi_frame
        if frame is None:
            return None, ()
        line = frame.f_lineno if state_of(gen) is GenState.SUSPENDED else None
        width = self._repr_width
        local_vars = tuple(
            LocalVar(name, type(value).__name__, safe_repr(value, width))
            for name, value in frame.f_locals.items()
        )
        return line, local_vars

    def _record(self, result: StepResult) -> StepResult:
        """Number ``result``, add its hint, and append it to the history (lock held)."""
        self._count += 1
        result = replace(result, index=self._count)
        result = replace(result, hint=hint_for(result))
        self._history.append(result)
        self._last_result = result
        if result.produced_value:
            self._last_output = result
        return result

    def _step(
        self,
        action: Action,
        argument: str | None,
        call: Callable[[Generator[Any, Any, Any]], Any],
    ) -> StepResult:
        """Run ``call`` on the current generator, outside the lock, and record the outcome."""
        with self._lock:
            gen = self._gen
            before = self._state_now()
            if gen is None:
                refused = StepResult(
                    index=0,
                    action=action,
                    argument=argument,
                    outcome=Outcome.REFUSED,
                    state_before=before,
                    state_after=before,
                )
                return self._record(refused)
            epoch = self._epoch
            self._running += 1
        value: Any = None
        error: BaseException | None = None
        outcome = Outcome.CLOSED if action is Action.CLOSE else Outcome.YIELDED
        started = time.perf_counter()
        try:
            value = call(gen)
        except StopIteration as stop:
            value = stop.value
            outcome = Outcome.EXHAUSTED if before is GenState.CLOSED else Outcome.RETURNED
        except BaseException as exc:  # the user's generator may raise anything
            error = exc
            outcome = Outcome.RAISED
        elapsed = time.perf_counter() - started
        if action is Action.CLOSE:
            value = None
        return self._finish(gen, epoch, action, argument, before, outcome, value, error, elapsed)

    def _finish(
        self,
        gen: GeneratorType[Any, Any, Any],
        epoch: int,
        action: Action,
        argument: str | None,
        before: GenState,
        outcome: Outcome,
        value: Any,
        error: BaseException | None,
        elapsed: float,
    ) -> StepResult:
        """Build and record the result of a call that came back (lock taken here)."""
        error_line = None
        if error is not None:
            error_line = _error_line(error.__traceback__, gen.gi_code)
            error = error.with_traceback(None)
        shown = safe_repr(value, self._repr_width) if outcome is not Outcome.RAISED else None
        with self._lock:
            stale = epoch != self._epoch
            if not stale:
                self._running -= 1
                self._line, self._locals = self._snapshot(gen)
            result = StepResult(
                index=0,
                action=action,
                argument=argument,
                outcome=outcome,
                state_before=before,
                state_after=state_of(gen) if not stale else self._state_now(),
                value=value,
                value_repr=shown,
                exception=error,
                error_type=type(error).__name__ if error is not None else None,
                error_message=_message(error),
                error_line=error_line,
                line_after=self._line if not stale else None,
                locals_after=self._locals if not stale else (),
                elapsed_s=elapsed,
                stale=stale,
            )
            if stale:
                return result
            return self._record(result)
