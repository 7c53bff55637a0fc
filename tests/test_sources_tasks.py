"""Task sources (the seed's batch_generator), labels, task functions and their checks."""

from __future__ import annotations

import inspect
import sys
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mpscope.core.loading import SpecError, load_callable, split_spec
from mpscope.core.pipeline.scenario import make_scenario
from mpscope.core.pipeline.sources import batch_generator, make_source, range_source, task_label
from mpscope.core.pipeline.tasks import (
    InjectedFailure,
    check_task_function,
    resolve_task_function,
    run_task,
    simulated_seconds,
    square,
)

FIXTURES = Path(__file__).parent / "fixtures"
USER_TASKS = FIXTURES / "user_tasks.py"
BROKEN = FIXTURES / "broken_module.py"


# -- sources ----------------------------------------------------------------------------------


def test_the_seeds_batch_generator_example() -> None:
    assert list(batch_generator(range(25), 8)) == [
        list(range(0, 8)),
        list(range(8, 16)),
        list(range(16, 24)),
        [24],
    ]


def test_batch_generator_is_lazy_and_a_generator() -> None:
    pulled: list[int] = []

    def numbers() -> object:
        for i in range(100):
            pulled.append(i)
            yield i

    gen = batch_generator(numbers(), 4)  # type: ignore[arg-type]
    assert inspect.isgenerator(gen)
    assert pulled == []
    assert next(gen) == [0, 1, 2, 3]
    assert pulled == [0, 1, 2, 3]


def test_batch_generator_edges() -> None:
    assert list(batch_generator([], 3)) == []
    assert list(batch_generator(range(6), 3)) == [[0, 1, 2], [3, 4, 5]]
    assert list(batch_generator(range(2), 5)) == [[0, 1]]
    assert list(batch_generator("abc", 1)) == [["a"], ["b"], ["c"]]


@given(st.lists(st.integers(), max_size=60), st.integers(1, 12))
def test_batches_concatenate_back_and_only_the_last_is_short(data: list[int], size: int) -> None:
    batches = list(batch_generator(iter(data), size))
    assert [v for batch in batches for v in batch] == data
    assert all(len(batch) == size for batch in batches[:-1])
    assert all(1 <= len(batch) <= size for batch in batches)
    assert len(batches) == -(-len(data) // size)


def test_range_source_is_the_seeds_tasks() -> None:
    assert list(range_source(1, 10)) == list(range(1, 11))
    assert list(range_source(-2, 3)) == [-2, -1, 0]
    assert inspect.isgenerator(range_source(1, 10**12))  # a million million cost nothing


def test_make_source_for_range_and_batches() -> None:
    sc, _ = make_scenario()
    assert list(make_source(sc)) == list(range(1, 11))
    sc, _ = make_scenario(source="batches", first=0, count=25, batch_size=8)
    batches = list(make_source(sc))
    assert batches == [list(range(0, 8)), list(range(8, 16)), list(range(16, 24)), [24]]
    assert len(batches) == sc.task_total
    # a fresh generator each time
    assert list(make_source(sc)) == batches
    big, _ = make_scenario(count=10_000_000)
    source = make_source(big)
    assert inspect.isgenerator(source) and next(source) == 1


def test_task_labels() -> None:
    assert task_label(7) == "7"
    assert task_label(-3) == "-3"
    assert task_label(10**60) == str(10**60)[:39] + "…"  # a long number is clipped too
    assert task_label([0, 1, 2, 3, 4, 5, 6, 7]) == "[0..7]"
    assert task_label([24]) == "[24]"
    assert task_label([3, 1]) == "[3, 1]"  # not consecutive: its repr
    assert task_label([]) == "[]"
    assert task_label("abc") == "'abc'"
    long = task_label(list(range(0, 1000, 2)))
    assert len(long) <= 40 and long.endswith("…")
    assert "\n" not in task_label("a\nb")


# -- square, simulated time, run_task ---------------------------------------------------------


def test_square_on_ints_and_lists() -> None:
    assert square(3) == 9
    assert square(-4) == 16
    assert square(0) == 0
    assert square([1, 2, 3]) == [1, 4, 9]
    assert square([]) == []
    assert square(list(range(8))) == [v * v for v in range(8)]


def test_simulated_seconds_is_deterministic_and_within_the_jitter() -> None:
    for task in range(50):
        a = simulated_seconds(0.3, 0.5, 7, task, 1.0)
        assert a == simulated_seconds(0.3, 0.5, 7, task, 1.0)
        assert 0.3 * 0.5 - 1e-12 <= a <= 0.3 * 1.5 + 1e-12
    values = {simulated_seconds(0.3, 0.5, 7, task, 1.0) for task in range(50)}
    assert len(values) > 40  # tasks differ
    other = [simulated_seconds(0.3, 0.5, 8, task, 1.0) for task in range(50)]
    assert other != [simulated_seconds(0.3, 0.5, 7, task, 1.0) for task in range(50)]


@given(
    st.floats(0.001, 60),
    st.floats(0, 1),
    st.integers(-(10**9), 10**9),
    st.integers(0, 10**9),
    st.floats(0.01, 100),
)
def test_simulated_seconds_bounds(
    base: float, jitter: float, seed: int, task: int, scale: float
) -> None:
    value = simulated_seconds(base, jitter, seed, task, scale)
    assert value == simulated_seconds(base, jitter, seed, task, scale)
    low, high = base * (1 - jitter) * scale, base * (1 + jitter) * scale
    assert low * (1 - 1e-9) - 1e-12 <= value <= high * (1 + 1e-9) + 1e-12
    assert value >= 0


def test_simulated_seconds_without_jitter_or_work() -> None:
    assert simulated_seconds(0.3, 0.0, 1, 5, 1.0) == 0.3
    assert simulated_seconds(0.3, 0.0, 1, 5, 2.0) == pytest.approx(0.6)
    assert simulated_seconds(0.0, 0.5, 1, 5, 1.0) == 0.0
    assert simulated_seconds(-1.0, 0.5, 1, 5, 1.0) == 0.0


def test_run_task_runs_the_function_or_the_injected_failure() -> None:
    assert run_task(square, 5, 0, False) == 25
    with pytest.raises(InjectedFailure, match="marked to fail"):
        run_task(square, 5, 0, True)


# -- task functions named module:function -----------------------------------------------------


def test_square_is_builtin() -> None:
    assert resolve_task_function("square") is square
    check_task_function("square")


def test_a_user_function_from_a_file() -> None:
    spec = f"{USER_TASKS}:cube"
    check_task_function(spec)
    assert resolve_task_function(spec)(3) == 27


def test_a_user_function_from_a_relative_path(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(Path(__file__).parent.parent)
    check_task_function("tests/fixtures/user_tasks.py:cube")
    assert resolve_task_function("tests/fixtures/user_tasks.py:cube")(2) == 8


def test_a_user_function_from_a_module() -> None:
    check_task_function("math:sqrt")
    assert resolve_task_function("math:sqrt")(16) == 4
    check_task_function("mpscope.core.pipeline.tasks:square")


def _spec_error(spec: str) -> str:
    with pytest.raises(SpecError) as caught:
        check_task_function(spec)
    message = str(caught.value)
    assert "\n" not in message and message
    return message


def test_no_such_module() -> None:
    assert "nosuch" in _spec_error("nosuch:fn")
    assert "nosuch" in _spec_error("nosuch.deeper:fn")


def test_a_module_that_raises_on_import() -> None:
    message = _spec_error(f"{BROKEN}:f")
    assert "RuntimeError" in message and "broken on purpose" in message
    # a failed import leaves nothing half-imported behind
    assert not [n for n in sys.modules if n.startswith("mpscope_user_") and "broken_module" in n]
    assert "RuntimeError" in _spec_error(f"{BROKEN}:f")  # and fails the same way again


def test_a_missing_file() -> None:
    assert "no such file" in _spec_error(f"{FIXTURES}/nosuch.py:f")


def test_a_missing_attribute() -> None:
    message = _spec_error(f"{USER_TASKS}:nosuch")
    assert "nosuch" in message and "no attribute" in message
    assert "no attribute" in _spec_error("math:nosuch")


def test_not_callable() -> None:
    message = _spec_error(f"{USER_TASKS}:NOT_CALLABLE")
    assert "not callable" in message and "int" in message


def test_not_picklable() -> None:
    message = _spec_error(f"{USER_TASKS}:not_picklable")
    assert "not picklable" in message


@pytest.mark.parametrize(
    "spec", ["cube", ":cube", "tests/fixtures/user_tasks.py:", "a:b:c d", "mod:1abc", ""]
)
def test_malformed_specs(spec: str) -> None:
    _spec_error(spec)


def test_split_spec_takes_the_last_colon() -> None:
    assert split_spec("C:/x/y.py:fn") == ("C:/x/y.py", "fn")
    with pytest.raises(SpecError):
        load_callable("math")
