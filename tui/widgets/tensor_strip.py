"""The shared tensor of a ``--function fill-shared`` run, slice by slice, coloured by the PID
that wrote each (see :mod:`mpscope.tui.views.tensor_strip`); hidden for any other run."""

from __future__ import annotations

from textual import events
from textual.widgets import Static

from mpscope.core.pipeline.state import RunState
from mpscope.tui.views.tensor_strip import tensor_strip_view


class TensorStrip(Static):
    """Shows :func:`~mpscope.tui.views.tensor_strip.tensor_strip_view` while a run has one."""

    DEFAULT_CSS = """
    TensorStrip { height: auto; max-height: 8; border: round $primary 60%; padding: 0 1; }
    """

    _shown: RunState | None = None

    def show(self, state: RunState) -> None:
        """Draw the strip of ``state``'s shared tensor, or hide."""
        self._shown = state
        view = tensor_strip_view(state, max(10, self.size.width - 4))
        self.display = view is not None
        if view is not None:
            self.border_title = "the shared tensor: who wrote which slice"
            self.update(view)

    def on_resize(self, _event: events.Resize) -> None:
        """Draw again at the new width: the first drawing of a strip that was hidden until
        then had no width to fit (and a finished run sends no more state to redraw it)."""
        if self._shown is not None:
            self.show(self._shown)
