"""``mpscope serve`` benchmark: what a browser tab costs; prints a table.

    python -m benchmarks.serve

A real ``mpscope serve`` on a free loopback port; for 1 and then 3 tabs opened at once (each a
websocket client reading the app's output into a pyte screen, as the page's xterm.js does):
the time from connecting until the lanes are drawn, the processes and private memory (USS,
summed) each tab brings, and the time from closing the tabs until all their processes are
gone. Last, the time the server takes to stop on SIGTERM with a tab open.
"""

from __future__ import annotations

import asyncio
import statistics
import tempfile
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


if __name__ == "__main__":
    main()
