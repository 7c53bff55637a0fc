"""The shared tensor of a ``--function fill-shared`` run, slice by slice, coloured by the PID
that wrote each (see :mod:`mpscope.tui.views.tensor_strip`); hidden for any other run."""

from __future__ import annotations

from textual.widgets import Static

from mpscope.core.pipeline.state import RunState
from mpscope.tui.views.tensor_strip import tensor_strip_view


class TensorStrip(Static):
    """Shows :func:`~mpscope.tui.views.tensor_strip.tensor_strip_view` while a run has one."""

    DEFAULT_CSS = """
    TensorStrip { height: auto; max-height: 8; border: round $primary 60%; padding: 0 1; }
    """

    def show(self, state: RunState) -> None:
        """Draw the strip of ``state``'s shared tensor, or hide."""
        view = tensor_strip_view(state, max(10, self.size.width - 4))
        self.display = view is not None
        if view is not None:
            self.border_title = "the shared tensor: who wrote which slice"
            self.update(view)
