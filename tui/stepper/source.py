"""A scrollable view of a generator's source with its suspended line highlighted."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.containers import VerticalScroll
from textual.widgets import Static

from mpscope.core.stepper.result import GenState
from mpscope.core.stepper.source import SourceText
from mpscope.tui.stepper.render import render_source

__all__ = ["SourceView"]


class SourceView(VerticalScroll, can_focus=False):
    """Source lines numbered as in their file; the suspended line is marked with ▶."""

    DEFAULT_CSS = """
    SourceView {
        height: auto;
        max-height: 14;
        scrollbar-size-vertical: 1;
        & > Static { width: 1fr; }
    }
    """

    def __init__(
        self, *, name: str | None = None, id: str | None = None, classes: str | None = None
    ) -> None:
        super().__init__(name=name, id=id, classes=classes)
        self._source: SourceText | None = None
        self._line: int | None = None

    def compose(self) -> ComposeResult:
        yield Static(id="source-text")

    def show(self, source: SourceText | None, line: int | None, state: GenState) -> None:
        """Show ``source`` with ``line`` (a file line number) highlighted."""
        self._source, self._line = source, line
        self.query_one("#source-text", Static).update(render_source(source, line, state))
        if source is not None and source.contains(line) and line is not None:
            offset = line - source.first_lineno
            self.call_after_refresh(self._scroll_into_view, offset)

    def _scroll_into_view(self, offset: int) -> None:
        """Scroll so that line ``offset`` (0-based) is visible with a line of context."""
        top = self.scroll_offset.y
        height = self.scrollable_content_region.height
        if offset - 1 < top:
            self.scroll_to(y=max(offset - 1, 0), animate=False)
        elif offset + 1 >= top + height:
            self.scroll_to(y=offset + 2 - height, animate=False)
