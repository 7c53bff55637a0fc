"""The event schema: lossless round trips (pickle, JSON lines) and strict decoding."""

from __future__ import annotations

import dataclasses
import json
import pickle
from array import array
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import mpscope.core.pipeline.bulk as bulk_module
import mpscope.core.pipeline.events as events_module
from mpscope.core.pipeline.bulk import BULK_TYPES
from mpscope.core.pipeline.event_json import (
    EVENT_TYPES,
    EventDecodeError,
    from_dict,
    from_json,
    to_dict,
    to_json,
)
from mpscope.core.pipeline.events import SCHEMA_VERSION, Event, RunStarted, TaskDone, TaskQueued

# -- strategies built from each dataclass's fields -------------------------------------------

TRICKY_CHARS = '"\\\n\r\t\x00\x1f\x7f\u2028\u2029\x85é€😀 {}[],:'
TEXT = st.one_of(
    st.text(),
    st.text(alphabet=TRICKY_CHARS),
    st.sampled_from(["", "\n", '"', "\\", "'", "\r\n", "line1\nline2", '{"kind":"note"}']),
)
INTS = st.one_of(
    st.integers(),
    st.sampled_from([0, -1, 1, 2**31, 2**63 - 1, -(2**63), 2**64 + 7, 10**30]),
)
FIELD_STRATEGIES: dict[str, st.SearchStrategy[Any]] = {
    "int": INTS,
    "str": TEXT,
    "bool": st.booleans(),
    "float": st.floats(allow_nan=False, allow_infinity=False),
}


INT64 = st.integers(min_value=-(2**63), max_value=2**63 - 1)


def _columns(n: int, typ: str) -> st.SearchStrategy[Any]:
    """A bulk event's column of ``n`` values."""
    if typ == "array[int]":
        return st.lists(INT64, min_size=n, max_size=n).map(lambda v: array("q", v))
    return st.lists(TEXT, min_size=n, max_size=n).map(tuple)


def _bulk_strategy(cls: type[Event], n: int) -> st.SearchStrategy[Event]:
    fields = {
        f.name: _columns(n, str(f.type))
        if str(f.type) in COLUMNS
        else FIELD_STRATEGIES[str(f.type)]
        for f in dataclasses.fields(cls)
    }
    return st.builds(cls, **fields)


COLUMNS = ("array[int]", "tuple[str, ...]")


def _event_strategy(cls: type[Event]) -> st.SearchStrategy[Event]:
    if cls in BULK_TYPES:  # every column as long as the others
        return st.integers(0, 6).flatmap(lambda n: _bulk_strategy(cls, n))
    fields = {f.name: FIELD_STRATEGIES[str(f.type)] for f in dataclasses.fields(cls)}
    return st.builds(cls, **fields)


ALL_EVENTS = st.one_of([_event_strategy(cls) for cls in EVENT_TYPES.values()])
KINDS = sorted(EVENT_TYPES)


def _sample(cls: type[Event]) -> Event:
    """A valid instance of ``cls`` with simple values of each field's type."""
    simple: dict[str, Any] = {"int": 3, "str": "x", "bool": True, "float": 1.5}
    simple |= {"array[int]": array("q", [3]), "tuple[str, ...]": ("x",)}
    return cls(**{f.name: simple[str(f.type)] for f in dataclasses.fields(cls)})


def _field_types(cls: type[Event]) -> dict[str, str]:
    return {f.name: str(f.type) for f in dataclasses.fields(cls)}


# -- the registry -----------------------------------------------------------------------------


def test_every_event_class_is_registered_under_its_kind() -> None:
    defined = {
        obj
        for obj in [*vars(events_module).values(), *vars(bulk_module).values()]
        if isinstance(obj, type) and issubclass(obj, Event) and obj is not Event
    }
    assert defined == set(EVENT_TYPES.values())
    for kind, cls in EVENT_TYPES.items():
        assert cls.kind == kind
        assert dataclasses.is_dataclass(cls)
        # slotted, as the schema promises: no stray attributes
        assert "__slots__" in cls.__dict__
        event = _sample(cls)
        with pytest.raises(AttributeError):
            event.colour = "red"  # type: ignore[attr-defined]
    assert len(EVENT_TYPES) >= 19


def test_every_field_is_a_plain_value() -> None:
    for cls in EVENT_TYPES.values():
        plain = ("int", "str", "bool", "float", *(COLUMNS if cls in BULK_TYPES else ()))
        for name, typ in _field_types(cls).items():
            assert typ in plain, (cls.__name__, name, typ)
        assert "t" in _field_types(cls)


# -- round trips ------------------------------------------------------------------------------


@settings(max_examples=300, deadline=None)
@given(ALL_EVENTS)
def test_pickle_round_trip_is_lossless(event: Event) -> None:
    back = pickle.loads(pickle.dumps(event))
    assert type(back) is type(event)
    assert back == event


@settings(max_examples=300, deadline=None)
@given(ALL_EVENTS)
def test_json_round_trip_is_lossless(event: Event) -> None:
    line = to_json(event)
    assert "\n" not in line and "\r" not in line  # one event per line of a recording
    back = from_json(line)
    assert type(back) is type(event)
    assert back == event
    # field by field, with exact types (True is not 1, "1" is not 1)
    for name in _field_types(type(event)):
        assert type(getattr(back, name)) is type(getattr(event, name)), name
        assert getattr(back, name) == getattr(event, name)
    assert to_json(back) == line


@settings(max_examples=100, deadline=None)
@given(ALL_EVENTS)
def test_to_dict_names_the_kind_first_and_every_field(event: Event) -> None:
    data = to_dict(event)
    assert next(iter(data)) == "kind"
    assert data["kind"] == event.kind
    assert set(data) == {"kind", *_field_types(type(event))}
    assert from_dict(data) == event
    assert json.loads(to_json(event)) == data


@pytest.mark.parametrize("kind", KINDS)
def test_each_kind_round_trips_with_awkward_text(kind: str) -> None:
    cls = EVENT_TYPES[kind]
    values: dict[str, Any] = {}
    for name, typ in _field_types(cls).items():
        values[name] = {
            "int": -(2**70),
            "str": 'a "quoted" \\ line\nnext\ttab é 😀 \u2028',
            "bool": False,
            "float": -0.5,
            "array[int]": array("q", [-(2**63), 2**63 - 1]),
            "tuple[str, ...]": ('a "quoted" \\ line\nnext', "😀 \u2028"),
        }[typ]
    event = cls(**values)
    assert from_json(to_json(event)) == event
    assert pickle.loads(pickle.dumps(event)) == event


def test_optional_fields_may_be_absent_and_take_their_defaults() -> None:
    assert from_json('{"kind":"task_queued","t":1,"task":2,"label":"2"}') == TaskQueued(
        1, 2, "2", 1
    )
    line = (
        '{"kind":"run_started","t":0,"mode":"pipeline","start_method":"fork",'
        '"workers":3,"scenario":"{}","main_pid":9}'
    )
    started = from_json(line)
    assert isinstance(started, RunStarted) and started.schema == SCHEMA_VERSION


# -- strict decoding --------------------------------------------------------------------------


@pytest.mark.parametrize(
    "line",
    [
        '{"kind":"nosuch","t":0}',
        '{"t":0}',
        '{"kind":5,"t":0}',
        '{"kind":null,"t":0}',
        '{"kind":["note"],"t":0}',
        '{"kind":"","t":0}',
        '{"kind":"Note","t":0,"level":"info","text":"x"}',
        '{"kind":"kind","t":0}',
    ],
)
def test_unknown_kinds_are_rejected(line: str) -> None:
    with pytest.raises(EventDecodeError, match="unknown event kind"):
        from_json(line)


WRONG_VALUES: dict[str, list[Any]] = {
    "int": ["1", 1.0, 1.5, True, False, None, [], {}],
    "str": [1, 0.5, True, None, [], {}, ["x"]],
    "bool": [1, 0, "true", None, [], 1.0],
    "float": ["1.0", True, None, []],
    "array[int]": ["1", 1, None, {}, ["x"], [1.5], [True], [2**64], [None]],
    "tuple[str, ...]": ["x", 1, None, {}, [1], [None], [["x"]]],
}


def _wrong_type_cases() -> list[tuple[str, str, Any]]:
    cases = []
    for kind, cls in EVENT_TYPES.items():
        for name, typ in _field_types(cls).items():
            for value in WRONG_VALUES[typ]:
                cases.append((kind, name, value))
    return cases


@pytest.mark.parametrize(("kind", "name", "value"), _wrong_type_cases())
def test_a_field_of_the_wrong_type_is_rejected(kind: str, name: str, value: Any) -> None:
    data = to_dict(_sample(EVENT_TYPES[kind]))
    data[name] = value
    with pytest.raises(EventDecodeError):
        from_json(json.dumps(data))
    with pytest.raises(EventDecodeError):
        from_dict(data)


def test_bool_is_not_accepted_where_an_int_is_expected() -> None:
    with pytest.raises(EventDecodeError, match=r"task_done\.task should be int"):
        from_json('{"kind":"task_done","t":0,"task":true,"worker":0,"started":0,"output":"1"}')
    with pytest.raises(EventDecodeError):
        from_json('{"kind":"task_done","t":false,"task":1,"worker":0,"started":0,"output":"1"}')


def _required_cases() -> list[tuple[str, str]]:
    return [
        (kind, f.name)
        for kind, cls in EVENT_TYPES.items()
        for f in dataclasses.fields(cls)
        if f.default is dataclasses.MISSING
    ]


@pytest.mark.parametrize(("kind", "name"), _required_cases())
def test_a_missing_required_field_is_rejected(kind: str, name: str) -> None:
    data = to_dict(_sample(EVENT_TYPES[kind]))
    del data[name]
    with pytest.raises(EventDecodeError, match=name):
        from_json(json.dumps(data))


@pytest.mark.parametrize("kind", KINDS)
def test_an_extra_field_is_rejected(kind: str) -> None:
    data = to_dict(_sample(EVENT_TYPES[kind]))
    data["surprise"] = 1
    with pytest.raises(EventDecodeError, match="surprise"):
        from_json(json.dumps(data))


@pytest.mark.parametrize(
    "line",
    ["[]", "[1,2]", "1", "-0.5", '"task_done"', "null", "true", "false", "NaN", "Infinity"],
)
def test_json_that_is_not_an_object_is_rejected(line: str) -> None:
    with pytest.raises(EventDecodeError, match="not a JSON object"):
        from_json(line)


@pytest.mark.parametrize(
    "line",
    ["", " ", "{", '{"kind":"note"', "{'kind': 'note'}", "kind=note", "\x00", "{}}", "😀"],
)
def test_text_that_is_not_json_is_rejected(line: str) -> None:
    with pytest.raises(EventDecodeError):
        from_json(line)


def test_decoding_rejects_an_object_that_is_only_an_event_done_wrong() -> None:
    good = to_dict(TaskDone(5, 1, 0, 2, "1"))
    assert from_dict(good) == TaskDone(5, 1, 0, 2, "1")
    with pytest.raises(EventDecodeError):
        from_dict({**good, "kind": "task_failed"})  # fields of another kind


def test_deeply_nested_json_is_a_decode_error() -> None:
    with pytest.raises(EventDecodeError):
        from_json("[" * 100_000 + "]" * 100_000)


def test_a_huge_integer_literal_is_a_decode_error() -> None:
    with pytest.raises(EventDecodeError):
        from_json('{"kind":"source_exhausted","t":0,"total":' + "7" * 5000 + "}")


# -- fuzz: whatever the line, the only failure is EventDecodeError ----------------------------

JSON_SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.floats(),  # includes NaN and infinities, which json.dumps writes as NaN/Infinity
    st.text(),
)
JSON_VALUES = st.recursive(
    JSON_SCALARS,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4), st.dictionaries(st.text(), inner, max_size=4)
    ),
    max_leaves=12,
)
ALL_FIELD_NAMES = sorted({f.name for cls in EVENT_TYPES.values() for f in dataclasses.fields(cls)})
NEAR_EVENTS = st.fixed_dictionaries(
    {"kind": st.sampled_from([*KINDS, "nosuch"])},
    optional={name: st.one_of(JSON_SCALARS, JSON_VALUES) for name in ALL_FIELD_NAMES},
)


def _decode_or_reject(line: str) -> None:
    try:
        event = from_json(line)
    except EventDecodeError as exc:
        assert "\n" not in str(exc)
        return
    assert isinstance(event, Event)
    assert from_json(to_json(event)) == event


@settings(max_examples=400, deadline=None)
@given(JSON_VALUES)
def test_fuzz_arbitrary_json_values(value: Any) -> None:
    _decode_or_reject(json.dumps(value))


@settings(max_examples=400, deadline=None)
@given(NEAR_EVENTS)
def test_fuzz_objects_that_look_like_events(value: dict[str, Any]) -> None:
    _decode_or_reject(json.dumps(value))


@settings(max_examples=300, deadline=None)
@given(st.text())
def test_fuzz_arbitrary_text(line: str) -> None:
    _decode_or_reject(line)


@settings(max_examples=200, deadline=None)
@given(ALL_EVENTS, st.integers(min_value=0, max_value=400))
def test_fuzz_truncated_event_lines(event: Event, cut: int) -> None:
    line = to_json(event)
    if cut < len(line):
        with pytest.raises(EventDecodeError):
            from_json(line[:cut])


def _float_fields() -> list[tuple[str, str]]:
    return [
        (kind, name)
        for kind, cls in EVENT_TYPES.items()
        for name, typ in _field_types(cls).items()
        if typ == "float"
    ]


@pytest.mark.parametrize(
    ("kind", "name"), _float_fields() or [pytest.param("", "", marks=pytest.mark.skip)]
)
def test_a_float_field_takes_a_whole_number_as_a_float(kind: str, name: str) -> None:
    data = to_dict(_sample(EVENT_TYPES[kind]))
    data[name] = 2
    event = from_json(json.dumps(data))
    assert type(getattr(event, name)) is float and getattr(event, name) == 2.0
