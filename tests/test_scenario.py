"""Scenarios: the seed's Task 3 by default, caps with notes, one-line errors, JSON round trip."""

from __future__ import annotations

import dataclasses
import json
import math
import pickle
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mpscope.core.pipeline.scenario import (
    MAX_BATCH,
    MAX_PRINT_COUNT,
    MAX_QUEUE_BOUND,
    MAX_SECONDS,
    MAX_TASKS,
    MAX_TIME_SCALE,
    MAX_WORKERS,
    MIN_TIME_SCALE,
    MODES,
    SOURCES,
    START_METHODS,
    Scenario,
    ScenarioError,
    make_scenario,
)
from mpscope.core.pipeline.sources import make_source

# -- defaults: the seed's Task 3 --------------------------------------------------------------


def test_defaults_are_the_seeds_task_3() -> None:
    for scenario in (Scenario(), make_scenario()[0]):
        assert scenario.mode == "pipeline"
        assert scenario.title == "Task 3 · pipeline"
        assert scenario.workers == 3
        assert list(make_source(scenario)) == list(range(1, 11))
        assert scenario.task_total == 10
        assert scenario.work_time == 0.3
        assert scenario.collect_time == 0.1
        assert scenario.function == "square"
        assert scenario.fail_on == ()
        assert scenario.time_scale == 1.0
        assert scenario.start_method in START_METHODS
    assert make_scenario() == (Scenario(), [])


def test_the_seeds_other_tasks_are_modes() -> None:
    print_mode, notes = make_scenario(mode="print")
    assert notes == [] and print_mode.title == "Task 1 · processes print"
    assert print_mode.print_count == 5 and print_mode.print_delay == 0.1
    assert print_mode.task_total == print_mode.workers == 3  # one print job per worker
    collect_after, _ = make_scenario(mode="collect-after")
    assert collect_after.title == "Task 2 · collect after"
    assert set(MODES) == {"print", "collect-after", "pipeline"}


def test_describe_is_one_line_in_words() -> None:
    text = Scenario().describe()
    assert "\n" not in text
    assert "Task 3" in text and "3 workers" in text and "10 tasks of square" in text
    batches, _ = make_scenario(source="batches", count=25, batch_size=8)
    assert batches.task_total == 4
    assert "4 batches of 8" in batches.describe()
    assert "each prints 1..5" in make_scenario(mode="print")[0].describe()
    one, _ = make_scenario(workers=1, count=1)  # no "1 workers", no "1 tasks"
    assert "· 1 worker · 1 task of square" in one.describe()
    assert one.brief() == "Task 3 · 1 worker · 1 task"  # a narrow header's
    assert batches.brief() == "Task 3 · 3 workers · 4 batches"
    assert make_scenario(mode="print")[0].brief() == "Task 1 · 3 workers · prints 1..5"


def test_scenarios_are_immutable_and_pickle() -> None:
    scenario, _ = make_scenario(workers=2, fail_on="3,7")
    with pytest.raises(dataclasses.FrozenInstanceError):
        scenario.workers = 5  # type: ignore[misc]
    assert pickle.loads(pickle.dumps(scenario)) == scenario


# -- loose input, as from the command line ----------------------------------------------------


def test_strings_are_accepted_for_numbers() -> None:
    scenario, notes = make_scenario(
        workers="4", count="12", work_time="0.5", jitter="0.25", seed="-3", fail_on="2, 5,9"
    )
    assert notes == []
    assert (scenario.workers, scenario.count, scenario.seed) == (4, 12, -3)
    assert scenario.work_time == 0.5 and scenario.jitter == 0.25
    assert scenario.fail_on == (2, 5, 9)


def test_fail_on_as_a_list_and_empty() -> None:
    assert make_scenario(fail_on=[1, "2"])[0].fail_on == (1, 2)
    assert make_scenario(fail_on="")[0].fail_on == ()
    assert make_scenario(fail_on=",,")[0].fail_on == ()


# -- caps produce notes -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "value", "cap"),
    [
        ("workers", 1000, MAX_WORKERS),
        ("workers", "1000", MAX_WORKERS),
        ("count", MAX_TASKS + 1, MAX_TASKS),
        ("batch_size", MAX_BATCH * 3, MAX_BATCH),
        ("queue_bound", MAX_QUEUE_BOUND + 1, MAX_QUEUE_BOUND),
        ("print_count", MAX_PRINT_COUNT + 1, MAX_PRINT_COUNT),
        ("work_time", 3600, MAX_SECONDS),
        ("collect_time", "1e6", MAX_SECONDS),
        ("print_delay", 61.5, MAX_SECONDS),
        ("jitter", 5, 1.0),
        ("time_scale", 1000, MAX_TIME_SCALE),
    ],
)
def test_a_value_over_its_cap_is_capped_with_a_note(name: str, value: Any, cap: Any) -> None:
    scenario, notes = make_scenario(**{name: value})
    assert getattr(scenario, name) == cap
    assert len(notes) == 1
    shown = str(cap) if isinstance(cap, int) else f"{cap:g}"
    assert name in notes[0] and "capped" in notes[0] and notes[0].endswith(shown)
    assert "\n" not in notes[0]


def test_workers_1000_becomes_64_with_a_note() -> None:
    scenario, notes = make_scenario(workers=1000)
    assert scenario.workers == 64
    assert notes == ["workers 1000 is more than this tool shows; capped at 64"]


def test_values_at_their_caps_make_no_note() -> None:
    scenario, notes = make_scenario(workers=MAX_WORKERS, work_time=MAX_SECONDS, jitter=1)
    assert notes == [] and scenario.workers == MAX_WORKERS


def test_several_caps_make_several_notes() -> None:
    _, notes = make_scenario(workers=100, count=MAX_TASKS * 2, jitter=2)
    assert len(notes) == 3


# -- errors -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("settings_", "words"),
    [
        ({"workers": 0}, "workers must be at least 1"),
        ({"workers": -3}, "workers must be at least 1"),
        ({"workers": "-3"}, "workers"),
        ({"workers": "abc"}, "workers must be a whole number"),
        ({"workers": "2.5"}, "workers must be a whole number"),
        ({"workers": 2.5}, "workers must be a whole number"),
        ({"workers": True}, "workers must be a whole number"),
        ({"workers": None}, "workers must be a whole number"),
        ({"workers": ""}, "workers must be a whole number"),
        ({"count": 0}, "count must be at least 1"),
        ({"count": "many"}, "count"),
        ({"batch_size": 0}, "batch_size"),
        ({"queue_bound": 0}, "queue_bound"),
        ({"first": "one"}, "first"),
        ({"seed": 1.5}, "seed"),
        ({"work_time": "abc"}, "work_time must be a number"),
        ({"work_time": -0.1}, "work_time must be at least 0"),
        ({"work_time": "nan"}, "work_time must be a finite number"),
        ({"work_time": float("nan")}, "work_time must be a finite number"),
        ({"work_time": "inf"}, "work_time must be a finite number"),
        ({"work_time": float("inf")}, "work_time must be a finite number"),
        ({"collect_time": "-inf"}, "collect_time must be a finite number"),
        ({"jitter": "NaN"}, "jitter"),
        ({"print_delay": [1]}, "print_delay must be a number"),
        ({"time_scale": 0}, "time_scale must be at least"),
        ({"time_scale": "0.001"}, "time_scale must be at least"),
        ({"mode": "foo"}, "unknown mode 'foo'"),
        ({"mode": "task3"}, "unknown mode"),  # aliases are the CLI's business
        ({"mode": None}, "unknown mode"),
        ({"start_method": "bogus"}, "unknown start method 'bogus'"),
        ({"source": "file"}, "unknown source 'file'"),
        ({"function": ""}, "function"),
        ({"function": "   "}, "function"),
        ({"function": 5}, "function"),
        ({"fail_on": 3}, "fail_on must be a list"),
        ({"fail_on": "1,x"}, "fail_on must be a whole number"),
        ({"nosuch": 1}, "unknown setting 'nosuch'"),
        ({"title": "x"}, "unknown setting 'title'"),
    ],
)
def test_bad_settings_raise_a_one_line_error(settings_: dict[str, Any], words: str) -> None:
    with pytest.raises(ScenarioError) as caught:
        make_scenario(**settings_)
    message = str(caught.value)
    assert words in message
    assert "\n" not in message and len(message) < 300


def test_an_unknown_choice_lists_the_allowed_ones() -> None:
    for name, allowed in (("mode", MODES), ("start_method", START_METHODS), ("source", SOURCES)):
        with pytest.raises(ScenarioError) as caught:
            make_scenario(**{name: "bogus"})
        assert all(choice in str(caught.value) for choice in allowed)


def test_an_integer_too_big_for_a_float_is_a_scenario_error() -> None:
    with pytest.raises(ScenarioError):
        make_scenario(work_time=10**400)


def test_from_json_with_a_huge_integer_is_a_scenario_error() -> None:
    with pytest.raises(ScenarioError):
        Scenario.from_json('{"work_time": 1' + "0" * 400 + "}")


# -- JSON round trip --------------------------------------------------------------------------


def test_json_round_trip_of_the_defaults() -> None:
    text = Scenario().to_json()
    assert "\n" not in text
    assert Scenario.from_json(text) == Scenario()
    assert set(json.loads(text)) == {f.name for f in dataclasses.fields(Scenario)}


@pytest.mark.parametrize("text", ["", "not json", "[]", "3", '"pipeline"', "null"])
def test_from_json_rejects_foreign_text(text: str) -> None:
    with pytest.raises(ScenarioError):
        Scenario.from_json(text)


def test_from_json_validates_like_make_scenario() -> None:
    with pytest.raises(ScenarioError, match="workers must be at least 1"):
        Scenario.from_json('{"workers": 0}')
    with pytest.raises(ScenarioError, match="unknown setting"):
        Scenario.from_json('{"colour": "red"}')


VALID = st.fixed_dictionaries(
    {},
    optional={
        "mode": st.sampled_from(MODES),
        "workers": st.integers(1, MAX_WORKERS),
        "start_method": st.sampled_from(START_METHODS),
        "source": st.sampled_from(SOURCES),
        "first": st.integers(-(10**12), 10**12),
        "count": st.integers(1, MAX_TASKS),
        "batch_size": st.integers(1, MAX_BATCH),
        "function": st.sampled_from(["square", "pkg.mod:fn", "tests/fixtures/user_tasks.py:cube"]),
        "work_time": st.floats(0, MAX_SECONDS),
        "collect_time": st.floats(0, MAX_SECONDS),
        "jitter": st.floats(0, 1),
        "seed": st.integers(-(2**63), 2**63),
        "queue_bound": st.integers(1, MAX_QUEUE_BOUND),
        "print_count": st.integers(1, MAX_PRINT_COUNT),
        "print_delay": st.floats(0, MAX_SECONDS),
        "time_scale": st.floats(MIN_TIME_SCALE, MAX_TIME_SCALE),
        "fail_on": st.lists(st.integers(-1000, 1000), max_size=5).map(tuple),
    },
)


@settings(max_examples=200, deadline=None)
@given(VALID)
def test_json_round_trip_of_any_valid_scenario(values: dict[str, Any]) -> None:
    scenario, notes = make_scenario(**values)
    assert [note for note in notes if not note.startswith("fail_on")] == []  # values no task has
    for name, value in values.items():
        assert getattr(scenario, name) == value, name
    back = Scenario.from_json(scenario.to_json())
    assert back == scenario
    assert back.to_json() == scenario.to_json()
    assert isinstance(back.fail_on, tuple)
    assert all(not (isinstance(v, float) and math.isnan(v)) for v in dataclasses.astuple(back))


@settings(max_examples=200, deadline=None)
@given(
    st.dictionaries(
        st.sampled_from([f.name for f in dataclasses.fields(Scenario)] + ["bogus"]),
        st.one_of(
            st.none(),
            st.booleans(),
            st.integers(-(10**6), 10**6),
            st.floats(),
            st.text(max_size=8),
            st.lists(st.integers(), max_size=3),
        ),
        max_size=5,
    )
)
def test_any_loose_input_gives_a_scenario_or_a_scenario_error(values: dict[str, Any]) -> None:
    try:
        scenario, notes = make_scenario(**values)
    except ScenarioError as exc:
        assert "\n" not in str(exc)
        return
    assert 1 <= scenario.workers <= MAX_WORKERS
    assert 0 <= scenario.work_time <= MAX_SECONDS
    assert MIN_TIME_SCALE <= scenario.time_scale <= MAX_TIME_SCALE
    assert Scenario.from_json(scenario.to_json()) == scenario
    assert all("\n" not in note for note in notes)


def test_fail_on_values_that_no_task_has_are_said_not_ignored() -> None:
    _sc, notes = make_scenario({"fail_on": "--fail-on"}, fail_on="99,3", count=10)
    assert notes == ["--fail-on 99: no task has that value (tasks are 1..10)"]
    _sc, notes = make_scenario({"fail_on": "--fail-on"}, fail_on="3", mode="print")
    assert notes == ["--fail-on is for Task 2 and 3: Task 1 has no tasks to fail"]
    _sc, notes = make_scenario({"fail_on": "--fail-on"}, fail_on="3", source="batches")
    assert len(notes) == 1 and "batches never do" in notes[0]
    assert make_scenario(fail_on="3,7")[1] == []
