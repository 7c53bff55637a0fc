"""``mpscope serve`` benchmark: what a browser tab costs; prints a table.

    python -m benchmarks.serve

A real ``mpscope serve`` on a free loopback port; for 1 and then 3 tabs opened at once (each a
websocket client reading the app's output into a pyte screen, as the page's xterm.js does):
the time from connecting until the lanes are drawn, the processes and private memory (USS,
summed) each tab brings, and the time from closing the tabs until all their processes are
gone. Then the time the server takes to stop on SIGTERM with a tab open. Last, ``serve
--watch``: what one more watcher of a run being recorded costs (10 tabs following a recording
that grows by a task every 10 ms: private memory and CPU per watcher, processes started).
"""

from __future__ import annotations

import asyncio
import statistics
import tempfile
import threading
import time
from pathlib import Path

import aiohttp
import psutil
from rich.console import Console
from rich.table import Table

from tests.serve_support import (
    Terminal,
    assert_all_gone,
    descendants,
    free_port,
    mpscope_serve,
    stop_process,
    wait_for_screen,
    wait_listening,
)

ARGS = ["--tasks", "1000", "--work-time", "0.3", "--no-animation"]
DRAWN = r"worker 2 · PID \d+"


async def _open_tab(session: aiohttp.ClientSession, port: int) -> tuple[float, object]:
    """Connect, and return the seconds until the lanes are on screen, and the socket."""
    terminal = Terminal(120, 40)
    started = time.perf_counter()
    ws = await session.ws_connect(f"http://127.0.0.1:{port}/ws?width=120&height=40")

    async def read() -> None:
        async for message in ws:
            if message.type == aiohttp.WSMsgType.BINARY:
                terminal.feed(message.data)

    reader = asyncio.create_task(read())
    await asyncio.to_thread(wait_for_screen, terminal, DRAWN, 60)
    return time.perf_counter() - started, (ws, reader)


def _private_mb(procs: list[psutil.Process]) -> float:
    """Private memory (USS) summed: what the processes do not share with each other."""
    total = 0
    for proc in procs:
        try:
            total += proc.memory_full_info().uss
        except psutil.NoSuchProcess:
            continue
    return total / 1e6


async def _tabs(port: int, server: psutil.Process, count: int) -> dict[str, float]:
    async with aiohttp.ClientSession() as session:
        opened = await asyncio.gather(*(_open_tab(session, port) for _ in range(count)))
        await asyncio.sleep(1.0)  # every worker started
        procs = descendants(server.pid)
        row = {
            "drawn_s": statistics.median(seconds for seconds, _ in opened),
            "procs": len(procs) / count,
            "private_mb": _private_mb(procs) / count,
        }
        started = time.perf_counter()
        for _, (ws, reader) in opened:  # type: ignore[misc]
            await ws.close()
            await reader
        await asyncio.to_thread(assert_all_gone, procs, 60)
        row["gone_s"] = time.perf_counter() - started
    return row


async def _stop_with_a_tab(port: int, server: psutil.Process) -> float:
    async with aiohttp.ClientSession() as session:
        await _open_tab(session, port)
        procs = descendants(server.pid)
        started = time.perf_counter()
        server.terminate()
        await asyncio.to_thread(server.wait, 60)
        await asyncio.to_thread(assert_all_gone, procs, 60)
        return time.perf_counter() - started


WATCHERS = 10
FOLLOWED = r"replay"


def _grow(recording: Path, stop: threading.Event) -> None:
    """Append a plausible run to ``recording``, a task every 10 ms, until ``stop``."""
    from mpscope.core.pipeline.event_json import to_json
    from mpscope.core.pipeline.events import (
        RunStarted,
        TaskCollected,
        TaskDone,
        TaskQueued,
        TaskStarted,
        WorkerReady,
        WorkerSpawned,
    )
    from mpscope.core.pipeline.recording import header_line
    from mpscope.core.pipeline.scenario import Scenario

    start = time.monotonic_ns()
    with recording.open("w") as out:
        out.write(header_line() + "\n")
        sc = Scenario(count=100_000)
        out.write(to_json(RunStarted(0, "pipeline", "forkserver", 2, sc.to_json(), 1)) + "\n")
        for w in (0, 1, -1):
            out.write(to_json(WorkerSpawned(1, w, 100 + w, "worker")) + "\n")
            out.write(to_json(WorkerReady(2, w, 100 + w)) + "\n")
        task = 0
        while not stop.is_set():
            t = time.monotonic_ns() - start
            lines = (
                TaskQueued(t, task, str(task)),
                TaskStarted(t, task, task % 2),
                TaskDone(t + 1, task, task % 2, t, str(task * task)),
                TaskCollected(t + 2, task, -1, t + 1, task % 2, 1, True, ""),
            )
            out.write("".join(to_json(e) + "\n" for e in lines))
            out.flush()
            task += 1
            time.sleep(0.01)


async def _watchers(port: int, server: psutil.Process) -> dict[str, float]:
    async with aiohttp.ClientSession() as session:
        opened = []
        for _ in range(WATCHERS):
            terminal = Terminal(120, 40)
            ws = await session.ws_connect(f"http://127.0.0.1:{port}/ws?width=120&height=40")

            async def read(
                ws: aiohttp.ClientWebSocketResponse = ws, term: Terminal = terminal
            ) -> None:
                async for message in ws:
                    if message.type == aiohttp.WSMsgType.BINARY:
                        term.feed(message.data)

            opened.append((ws, asyncio.create_task(read()), terminal))
        for _ws, _reader, terminal in opened:
            await asyncio.to_thread(wait_for_screen, terminal, FOLLOWED, 120)
        await asyncio.sleep(2.0)
        apps = server.children()
        before = {p.pid: sum(p.cpu_times()[:2]) for p in apps}
        started = time.perf_counter()
        await asyncio.sleep(5.0)
        elapsed = time.perf_counter() - started
        cpu = sum(sum(p.cpu_times()[:2]) - before[p.pid] for p in apps) / elapsed
        row = {
            "apps": len(apps),
            "started": sum(len(p.children(recursive=True)) for p in apps),
            "private_mb": _private_mb(apps) / len(apps),
            "cpu": cpu / len(apps),
        }
        for ws, reader, _terminal in opened:
            await ws.close()
            await reader
        await asyncio.to_thread(assert_all_gone, apps, 60)
    return row


def main() -> None:
    console = Console()
    table = Table(title="mpscope serve: a tab's cost (120x40, Task 3, 3 workers, forkserver)")
    for column in (
        "tabs at once",
        "lanes drawn (median)",
        "processes a tab",
        "private memory a tab",
        "closed → gone",
    ):
        table.add_column(column, justify="right")
    with tempfile.TemporaryDirectory() as folder:
        port = free_port()
        proc = mpscope_serve(port, ARGS, Path(folder))
        try:
            wait_listening(port, proc)
            server = psutil.Process(proc.pid)
            for count in (1, 3):
                row = asyncio.run(_tabs(port, server, count))
                table.add_row(
                    str(count),
                    f"{row['drawn_s']:.2f} s",
                    f"{row['procs']:.0f}",
                    f"{row['private_mb']:.0f} MB",
                    f"{row['gone_s']:.2f} s",
                )
            stopped = asyncio.run(_stop_with_a_tab(port, server))
        finally:
            stop_process(proc)
    console.print(table)
    console.print(f"server SIGTERM with a tab open → every process gone: {stopped:.2f} s")
    with tempfile.TemporaryDirectory() as folder:
        recording = Path(folder) / "class.jsonl"
        stop = threading.Event()
        writer = threading.Thread(target=_grow, args=(recording, stop), daemon=True)
        writer.start()
        while not recording.exists() or recording.stat().st_size == 0:
            time.sleep(0.01)
        port = free_port()
        proc = mpscope_serve(port, ["--watch", str(recording)], Path(folder))
        try:
            wait_listening(port, proc)
            watch = asyncio.run(_watchers(port, psutil.Process(proc.pid)))
        finally:
            stop.set()
            stop_process(proc)
    watched = Table(title=f"mpscope serve --watch: {WATCHERS} watchers of one run being recorded")
    for column in (
        "watchers",
        "processes they started",
        "private memory a watcher",
        "CPU a watcher",
    ):
        watched.add_column(column, justify="right")
    watched.add_row(
        f"{watch['apps']:.0f}",
        f"{watch['started']:.0f}",
        f"{watch['private_mb']:.0f} MB",
        f"{watch['cpu']:.1%} of a core",
    )
    console.print(watched)


if __name__ == "__main__":
    main()
