"""Parsing ``mpscope gen [NAME] [ARGS...]`` and send values: literals only, one-line errors."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from mpscope.core.loading import load_callable
from mpscope.core.stepper.spec import (
    GenSpecError,
    LiteralError,
    parse_args,
    parse_literal,
    resolve_target,
)
from mpscope.tui.stepper import app as gen_app

FIXTURES = Path(__file__).parent / "gen_fixtures"
USER = f"{FIXTURES / 'user_gens.py'}"


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("10", 10),
        ("  -2.5 ", -2.5),
        ("'text'", "text"),
        ("[1, (2, 3), {'a': None}]", [1, (2, 3), {"a": None}]),
        ("None", None),
        ("True", True),
        ("1_000_000", 1_000_000),
        ("b'x'", b"x"),
        ("1+2j", 1 + 2j),
        ("{1, 2}", {1, 2}),
    ],
)
def test_parse_literal_accepts_literals(text: str, value: object) -> None:
    assert parse_literal(text) == value


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "empty"),
        ("   ", "empty"),
        ("foo", "the name 'foo'"),
        ("__import__('os').system('true')", "a function call"),
        ("print(1)", "a function call"),
        ("os.environ", "an attribute lookup"),
        ("2 ** 10", "an operator"),
        ("[x for x in ()]", "would have to run"),
        ("1 +", "not valid Python"),
        ("[1, 2", "not valid Python"),
        ("x" * 20_000, "too long"),
        ("[" * 500 + "]" * 500, "cannot parse|not valid Python|not a literal"),
    ],
)
def test_parse_literal_rejects_everything_else_in_one_line(text: str, message: str) -> None:
    with pytest.raises(LiteralError, match=message) as caught:
        parse_literal(text)
    assert "\n" not in str(caught.value)


def test_parse_literal_never_evaluates(tmp_path: Path) -> None:
    marker = tmp_path / "ran"
    with pytest.raises(LiteralError):
        parse_literal(f"open({str(marker)!r}, 'w')")
    assert not marker.exists()


def test_parse_args_positional_and_keywords() -> None:
    assert parse_args(["3", "'a'", "size=8", "flag=True"]) == ((3, "a"), {"size": 8, "flag": True})
    with pytest.raises(GenSpecError, match="argument 2 'b': not a literal"):
        parse_args(["1", "b"])
    with pytest.raises(GenSpecError, match="positional after keyword"):
        parse_args(["a=1", "2"])


def test_bare_words_and_paths_get_a_quoting_hint() -> None:
    with pytest.raises(LiteralError, match=r"a string needs quotes: 'ten'$"):
        parse_literal("ten")
    with pytest.raises(GenSpecError, match=r"""in a shell: "'/tmp/x.txt'"\)$"""):
        parse_args(["/tmp/x.txt"])
    with pytest.raises(LiteralError) as caught:
        parse_literal("2 ** 3")
    assert "quotes" not in str(caught.value)


def test_a_comparison_is_not_taken_for_a_keyword() -> None:
    with pytest.raises(GenSpecError, match="operator"):
        parse_args(["x==1"])


def test_no_name_is_the_default_example() -> None:
    target = resolve_target(None)
    assert target.example is not None and target.example.name == "squares_gen"
    assert list(target.factory()) == [0, 1, 4, 9, 16]


def test_example_with_arguments() -> None:
    target = resolve_target("squares_gen", ["3"])
    assert target.label == "squares_gen(3)"
    assert list(target.factory()) == [0, 1, 4]
    batches = resolve_target("batch_generator", ["[1, 2, 3]", "batch_size=2"])
    assert list(batches.factory()) == [[1, 2], [3]]


def test_user_file_spec_and_fresh_arguments_each_time() -> None:
    target = resolve_target(f"{USER}:countdown", ["2"])
    assert target.label == "countdown(2)"
    assert target.example is None
    assert list(target.factory()) == [2, 1]
    log_target = resolve_target(f"{USER}:cleanup", ["[]"])
    first = log_target.factory()
    list(first)
    assert first.gi_frame is None
    second = log_target.factory()
    assert second.gi_frame is not None
    assert second.gi_frame.f_locals["log"] == []  # not the list the first one appended to


def test_module_spec() -> None:
    target = resolve_target("mpscope.core.stepper.seed_generators:squares_gen", ["2"])
    assert list(target.factory()) == [0, 1]


@pytest.mark.parametrize(
    ("spec", "args", "message"),
    [
        ("nope", [], "unknown example 'nope': choose one of squares_gen, genexpr"),
        ("genexpr", ["1"], "takes no arguments"),
        ("squares_gen", ["n"], "argument 1 'n': not a literal"),
        ("squares_gen", [], None),
        ("batch_generator", ["[1]"], "missing 1 required positional argument"),
        ("squares_gen", ["1", "2"], "takes 1 positional argument but 2 were given"),
        (f"{FIXTURES / 'missing.py'}:f", [], "no such file"),
        (f"{FIXTURES / 'broken_import.py'}:f", [], "RuntimeError: this module is broken"),
        ("no_such_module_xyz:f", [], "cannot import module 'no_such_module_xyz'"),
        (f"{USER}:nothing", [], "has no attribute 'nothing'"),
        (f"{USER}:plain_function", [], "is not a generator function"),
        (f"{USER}:agen", [], "async generator function"),
        (f"{USER}:coro", [], "coroutine function"),
        (f"{USER}:not_callable", [], "is not callable"),
        ("mpscope.core.stepper.examples:Example", [], "is a class"),
        (f"{USER}:countdown", ["n=5", "3"], "positional after keyword"),
        (f"{USER}:countdown", ["m=1"], "unexpected keyword argument 'm'"),
        ("a:b:", [], "not of the form"),
    ],
)
def test_bad_specs_are_one_line_errors(spec: str, args: list[str], message: str | None) -> None:
    if message is None:
        resolve_target(spec, args)  # the control case: this one works
        return
    with pytest.raises(GenSpecError, match=message) as caught:
        resolve_target(spec, args)
    assert "\n" not in str(caught.value)


def test_resolving_does_not_run_the_body(monkeypatch: pytest.MonkeyPatch) -> None:
    module = load_callable(f"{USER}:countdown").__module__
    ran: list[int] = []

    def spy(n: int):  # type: ignore[no-untyped-def]
        ran.append(n)
        yield n

    monkeypatch.setattr(sys.modules[module], "countdown", spy)
    target = resolve_target(f"{USER}:countdown", ["7"])
    assert ran == []  # the probe generator was created and closed; its body never ran
    assert list(target.factory()) == [7]
    assert ran == [7]


def test_run_gen_command_bad_spec_prints_one_line_and_returns_2(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    def no_app(self: object) -> None:
        raise AssertionError("the app must not start for a bad spec")

    monkeypatch.setattr(gen_app.GenApp, "run", no_app)
    assert gen_app.run_gen_command("squares_gen", ["oops"]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err.count("\n") == 1
    assert captured.err.startswith("mpscope gen: error: argument 1 'oops'")
    assert "Traceback" not in captured.err


def test_run_gen_command_good_spec_runs_the_app_and_returns_0(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    started: list[str] = []

    def fake_run(self: gen_app.GenApp) -> None:
        started.append(type(self).__name__)

    monkeypatch.setattr(gen_app.GenApp, "run", fake_run)
    monkeypatch.setattr(gen_app, "has_terminal", lambda: True)
    assert gen_app.run_gen_command("running_average", []) == 0
    assert started == ["GenApp"]
