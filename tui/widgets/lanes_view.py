"""The scrolling column of worker lanes: one :class:`WorkerLane` per compute worker PID."""

from __future__ import annotations

from textual.containers import VerticalScroll

from mpscope.core.pipeline.lanes import LaneStatus
from mpscope.core.pipeline.scenario import Mode
from mpscope.core.pipeline.state import RunState
from mpscope.core.words import counted
from mpscope.tui.widgets.worker_lane import WorkerLane


class LanesView(VerticalScroll):
    """Mounts a lane for each worker as it appears; more lanes than rows scroll."""

    DEFAULT_CSS = """
    LanesView { height: auto; border: round $primary 60%; border-title-color: $text; }
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
        self._lanes: dict[int, WorkerLane] = {}

    def reset(self) -> None:
        """Forget every lane (a new run starts)."""
        for lane in self._lanes.values():
            lane.remove()
        self._lanes = {}

    def show(self, state: RunState) -> None:
        """Add lanes for new workers, then let each lane show itself."""
        for lane_state in state.workers():
            if lane_state.worker not in self._lanes:
                widget = WorkerLane(lane_state.worker, id=f"lane-{lane_state.worker}")
                widget.set_class(lane_state.worker % 2 == 1, "-odd")
                self._lanes[lane_state.worker] = widget
                self.mount(widget)
        busy = sum(1 for lane in state.workers() if lane.status == LaneStatus.BUSY)
        count = len(state.workers())
        if state.mode == Mode.PRINT and state.scenario is not None:
            processes = counted(count, "process", "processes")
            title = (
                f"workers · {processes}, no queues: each runs the seed's "
                f"worker_print and prints 1..{state.scenario.print_count}"
            )
        else:
            title = f"workers · {counted(count, 'process', 'processes')} · {busy} busy"
        if state.main_pid:  # the seed prints the main process's PID first: so do we
            title += f" · main PID {state.main_pid}"
        if title != self.border_title:
            self.border_title = title
        for widget in self._lanes.values():
            widget.show(state)

    def lane(self, worker: int) -> WorkerLane | None:
        """The lane widget of a worker, if mounted."""
        return self._lanes.get(worker)
