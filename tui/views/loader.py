"""The DataLoader run's lanes as one Rich renderable, drawn from :class:`.LoaderState` only.

One lane per DataLoader worker titled with its real PID (each batch a bar from its first sample
to the end of collate, with its sample indices), the batches in flight against the prefetch
bound, the batches ready and waiting in the main process, the loop's lane (its waits for data
and its steps) and the verdict.
"""

from __future__ import annotations

from rich.console import Group
from rich.text import Text

from mpscope.core.dataloader.state import Bar, LoaderState, killed_note

MARKS = ("█", "▓")
#: the lanes' title column: "✖ worker 1 pid 1234567"
TITLE = 22


def _spans_line(spans: list[tuple[int, int, str, str]], begin: int, end: int, width: int) -> Text:
    """Spans (start, end, mark, style) scaled onto ``width`` cells between begin and end."""
    total = max(1, end - begin)
    text = Text(" " * width)
    for start, stop, mark, style in spans:
        a = min(width - 1, max(0, (start - begin) * width // total))
        b = max(a + 1, min(width, (stop - begin) * width // total))
        text = text[:a] + Text(mark * (b - a), style=style) + text[b:]
    return text


def _bar_style(bar: Bar, killed: bool = False) -> str:
    if bar.built < 0 and killed:
        return "red"  # lost with its worker
    if bar.built < 0:
        return "yellow"  # being built
    if bar.received < 0:
        return "cyan"  # built, waiting in the main process
    return "green"  # given to the loop


def loader_view(state: LoaderState, width: int = 100) -> Group:
    """The whole DataLoader screen for ``state``, ``width`` cells wide."""
    s = state.settings
    lane = max(10, width - TITLE - 2)
    now = max(1, state.now)
    order = "in order" if s.in_order else "out of order"
    head = Text.assemble(
        ("DataLoader", "bold"),
        f" · torch {state.torch_version or '?'} · {s.num_workers} workers · batch_size "
        f"{s.batch_size} · {order}",
    )
    in_flight, ready = state.in_flight(), state.ready()
    bound = s.prefetch_bound if s.num_workers else 0
    held = len(in_flight) + len(ready)
    slots = "".join("■" if i < held else "□" for i in range(bound))
    prefetch = Text.assemble(
        "prefetch ",
        (slots or "none (num_workers 0)", "magenta"),
        f" {held}/{bound} (prefetch_factor {s.prefetch_factor} × {s.num_workers})" if bound else "",
    )
    lines: list[Text] = [head, prefetch, Text("")]
    workers = sorted({b.worker for b in state.bars.values() if b.worker >= 0} | set(state.pids))
    for worker in workers:
        bars = [b for b in state.bars.values() if b.worker == worker]
        spans = [
            (b.begun, state.bar_end(b), MARKS[n % 2], _bar_style(b, worker in state.killed))
            for n, b in enumerate(bars)
        ]
        pid = state.pids.get(worker, state.main_pid if s.num_workers == 0 else 0)
        title = f"worker {worker} pid {pid}" if s.num_workers else f"main pid {pid}"
        if worker in state.killed:
            title = f"✖ {title}"
        lines.append(Text(f"{title:<{TITLE}}│") + _spans_line(spans, 0, now, lane) + Text("│"))
        building = [b for b in bars if b.built < 0]
        if worker in state.killed:
            lines.append(Text(f"{'':<{TITLE}} killed by SIGKILL (k)", style="bold red"))
        elif building:
            lines.append(Text(f"{'':<{TITLE}} building {building[-1].key}", style="yellow"))
        elif bars and bars[-1].indices:
            lines.append(Text(f"{'':<{TITLE}} last [{bars[-1].indices}]", style="dim"))
    waits = [(a, g, "·", "red") for a, g, _k in state.waits]
    if state.waiting_since >= 0:
        waits.append((state.waiting_since, now, "·", "bold red"))
    steps = [(a, e, "=", "green") for a, e, _k in state.steps]
    loop_title = f"loop pid {state.main_pid}"
    lines.append(
        Text(f"{loop_title:<{TITLE}}│") + _spans_line(waits + steps, 0, now, lane) + Text("│")
    )
    waiting = "waiting for data" if state.waiting_since >= 0 else "training"
    if state.outcome:
        waiting = f"finished: {state.outcome}"
    lines.append(Text(f"{'':<{TITLE}} {waiting} · {len(state.steps)} steps", style="dim"))
    ready_keys = " ".join(b.key for b in ready) or "none"
    lines += [
        Text(""),
        Text.assemble(("ready in the main process: ", "cyan"), ready_keys),
        Text.assemble(
            ("verdict: ", "bold"),
            state.verdict(),
            f" · head-of-line {state.head_of_line_ns / 1e9:.3f}s",
        ),
        Text("█▓ yellow building · cyan ready · green taken   loop: · waiting  = step", "dim"),
    ]
    if not s.pin_memory:
        lines.append(Text("pin_memory off: on CPU there is no pinned memory to copy into", "dim"))
    if state.error:
        lines.append(Text(f"error: {state.error.splitlines()[0]}", style="bold red"))
    if note := killed_note(state):
        lines.append(Text(note, style="red"))
    return Group(*lines)
