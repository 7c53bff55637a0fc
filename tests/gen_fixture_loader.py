"""Load a module of ``tests/gen_fixtures/`` by name (once), for the stepper's tests."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

FIXTURES = Path(__file__).parent / "gen_fixtures"


def gen_fixture(name: str) -> ModuleType:
    """``tests/gen_fixtures/NAME.py`` as a module, imported the first time it is asked for."""
    key = f"_stepper_test_{name}"
    if key not in sys.modules:
        spec = importlib.util.spec_from_file_location(key, FIXTURES / f"{name}.py")
        assert spec is not None and spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        sys.modules[key] = module
        spec.loader.exec_module(module)
    return sys.modules[key]
