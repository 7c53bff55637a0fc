"""``mpscope run --mode dataloader --plain``: run, then print the summary and a Gantt per lane.

Also the recording of a DataLoader run (one JSON event per line) and its replay to the same
summary.
"""

from __future__ import annotations

import sys
from collections.abc import Iterable
from pathlib import Path
from typing import TextIO

from mpscope.core.dataloader.events import LoaderEvent, LoaderRecordError, from_json, to_json
from mpscope.core.dataloader.run import LoaderSettings, run_loader
from mpscope.core.dataloader.state import LoaderState, fold, killed_note

WIDTH = 72


def _lane(spans: Iterable[tuple[int, int, str]], total: int) -> str:
    cells = [" "] * WIDTH
    for begun, end, mark in spans:
        a = min(WIDTH - 1, begun * WIDTH // total)
        b = max(a + 1, min(WIDTH, end * WIDTH // total))
        for i in range(a, b):
            cells[i] = mark
    return "".join(cells)


def summary_lines(state: LoaderState) -> list[str]:
    """The summary and the per-lane Gantt of a finished (or stopped) run."""
    s = state.settings
    total = max(1, state.now)
    order = "in order" if s.in_order else "out of order"
    if s.num_workers:
        loading = (
            f"{s.num_workers} workers · batch_size {s.batch_size} · prefetch "
            f"{s.prefetch_factor}×{s.num_workers} = {s.prefetch_bound} in flight · {order}"
        )
    else:
        loading = f"num_workers 0: the main process loads in next() · batch_size {s.batch_size}"
    lines = [
        f"DataLoader · torch {state.torch_version} · {loading}",
        f"{len(state.steps)} steps · {len(state.bars)} batches · run {state.now / 1e9:.3f}s · "
        f"loop waited {state.wait_ns / 1e9:.3f}s, trained {state.step_ns / 1e9:.3f}s, "
        f"head-of-line {state.head_of_line_ns / 1e9:.3f}s",
        f"verdict: {state.verdict()}",
        "",
    ]
    for worker in sorted({b.worker for b in state.bars.values() if b.worker >= 0}):
        spans = []
        for n, bar in enumerate(b for b in state.bars.values() if b.worker == worker):
            spans.append((bar.begun, state.bar_end(bar), "▓" if n % 2 else "█"))
        pid = state.pids.get(worker, state.main_pid if s.num_workers == 0 else 0)
        label = f"worker {worker}" if s.num_workers else "main"
        lines.append(f"{label:<8} pid {pid:<7}  │{_lane(spans, total)}│")
    waits = [(a, g, "·") for a, g, _k in state.waits]
    steps = [(a, e, "=") for a, e, _k in state.steps]
    lines.append(f"{'loop':<8} pid {state.main_pid:<7}  │{_lane(waits + steps, total)}│")
    lines.append("  █▓ a batch being built (first sample → end of collate)  · waiting  = step")
    for worker in sorted(state.pids):
        keys = [b for b in state.bars.values() if b.worker == worker and b.indices]
        shown = " ".join(f"[{b.indices}]" for b in keys[:6]) + (" …" if len(keys) > 6 else "")
        lines.append(f"worker {worker}: {shown}")
    if not s.pin_memory:
        lines.append("pin_memory off: on CPU there is no pinned memory to copy into")
    lines.append(f"outcome: {state.outcome}")
    if state.error:
        lines.append(f"error: {state.error}")
    if note := killed_note(state):
        lines.append(note)
    return lines


def run_plain_loader(
    settings: LoaderSettings, record: str | None = None, out: TextIO | None = None
) -> int:
    """Run the DataLoader, write the recording if asked, print the summary; exit code."""
    out = out or sys.stdout
    events: list[LoaderEvent] = []
    sink = Path(record).open("w", encoding="utf-8") if record else None  # noqa: SIM115

    def emit(event: LoaderEvent) -> None:
        events.append(event)
        if sink is not None:
            sink.write(to_json(event) + "\n")

    try:
        outcome = run_loader(settings, emit)
    finally:
        if sink is not None:
            sink.close()
    print("\n".join(summary_lines(fold(events))), file=out)
    return 0 if outcome == "completed" else 1


def read_recording(path: str) -> list[LoaderEvent]:
    """The events of a DataLoader recording; :class:`LoaderRecordError` names a bad line."""
    events = []
    with Path(path).open(encoding="utf-8") as lines:
        for number, line in enumerate(lines, 1):
            try:
                events.append(from_json(line))
            except LoaderRecordError as exc:
                raise LoaderRecordError(f"{path} line {number}: {exc}") from None
    return events


def replay_plain_loader(path: str, out: TextIO | None = None) -> int:
    """Print the summary of a recorded DataLoader run."""
    print("\n".join(summary_lines(fold(read_recording(path)))), file=out or sys.stdout)
    return 0
