"""Unit tests of the generator stepper model (mpscope.core.stepper): no UI, no processes."""

from __future__ import annotations

import importlib.util
import inspect
import sys
import threading
import time
from collections.abc import Callable, Generator
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mpscope.core.stepper import hints as stepper_hints
from mpscope.core.stepper import seed_generators
from mpscope.core.stepper.examples import EXAMPLES, example_named
from mpscope.core.stepper.machine import FactoryError, GeneratorStepper
from mpscope.core.stepper.result import Action, GenState, Outcome
from mpscope.core.stepper.runner import StepRunner
from mpscope.core.stepper.safe_repr import safe_repr

FIXTURES = Path(__file__).parent / "gen_fixtures"


def _fixture(name: str) -> ModuleType:
    """Import a module from tests/gen_fixtures by file name (cached in sys.modules)."""
    key = f"_stepper_test_{name}"
    if key in sys.modules:
        return sys.modules[key]
    spec = importlib.util.spec_from_file_location(key, FIXTURES / f"{name}.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[key] = module
    spec.loader.exec_module(module)
    return module


user = _fixture("user_gens")


def stepper_for(name: str) -> GeneratorStepper:
    example = example_named(name)
    assert example is not None
    return GeneratorStepper(example.factory(), label=example.call_text)


def run_out(stepper: GeneratorStepper, limit: int = 1000) -> list[Any]:
    """next() until the generator stops; the yielded values."""
    values = []
    for _ in range(limit):
        result = stepper.next()
        if result.outcome is not Outcome.YIELDED:
            return values
        values.append(result.value)
    raise AssertionError("did not stop")


def line_of(stepper: GeneratorStepper, text: str) -> int:
    """The file line number of the (first) source line containing ``text``."""
    source = stepper.source
    assert source is not None
    for offset, line in enumerate(source.lines):
        if text in line:
            return source.first_lineno + offset
    raise AssertionError(f"{text!r} not in source")


# -- the seed's examples ----------------------------------------------------------------------


@pytest.mark.parametrize("example", [e for e in EXAMPLES if not e.send_values], ids=str)
def test_next_reproduces_each_examples_seed_output(example: Any) -> None:
    stepper = GeneratorStepper(example.factory())
    assert run_out(stepper) == list(example.expected)
    assert stepper.state is GenState.CLOSED


def test_running_average_reproduces_the_seed() -> None:
    stepper = stepper_for("running_average")
    primed = stepper.next()
    assert (primed.outcome, primed.value) == (Outcome.YIELDED, None)
    assert [stepper.send(v).value for v in (10, 20, 30)] == [10.0, 15.0, 20.0]


def test_batches_are_8_8_8_1() -> None:
    assert [len(batch) for batch in run_out(stepper_for("batch_generator"))] == [8, 8, 8, 1]


def test_genexpr_source_is_its_expression() -> None:
    stepper = stepper_for("genexpr")
    assert stepper.source is not None
    assert stepper.source.lines == ("(x**2 for x in range(5))",)
    assert stepper.source.expression
    stepper.next()
    assert stepper.current_line == stepper.source.first_lineno
    names = [var.name for var in stepper.locals]
    assert names == [".0", "x"]


def test_multi_line_genexpr_source_keeps_its_lines() -> None:
    stepper = GeneratorStepper(user.multi_line_genexpr)
    assert stepper.source is not None
    assert stepper.source.lines[0] == "(x * 10"
    assert stepper.source.lines[-1].strip() == "if x != 1)"
    assert len(stepper.source.lines) == 3


def test_function_source_is_inspects() -> None:
    stepper = stepper_for("squares_gen")
    assert stepper.source is not None
    assert stepper.source.text == inspect.getsource(seed_generators.squares_gen).rstrip("\n")
    assert stepper.source.lines[0] == "def squares_gen(n):"
    assert stepper.source.first_lineno == seed_generators.squares_gen.__code__.co_firstlineno


# -- states, lines, locals ---------------------------------------------------------------------


def test_states_before_and_after_and_suspended_line() -> None:
    stepper = stepper_for("squares_gen")
    assert stepper.state is GenState.CREATED
    assert stepper.current_line is None
    assert [(v.name, v.value_repr) for v in stepper.locals] == [("n", "5")]
    first = stepper.next()
    assert (first.state_before, first.state_after) == (GenState.CREATED, GenState.SUSPENDED)
    assert first.line_after == stepper.current_line == line_of(stepper, "yield i**2")
    assert [(v.name, v.value_repr) for v in first.locals_after] == [("n", "5"), ("i", "0")]
    for _ in range(4):
        stepper.next()
    last = stepper.next()
    assert last.outcome is Outcome.RETURNED
    assert (last.state_before, last.state_after) == (GenState.SUSPENDED, GenState.CLOSED)
    assert stepper.current_line is None
    assert stepper.locals == ()


def test_return_value_travels_in_stop_iteration() -> None:
    stepper = GeneratorStepper(lambda: user.countdown(2))
    assert run_out(stepper) == [2, 1]
    finished = stepper.last_result
    assert finished is not None
    assert (finished.outcome, finished.value) == (Outcome.RETURNED, "liftoff")
    assert "StopIteration.value" in (finished.hint or "")
    assert stepper.last_output is finished


def test_exhausted_cannot_be_rewound_but_reset_recreates() -> None:
    stepper = stepper_for("squares_gen")
    run_out(stepper)
    again = stepper.next()
    assert again.outcome is Outcome.EXHAUSTED
    assert again.hint == stepper_hints.EXHAUSTED
    assert stepper.send(None).outcome is Outcome.EXHAUSTED
    old = stepper.generator
    reset = stepper.reset()
    assert (reset.outcome, reset.state_after) == (Outcome.CREATED, GenState.CREATED)
    assert stepper.generator is not old
    assert run_out(stepper) == [0, 1, 4, 9, 16]


# -- the rules that bite -----------------------------------------------------------------------


def test_send_before_priming_raises_the_real_type_error_and_leaves_it_created() -> None:
    stepper = stepper_for("running_average")
    result = stepper.send(10)
    assert result.outcome is Outcome.RAISED
    assert result.error_type == "TypeError"
    assert result.error_message == "can't send non-None value to a just-started generator"
    assert isinstance(result.exception, TypeError)
    assert result.hint == stepper_hints.PRIME_FIRST
    assert result.state_after is GenState.CREATED is stepper.state
    stepper.next()
    assert stepper.send(10).value == 10.0


def test_send_none_to_a_fresh_generator_is_next() -> None:
    stepper = stepper_for("squares_gen")
    result = stepper.send(None)
    assert (result.outcome, result.value) == (Outcome.YIELDED, 0)
    assert "same as next()" in (result.hint or "")


def test_send_returns_the_next_yielded_value_and_says_so() -> None:
    stepper = GeneratorStepper(user.echo)
    stepper.next()
    result = stepper.send("hi")
    assert result.value == "hi"
    assert result.argument == "'hi'"
    assert "returned what that yielded" in (result.hint or "")


def test_next_on_running_average_sends_none_and_breaks_it() -> None:
    stepper = stepper_for("running_average")
    stepper.next()
    result = stepper.next()
    assert result.error_type == "TypeError"
    assert result.error_line == line_of(stepper, "total += value")
    assert "next(g) is g.send(None)" in (result.hint or "")
    assert stepper.state is GenState.CLOSED


def test_throw_caught_by_the_generator_returns_its_next_value() -> None:
    stepper = GeneratorStepper(user.echo)
    stepper.next()
    result = stepper.throw(ValueError, "boom")
    assert (result.outcome, result.value) == (Outcome.YIELDED, "caught boom")
    assert result.argument == "ValueError('boom')"
    assert result.state_after is GenState.SUSPENDED


def test_throw_uncaught_comes_out_and_closes() -> None:
    stepper = stepper_for("squares_gen")
    stepper.next()
    result = stepper.throw(KeyError("k"))
    assert (result.outcome, result.error_type) == (Outcome.RAISED, "KeyError")
    assert result.error_line == line_of(stepper, "yield i**2")
    assert result.state_after is GenState.CLOSED
    assert "paused yield" in (result.hint or "")


def test_throw_into_fresh_and_into_closed() -> None:
    stepper = stepper_for("squares_gen")
    fresh = stepper.throw(ValueError)
    assert (fresh.outcome, fresh.state_after) == (Outcome.RAISED, GenState.CLOSED)
    assert "before the body runs" in (fresh.hint or "")
    closed = stepper.throw(ValueError, "again")
    assert closed.outcome is Outcome.RAISED
    assert "re-raises" in (closed.hint or "")


def test_stop_iteration_inside_becomes_runtime_error() -> None:
    stepper = GeneratorStepper(user.leaky_stop)
    stepper.next()
    result = stepper.next()
    assert result.error_type == "RuntimeError"
    assert result.hint == stepper_hints.PEP_479


def test_close_runs_finally_and_closes() -> None:
    log: list[str] = []
    stepper = GeneratorStepper(lambda: user.cleanup(log))
    stepper.next()
    result = stepper.close()
    assert (result.outcome, result.state_before, result.state_after) == (
        Outcome.CLOSED,
        GenState.SUSPENDED,
        GenState.CLOSED,
    )
    assert log == ["cleaned up"]
    assert stepper.next().outcome is Outcome.EXHAUSTED
    assert "does nothing" in (stepper.close().hint or "")


def test_reset_closes_the_old_generator_first() -> None:
    log: list[str] = []
    stepper = GeneratorStepper(lambda: user.cleanup(log))
    stepper.next()
    assert stepper.reset().outcome is Outcome.CREATED
    assert log == ["cleaned up"]
    assert stepper.next().value == "working"


def test_close_fresh_never_runs_the_body() -> None:
    log: list[str] = []
    stepper = GeneratorStepper(lambda: user.cleanup(log))
    result = stepper.close()
    assert result.state_after is GenState.CLOSED
    assert log == []
    assert "body never ran" in (result.hint or "")


def test_close_on_a_generator_that_yields_again_is_runtime_error() -> None:
    stepper = GeneratorStepper(user.stubborn)
    stepper.next()
    result = stepper.close()
    assert (result.outcome, result.error_type) == (Outcome.RAISED, "RuntimeError")
    assert "GeneratorExit" in (result.hint or "")


def test_read_large_file_close_closes_the_file() -> None:
    stepper = stepper_for("read_large_file")
    stepper.next()
    handle = stepper.generator.gi_frame.f_locals["f"]  # type: ignore[union-attr]
    assert not handle.closed
    stepper.close()
    assert handle.closed


# -- history, outputs, factories ---------------------------------------------------------------


def test_history_is_bounded_and_numbered() -> None:
    stepper = GeneratorStepper(lambda: user.countdown(10), history_limit=3)
    for _ in range(5):
        stepper.next()
    assert [r.index for r in stepper.history] == [3, 4, 5]
    assert all(r.action is Action.NEXT for r in stepper.history)


def test_last_output_survives_an_error() -> None:
    stepper = stepper_for("running_average")
    stepper.next()
    stepper.send(10)
    stepper.send("x")
    assert stepper.last_result is not None and stepper.last_result.outcome is Outcome.RAISED
    assert stepper.last_output is not None and stepper.last_output.value == 10.0


@pytest.mark.parametrize(
    ("factory", "message"),
    [
        (user.plain_function, "returned a list, not a generator"),
        (lambda: user.picky(-1) and next(user.picky(-1)), "ValueError: n must be >= 0"),
        (user.agen, "async generator"),
        (user.coro, "coroutine"),
        (lambda: 1 / 0, "ZeroDivisionError"),
    ],
)
def test_factory_errors_are_one_line(factory: Callable[[], Any], message: str) -> None:
    with pytest.raises(FactoryError, match=message) as caught:
        GeneratorStepper(factory)
    assert "\n" not in str(caught.value)


def test_reset_with_a_failing_factory_then_refuses() -> None:
    calls = []

    def flaky() -> Generator[int, None, None]:
        calls.append(1)
        if len(calls) > 1:
            raise OSError("gone")
        return user.countdown(1)  # type: ignore[no-any-return]

    stepper = GeneratorStepper(flaky)
    result = stepper.reset()
    assert (result.outcome, result.error_type) == (Outcome.RAISED, "FactoryError")
    assert "OSError: gone" in result.error_message
    assert stepper.state is GenState.CLOSED
    refused = stepper.next()
    assert refused.outcome is Outcome.REFUSED
    assert "factory failed" in (refused.hint or "")


# -- safe reprs ---------------------------------------------------------------------------------


class Loud:
    calls = 0

    def __repr__(self) -> str:
        Loud.calls += 1
        raise AssertionError("__repr__ must not be called")


def test_locals_never_call_python_reprs() -> None:
    def holds() -> Generator[int, None, None]:
        thing = Loud()
        things = [Loud(), Loud()]
        yield len(things) + (thing is None)

    stepper = GeneratorStepper(holds)
    stepper.next()
    shown = {var.name: var.value_repr for var in stepper.locals}
    assert shown["thing"] == f"<{__name__}.Loud object>"
    assert shown["things"] == f"[<{__name__}.Loud object>, <{__name__}.Loud object>]"
    assert Loud.calls == 0


def test_safe_repr_truncates_and_hides_addresses() -> None:
    assert len(safe_repr("x" * 10_000, width=40)) <= 40
    assert len(safe_repr(list(range(10_000)), width=60)) <= 60
    assert "0x" not in safe_repr(iter(range(3)))
    assert safe_repr(10**5000).startswith("<int of about")
    assert safe_repr(b"\x00" * 1000).endswith("...")
    assert "\n" not in safe_repr("a\nb")


# -- hypothesis properties --------------------------------------------------------------------


@settings(max_examples=60, deadline=None)
@given(st.lists(st.integers() | st.text(max_size=5) | st.none(), max_size=30))
def test_stepping_with_next_yields_exactly_list_of_factory(items: list[Any]) -> None:
    def factory() -> Generator[Any, None, None]:
        yield from items

    stepper = GeneratorStepper(factory)
    assert run_out(stepper) == list(factory())
    assert stepper.last_result is not None and stepper.last_result.outcome is Outcome.RETURNED


@settings(max_examples=40, deadline=None)
@given(st.integers(min_value=0, max_value=40))
def test_squares_gen_steps_to_squares(n: int) -> None:
    example = example_named("squares_gen")
    assert example is not None and example.function is not None
    function = example.function
    stepper = GeneratorStepper(lambda: function(n))
    assert run_out(stepper) == [i**2 for i in range(n)]


@settings(max_examples=60, deadline=None)
@given(
    st.lists(
        st.integers(min_value=-(10**6), max_value=10**6)
        | st.floats(min_value=-1e6, max_value=1e6, allow_nan=False),
        min_size=1,
        max_size=20,
    )
)
def test_running_average_matches_a_reference_mean(values: list[float]) -> None:
    stepper = stepper_for("running_average")
    stepper.next()
    for count, value in enumerate(values, 1):
        got = stepper.send(value).value
        reference = sum(values[:count]) / count
        assert got == pytest.approx(reference, rel=1e-9, abs=1e-6)


# -- threads: a generator that runs for ever between yields ------------------------------------


def test_runner_gives_up_on_a_runaway_generator() -> None:
    runaway = _fixture("runaway")
    runaway.STOP.clear()
    stepper = GeneratorStepper(runaway.spin)
    runner = StepRunner(stepper)
    delivered: list[Any] = []
    assert runner.submit(GeneratorStepper.next, delivered.append)
    assert runner.last_thread is not None
    runner.last_thread.join(2)
    assert [r.value for r in delivered] == ["started"]
    try:
        assert runner.submit(GeneratorStepper.next, delivered.append)
        thread = runner.last_thread
        deadline = time.monotonic() + 2
        while stepper.live_line != line_of(stepper, "time.sleep(step)"):
            assert time.monotonic() < deadline, "never saw the loop running"
            time.sleep(0.005)
        assert runner.busy and stepper.busy
        assert stepper.state is GenState.RUNNING
        assert not runner.submit(GeneratorStepper.next, delivered.append)  # one at a time
        gave_up = runner.give_up()
        assert gave_up is not None
        assert (gave_up.outcome, gave_up.state_after) == (Outcome.ABANDONED, GenState.ABANDONED)
        assert stepper.state is GenState.ABANDONED and not runner.busy
        assert stepper.next().outcome is Outcome.REFUSED
        assert stepper.reset().outcome is Outcome.CREATED
        assert stepper.next().value == "started"
    finally:
        runaway.STOP.set()
    assert thread is not None
    thread.join(2)
    assert not thread.is_alive()
    assert [r.value for r in delivered] == ["started"]  # the stale result was dropped
    assert stepper.state is GenState.SUSPENDED
    assert stepper.history[-1].value == "started"


def test_runner_done_runs_off_the_callers_thread() -> None:
    stepper = stepper_for("squares_gen")
    runner = StepRunner(stepper)
    threads: list[threading.Thread] = []
    runner.submit(GeneratorStepper.next, lambda _result: threads.append(threading.current_thread()))
    assert runner.last_thread is not None
    runner.last_thread.join(2)
    assert threads and threads[0] is not threading.current_thread()
    assert threads[0].daemon
    assert runner.give_up() is None  # nothing running
