"""Resolve a user-given ``module:function`` or ``path/to/file.py:function`` spec to a callable.

Used by the engine (a task function) and by the generator stepper (a generator factory).
Errors are raised as :class:`SpecError` with a one-line message fit for the command line.
User code runs here (a module's top level on import, a module ``__getattr__``): whatever it
raises -- ``sys.exit()``, ``KeyboardInterrupt``, any ``BaseException`` -- becomes that error.
"""

from __future__ import annotations

import importlib
import importlib.util
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any


class SpecError(ValueError):
    """A ``module:function`` spec that cannot be resolved; the message is one line."""


def exception_line(exc: BaseException) -> str:
    """``Type: message`` of any exception, even one whose ``__str__`` itself raises."""
    name = type(exc).__name__
    try:
        text = str(exc)
    except BaseException:  # a hostile __str__: the type alone still says what happened
        return f"{name} (its message could not be shown)"
    return f"{name}: {text}" if text else name


def split_spec(spec: str) -> tuple[str, str]:
    """Split ``"target:name"`` into its two parts, checking both are present."""
    target, sep, name = spec.rpartition(":")
    if not sep or not target or not name:
        raise SpecError(f"{spec!r} is not of the form module:function or path/to/file.py:function")
    if not name.isidentifier():
        raise SpecError(f"{name!r} in {spec!r} is not a Python name")
    return target, name


def _module_name_for_path(path: Path) -> str:
    """A stable module name for a file, so that child processes can re-import it by path."""
    return "mpscope_user_" + "".join(c if c.isalnum() else "_" for c in str(path.resolve()))


def import_target(target: str) -> Any:
    """Import a module given by dotted name or by ``.py`` file path."""
    if target.endswith(".py") or "/" in target or "\\" in target:
        path = Path(target)
        if not path.is_file():
            raise SpecError(f"no such file: {target}")
        mod_name = _module_name_for_path(path)
        if mod_name in sys.modules:
            return sys.modules[mod_name]
        file_spec = importlib.util.spec_from_file_location(mod_name, path)
        if file_spec is None or file_spec.loader is None:
            raise SpecError(f"cannot load {target} as Python source")
        module = importlib.util.module_from_spec(file_spec)
        sys.modules[mod_name] = module
        try:
            file_spec.loader.exec_module(module)
        except BaseException as exc:  # sys.exit() or KeyboardInterrupt at import, too
            del sys.modules[mod_name]
            raise SpecError(f"importing {target} failed: {exception_line(exc)}") from None
        return module
    try:
        return importlib.import_module(target)
    except BaseException as exc:
        raise SpecError(f"cannot import module {target!r}: {exception_line(exc)}") from None


def load_callable(spec: str) -> Callable[..., Any]:
    """Return the callable named by ``spec``; raise :class:`SpecError` with a clear message."""
    target, name = split_spec(spec)
    module = import_target(target)
    try:
        obj = getattr(module, name)
    except AttributeError:
        raise SpecError(f"{target} has no attribute {name!r}") from None
    except BaseException as exc:  # a module __getattr__ is user code too
        raise SpecError(f"{target}.{name} could not be read: {exception_line(exc)}") from None
    if not callable(obj):
        raise SpecError(f"{spec} is not callable (it is a {type(obj).__name__})")
    return obj  # type: ignore[no-any-return]
