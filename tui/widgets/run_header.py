"""The top line: the scenario in words (Task 1/2/3 as the seed names them), state and time."""

from __future__ import annotations

from rich.text import Text
from textual.widget import Widget

from mpscope.core.pipeline.state import RunState


def speed_label(factor: float) -> str:
    """``×1``, ``×0.25 slow motion``, ``×4 fast``."""
    text = f"×{factor:g}"
    if factor < 1:
        return f"{text} slow motion"
    return f"{text} fast" if factor > 1 else text


class RunHeader(Widget):
    """Scenario, run state, speed, recording, elapsed time; one line."""

    DEFAULT_CSS = """
    RunHeader { height: 1; background: $primary-background; color: $text; text-wrap: nowrap;
                text-overflow: ellipsis; }
    """

    def __init__(
        self,
        *,
        name: str | None = None,
        id: str | None = None,
        classes: str | None = None,
        disabled: bool = False,
    ) -> None:
        super().__init__(name=name, id=id, classes=classes, disabled=disabled)
        self._line_text = Text("mpscope", style="bold")

    def show(
        self,
        state: RunState,
        *,
        live: bool,
        speed: float,
        recording: str | None,
        source_name: str = "",
        now: int | None = None,
    ) -> None:
        """Recompute the line; repaint only if it changed. ``now`` is the source's clock (it
        keeps the elapsed time moving between events); the last event's time by default."""
        text = Text(" mpscope ", style="bold reverse")
        text.append(" ")
        if state.finished:
            style = {"completed": "bold green", "stopped": "bold yellow"}.get(
                state.outcome, "bold red"
            )
            text.append(f"■ {state.outcome}", style=style)
        elif state.paused:
            text.append("❚❚ paused", style="bold yellow")
        elif state.mode:
            text.append("▶ running", style="bold green")
        else:
            text.append("starting…", style="dim")
        elapsed = state.now if now is None or state.finished else max(state.now, now)
        text.append(f" {elapsed / 1e9:5.1f}s  {speed_label(speed)}  ")
        if recording:
            text.append("● REC  ", style="bold red")  # the file is named when it starts and ends
        if not live:
            text.append(f"replay {source_name}  ", style="bold magenta")
            if state.scenario is not None:  # the replay's own speed is the one shown above
                text.append(f"recorded at ×{1 / state.scenario.time_scale:g}  ", style="magenta")
        if state.scenario is not None:  # in words; briefly when the words would be cut
            words = state.scenario.describe()
            if text.cell_len + len(words) > (self.size.width or 10_000):
                words = state.scenario.brief()
            text.append(words, style="bold")
        elif state.mode:
            text.append(state.mode, style="bold")
        if text != self._line_text:
            self._line_text = text
            self.refresh()

    def render(self) -> Text:
        return self._line_text
