"""Turn ``mpscope gen [NAME] [ARGS...]`` into a generator factory, with one-line errors.

``NAME`` is one of the seed's examples (:mod:`.examples`), or a user generator function
given as ``module:function`` or ``path/to/file.py:function`` (resolved by :mod:`..loading`).
``ARGS`` are Python literals (``5``, ``'text'``, ``[1, 2]``, ``None``) or ``name=literal``
keyword arguments, parsed with :func:`ast.literal_eval` — never ``eval``. The same parser reads
the values typed for ``send``.

Everything that can go wrong is a :class:`GenSpecError` whose message is one line: an unknown
example, a file or module that cannot be imported, something that is not a generator function,
an argument that is not a literal, and a generator that cannot be created with these arguments
(the target is checked by creating one generator and closing it; its body does not run).
"""

from __future__ import annotations

import ast
import copy
import inspect
import re
from collections.abc import Callable, Generator, Sequence
from dataclasses import dataclass
from typing import Any

from mpscope.core.loading import SpecError, load_callable
from mpscope.core.stepper.examples import EXAMPLES, Example, example_named
from mpscope.core.stepper.machine import FactoryError, create_generator

__all__ = [
    "DEFAULT_EXAMPLE",
    "GenSpecError",
    "GenTarget",
    "LiteralError",
    "parse_args",
    "parse_literal",
    "resolve_target",
]

DEFAULT_EXAMPLE = "squares_gen"
"""The example ``mpscope gen`` opens when no name is given."""

MAX_LITERAL_CHARS = 10_000
_BARE = re.compile(r"^[\w./~-]+$")
_KEYWORD = re.compile(r"^\s*([A-Za-z_][A-Za-z0-9_]*)\s*=(?!=)(.*)$", re.DOTALL)


class GenSpecError(ValueError):
    """A generator spec or its arguments cannot be used; the message is one line."""


class LiteralError(ValueError):
    """Text that is not a Python literal; the message says why, on one line."""


@dataclass(frozen=True, slots=True)
class GenTarget:
    """A resolved ``mpscope gen`` target: what to call it and how to make its generator."""

    label: str
    """How the call reads, e.g. ``squares_gen(5)`` or ``countdown(3)``."""
    factory: Callable[[], Generator[Any, Any, Any]]
    """Makes a fresh generator each call (arguments are copied, so each one starts clean)."""
    example: Example | None = None
    """The seed example, if the target is one."""
    spec: str = ""
    """What the user typed (the example's name, or the ``module:function`` spec)."""


def _describe_node(text: str) -> str:
    """Name the first thing in ``text`` that is not a literal, for the error message."""
    try:
        tree = ast.parse(text.strip(), mode="eval")
    except SyntaxError:
        return "it"
    for node in ast.walk(tree.body):
        if isinstance(node, ast.Name):
            return f"the name {node.id!r}"
        if isinstance(node, ast.Call):
            return "a function call"
        if isinstance(node, ast.Attribute):
            return "an attribute lookup"
        if isinstance(node, ast.BinOp | ast.UnaryOp | ast.BoolOp | ast.Compare):
            return "an operator (only literal values are accepted)"
        if isinstance(node, ast.Lambda | ast.ListComp | ast.GeneratorExp | ast.DictComp):
            return "an expression that would have to run"
    return "it"


def parse_literal(text: str) -> Any:
    """The value of a Python literal typed by the user; :class:`LiteralError` if it is not one."""
    source = text.strip()
    if not source:
        raise LiteralError("empty: type a Python literal such as 10, 'text', [1, 2] or None")
    if len(source) > MAX_LITERAL_CHARS:
        raise LiteralError(f"too long ({len(source)} characters; at most {MAX_LITERAL_CHARS})")
    try:
        ast.parse(source, mode="eval")
    except SyntaxError as exc:
        where = f" at column {exc.offset}" if exc.offset else ""
        raise LiteralError(f"not valid Python: {exc.msg}{where}{_quote_hint(source)}") from None
    except (RecursionError, MemoryError, ValueError) as exc:
        raise LiteralError(f"cannot parse: {type(exc).__name__}") from None
    try:
        return ast.literal_eval(source)
    except (ValueError, TypeError, SyntaxError, RecursionError, MemoryError):
        problem = f"not a literal: {_describe_node(source)}{_quote_hint(source)}"
        raise LiteralError(problem) from None


def _quote_hint(source: str) -> str:
    """For a bare word or path: how to write it as a string."""
    if "'" in source or '"' in source or len(source) > 60 or not _BARE.match(source):
        return ""
    return f"; a string needs quotes: {source!r}"


def parse_args(args: Sequence[str]) -> tuple[tuple[Any, ...], dict[str, Any]]:
    """Positional literals and ``name=literal`` keywords; :class:`GenSpecError` on a bad one."""
    positional: list[Any] = []
    keywords: dict[str, Any] = {}
    for number, arg in enumerate(args, 1):
        match = _KEYWORD.match(arg)
        name, text = (match.group(1), match.group(2)) if match else (None, arg)
        try:
            value = parse_literal(text)
        except LiteralError as exc:
            shell = f' (in a shell: "{text.strip()!r}")' if "needs quotes" in str(exc) else ""
            raise GenSpecError(f"argument {number} {arg!r}: {exc}{shell}") from None
        if name is None:
            if keywords:
                raise GenSpecError(f"argument {number} {arg!r}: positional after keyword")
            positional.append(value)
        else:
            keywords[name] = value
    return tuple(positional), keywords


def _call_label(name: str, args: tuple[Any, ...], kwargs: dict[str, Any]) -> str:
    parts = [repr(a) for a in args] + [f"{k}={v!r}" for k, v in kwargs.items()]
    label = f"{name}({', '.join(parts)})"
    return label if len(label) <= 60 else label[:57] + "..."


def _check_generator_function(spec: str, obj: Callable[..., Any]) -> None:
    """Raise :class:`GenSpecError` unless ``obj`` is a plain generator function."""
    if inspect.isgeneratorfunction(obj):
        return
    if inspect.isasyncgenfunction(obj):
        raise GenSpecError(f"{spec} is an async generator function; mpscope steps plain ones")
    if inspect.iscoroutinefunction(obj):
        raise GenSpecError(f"{spec} is a coroutine function (async def), not a generator one")
    if inspect.isclass(obj):
        raise GenSpecError(f"{spec} is a class, not a generator function")
    raise GenSpecError(f"{spec} is not a generator function (it has no yield)")


def _fresh(
    function: Callable[..., Generator[Any, Any, Any]],
    args: tuple[Any, ...],
    kwargs: dict[str, Any],
) -> Callable[[], Generator[Any, Any, Any]]:
    """A factory that calls ``function`` with deep copies of the arguments each time."""
    return lambda: function(*copy.deepcopy(args), **copy.deepcopy(kwargs))


def _resolve_example(example: Example, args: Sequence[str]) -> GenTarget:
    if not args:
        return GenTarget(example.call_text, example.factory(), example, example.name)
    if example.function is None:
        raise GenSpecError(f"{example.name} is a generator expression and takes no arguments")
    positional, keywords = parse_args(args)
    label = _call_label(example.name, positional, keywords)
    return GenTarget(label, _fresh(example.function, positional, keywords), example, example.name)


def _resolve_user(spec: str, args: Sequence[str]) -> GenTarget:
    try:
        function = load_callable(spec)
    except SpecError as exc:  # whatever the module raised on import, sys.exit() too
        raise GenSpecError(str(exc)) from None
    _check_generator_function(spec, function)
    positional, keywords = parse_args(args)
    name = getattr(function, "__name__", spec.rpartition(":")[2])
    return GenTarget(
        _call_label(name, positional, keywords), _fresh(function, positional, keywords), None, spec
    )


def resolve_target(spec: str | None, args: Sequence[str] = ()) -> GenTarget:
    """Resolve ``NAME`` (or ``None`` for the default example) and its literal arguments.

    The result is checked by creating one generator (and closing it at once), so a target that
    cannot make a generator fails here, with a :class:`GenSpecError`, not later in the UI.
    """
    name = DEFAULT_EXAMPLE if spec is None else spec.strip()
    example = example_named(name)
    if example is not None:
        target = _resolve_example(example, args)
    elif ":" in name:
        target = _resolve_user(name, args)
    else:
        names = ", ".join(e.name for e in EXAMPLES)
        raise GenSpecError(
            f"unknown example {name!r}: choose one of {names}, "
            "or give module:function or path/to/file.py:function"
        )
    try:
        probe = create_generator(target.factory)
    except FactoryError as exc:
        raise GenSpecError(f"{target.label}: {exc}") from None
    probe.close()
    return target
