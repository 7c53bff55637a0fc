"""The end-of-run summary shown in the app: per-PID table, totals check, timeline."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.containers import VerticalScroll
from textual.widgets import Static

from mpscope.core.pipeline.state import RunState
from mpscope.tui.views.renderables import summary_view


class SummaryPanel(VerticalScroll):
    """Shows :func:`mpscope.tui.views.renderables.summary_view` for a finished run."""

    DEFAULT_CSS = """
    SummaryPanel { height: auto; max-height: 22; border: round $success; padding: 0 1; }
    SummaryPanel > Static { width: 1fr; }
    """

    def compose(self) -> ComposeResult:
        yield Static(id="summary-body")

    def show(self, state: RunState) -> None:
        """Render the summary of ``state``."""
        self.border_title = "summary"
        self.query_one("#summary-body", Static).update(
            summary_view(state, timeline=False, compact=True)
        )
