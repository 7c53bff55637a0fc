"""The installed distribution: one top-level name (``mpscope``), every room listed, no strays."""

from __future__ import annotations

import subprocess
import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).parent.parent


def _pyproject() -> dict[str, object]:
    return tomllib.loads((ROOT / "pyproject.toml").read_text())


def test_every_folder_with_an_init_is_a_listed_package() -> None:
    setuptools = _pyproject()["tool"]["setuptools"]  # type: ignore[index]
    listed = set(setuptools["packages"])
    found = {
        "mpscope." + str(init.parent.relative_to(ROOT)).replace("/", ".")
        for top in ("core", "tui")
        for init in (ROOT / top).rglob("__init__.py")
    }
    assert listed == found
    assert setuptools["package-dir"] == {"mpscope.core": "core", "mpscope.tui": "tui"}


def test_the_generic_names_core_and_tui_are_not_importable(tmp_path: Path) -> None:
    """Run from elsewhere (the repository is not on the path): only mpscope.* imports."""
    code = (
        "import importlib.util as u, mpscope.core.pipeline.events, mpscope.tui.cli;"
        "print(u.find_spec('core'), u.find_spec('tui'))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=tmp_path, capture_output=True, text=True, timeout=60
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == ["None", "None"]


def test_python_dash_m_runs_the_command_line(tmp_path: Path) -> None:
    out = subprocess.run(
        [sys.executable, "-m", "mpscope.tui", "--help"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert out.returncode == 0, out.stderr
    assert "mpscope" in out.stdout
