"""Task tokens: the little coloured boxes that stand for a task wherever it is."""

from __future__ import annotations

from rich.style import Style
from rich.text import Text

from mpscope.tui.views.renderables import task_colour

FAILED_STYLE = Style(color="white", bgcolor="red", bold=True)


def token_style(task: int, ok: bool = True) -> Style:
    """A task's colour as a token background (red once it failed)."""
    if not ok:
        return FAILED_STYLE
    return Style(color="black", bgcolor=task_colour(task), bold=True)


def token_text(task: int, label: str, ok: bool = True, width: int = 0) -> Text:
    """`` 7 `` on the task's colour; ``width`` pads it (labels longer are cut)."""
    body = label if not width else label[: max(1, width - 2)].center(max(1, width - 2))
    return Text(f" {body} ", style=token_style(task, ok))
