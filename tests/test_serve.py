"""``mpscope serve``: bad input, the served app's packet protocol (read into a pyte screen),
its known traps (raw writes to fds 1 and 2, the web driver's signal handlers, resizes), and the
real server over a websocket: keys, tabs of their own, and that nothing outlives a tab or the
server (Ctrl+C, SIGTERM, SIGKILL). Every wait has a timeout; processes are checked with psutil.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import re
import shlex
import signal
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import aiohttp
import psutil
import pytest

from mpscope.tui import serve as serve_module
from mpscope.tui.cli import main
from mpscope.tui.serve import (
    DEFAULT_HOST,
    app_command,
    exposure_warning,
    is_loopback,
    parse_serve_args,
)
from tests.serve_support import (
    BUSY,
    FIXTURES,
    QUICK,
    FakeSocket,
    ProtocolReader,
    ServedApp,
    Tab,
    assert_all_gone,
    descendants,
    free_port,
    mpscope_serve,
    served_environment,
    stop_process,
    wait_listening,
    wait_until,
)

pytestmark = pytest.mark.timeout(120)
LONG = ["--tasks", "200", "--work-time", "0.2", "--collect-time", "0.01", "--no-animation"]
NOISY = ["--function", f"{FIXTURES / 'noisy_tasks.py'}:noisy"]


@pytest.fixture
def served(tmp_path: Path) -> Iterator[list[ServedApp]]:
    """Served apps a test starts; whatever is left is ended by PID at the end."""
    apps: list[ServedApp] = []
    yield apps
    for app in apps:
        app.close()


def _start(
    apps: list[ServedApp], args: list[str], cwd: Path, size: tuple[int, int] = (120, 40)
) -> ServedApp:
    app = ServedApp(args, cwd, *size)
    apps.append(app)
    return app


def _shown_pids(screen: str) -> set[int]:
    return {int(pid) for pid in re.findall(r"(?:worker \d|collector) · PID (\d+)", screen)}


def _busy_processes(app: ServedApp) -> list[psutil.Process]:
    """Once a worker is busy: the app and every process under it (workers and collector
    among them, by the PIDs the screen shows)."""
    screen = app.wait_for(BUSY, 60)
    procs = [psutil.Process(app.proc.pid), *descendants(app.proc.pid)]
    assert _shown_pids(screen) <= {p.pid for p in procs}, (screen, [p.pid for p in procs])
    return procs


# -- the command line ----------------------------------------------------------------------


def _one_line_error(capsys: pytest.CaptureFixture[str], argv: list[str]) -> str:
    code = main(["serve", *argv])
    out, err = capsys.readouterr()
    assert code == 2, (argv, code, out, err)
    assert out == "" and len(err.splitlines()) == 1, (argv, out, err)
    assert err.startswith("mpscope: error: ") and "Traceback" not in err
    return err


@pytest.mark.parametrize(
    ("argv", "says"),
    [
        (["--port", "0"], "--port must be from 1 to 65535"),
        (["--port", "65536"], "--port must be from 1 to 65535"),
        (["--port", "http"], "--port must be a number"),
        (["--host", "no-such-host.invalid"], "is not an address"),
        (["--host", ""], "--host must name an address"),
        (["--workers", "0"], "--workers"),
        (["--mode", "task9"], "mode"),
        (["--bogus"], "unrecognized arguments: --bogus"),
        (["--function", "nope/missing.py:f"], "no such file"),
        (["--plain"], "--plain"),
        (["--record", "x.jsonl"], "--record"),
    ],
)
def test_bad_input_is_one_line_and_exit_2_before_serving(
    capsys: pytest.CaptureFixture[str], argv: list[str], says: str
) -> None:
    assert says in _one_line_error(capsys, argv)


def test_a_port_in_use_is_one_line_and_exit_2(capsys: pytest.CaptureFixture[str]) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        assert "the port is in use" in _one_line_error(capsys, ["--port", str(port)])


def test_the_console_script_fails_the_same_way_without_a_traceback(tmp_path: Path) -> None:
    done = subprocess.run(
        [str(Path(sys.executable).with_name("mpscope")), "serve", "--workers", "x"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 2 and done.stdout == ""
    assert done.stderr.startswith("mpscope: error: ") and len(done.stderr.splitlines()) == 1


def test_options_pass_through_to_each_tab_as_given() -> None:
    options = parse_serve_args(["--mode", "task2", "--port", "9000", "-w", "4", "--fail-on", "3"])
    assert (options.host, options.port) == (DEFAULT_HOST, 9000)
    assert options.app_argv == ["--mode", "task2", "-w", "4", "--fail-on", "3"]
    command = app_command([*options.app_argv, "--function", "my dir/it's.py:f"])
    words = shlex.split(command)
    assert words[0] == "exec"  # the app replaces the shell: the server's direct child
    assert words[2:5] == ["-P", "-m", "mpscope.tui.served"]
    assert words[5:] == [
        "--mode",
        "task2",
        "-w",
        "4",
        "--fail-on",
        "3",
        "--function",
        "my dir/it's.py:f",
    ]


def test_it_listens_on_loopback_unless_told_and_warns_for_another_host(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    assert parse_serve_args([]).host == "127.0.0.1"
    assert is_loopback("127.0.0.1") and is_loopback("localhost") and is_loopback("::1")
    assert not is_loopback("0.0.0.0") and not is_loopback("::")
    # nothing really listens: the socket and the serving are stand-ins
    served: list[str] = []
    monkeypatch.setattr(serve_module, "listen", lambda host, port: None)
    monkeypatch.setattr(
        serve_module.MpscopeServer, "serve_on", lambda self, sock: served.append(self.command)
    )
    assert main(["serve", "--host", "0.0.0.0", "--port", "8123"]) == 0
    err = capsys.readouterr().err
    assert err == exposure_warning("0.0.0.0", 8123) + "\n"
    assert "anyone who can reach this port can open the app and run its tasks" in err
    assert served and served[0].startswith("exec ")
    assert main(["serve", "--port", "8124"]) == 0
    assert capsys.readouterr().err == ""  # loopback: no warning


# -- the served app, the way textual-serve runs it ------------------------------------------


def test_the_served_app_draws_its_lanes_and_quits_on_the_quit_message(
    served: list[ServedApp], tmp_path: Path
) -> None:
    app = _start(served, LONG, tmp_path)
    screen = app.wait_for(r"task queue", 60)
    assert "mpscope" in screen
    procs = _busy_processes(app)
    screen = app.terminal.text()
    for text in ("task queue", "worker 0 · PID", "worker 2 · PID", "result queue", "collector"):
        assert text in screen, screen
    app.send_meta({"type": "quit"})  # what textual-serve sends when the tab closes
    assert app.wait(30) == 0
    assert app.error is None and app.metas[-1] == {"type": "exit"}
    assert_all_gone(procs, 30)


@pytest.mark.parametrize("start_method", ["forkserver", "spawn", "fork"])
def test_raw_writes_to_fds_1_and_2_never_corrupt_the_protocol(
    served: list[ServedApp], tmp_path: Path, start_method: str
) -> None:
    """Trap 1: a task module writing straight to fds 1 and 2, at import and in every task.
    Every byte of the app's stdout parses as packets, to the end; the task's writes became
    events (the workers capture fds 1 and 2); the app's own import-time writes went to its
    stderr, which textual-serve logs."""
    record = tmp_path / "run.jsonl"
    args = [*NOISY, "--tasks", "6", "--work-time", "0", "--collect-time", "0"]
    args += ["--start-method", start_method, "--record", str(record)]
    app = _start(served, args, tmp_path)
    app.wait_for(r"■ completed", 60)
    app.send_meta({"type": "quit"})
    assert app.wait(30) == 0
    assert app.error is None, app.error  # the strict parser met nothing but packets, to EOF
    assert app.metas[-1] == {"type": "exit"} and app.packets > 10
    printed = [
        event["text"]
        for line in record.read_text().splitlines()
        if (event := json.loads(line)).get("kind") == "printed_line"
    ]
    for x in range(1, 7):
        assert any(f"raw fd 1 from task {x}" in text for text in printed), printed
        assert f"raw fd 2 from task {x}" in printed
    assert f"noisy import fd 1 in {app.proc.pid}" in app.stderr()


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT])
def test_a_signal_under_the_web_driver_stops_the_run_in_order(
    served: list[ServedApp], tmp_path: Path, signum: int
) -> None:
    """Trap 2: the web driver installs its own SIGINT/SIGTERM handlers; under serve a signal
    still takes the app's own way out: every process stopped, the protocol ended properly."""
    app = _start(served, LONG, tmp_path)
    procs = _busy_processes(app)
    app.proc.send_signal(signum)
    assert app.wait(30) == 128 + signum
    assert app.error is None and app.metas[-1] == {"type": "exit"}
    assert_all_gone(procs, 30)


def _fits(screen: str, width: int, height: int) -> bool:
    lines = screen.split("\n")
    queue = next((line for line in lines if "task queue" in line), "")
    return (
        len(lines) == height
        and queue.startswith("╭")
        and len(queue) == width
        and queue.endswith("╮")
        and " q Quit" in lines[height - 1]
    )


def test_the_app_redraws_at_the_size_the_browser_sends(
    served: list[ServedApp], tmp_path: Path
) -> None:
    """Trap 3: the size comes from the browser and changes with its window."""
    app = _start(served, LONG, tmp_path, size=(120, 40))
    wait_until(lambda: _fits(app.terminal.text(), 120, 40), 60, "the app at 120x40")
    for width, height in ((90, 30), (150, 45)):
        app.resize(width, height)
        wait_until(
            lambda w=width, h=height: _fits(app.terminal.text(), w, h),  # type: ignore[misc]
            20,
            f"a redraw at {width}x{height}:\n{app.terminal.text()}",
        )
    app.send_meta({"type": "quit"})
    assert app.wait(30) == 0


FAKE_SERVER = """
import os, subprocess, sys, time
env = dict(os.environ, MPSCOPE_SERVE_PARENT=str(os.getpid()))
subprocess.Popen(sys.argv[1], shell=True, env=env, stdin=0, stdout=1, stderr=subprocess.DEVNULL)
time.sleep(100)
"""


def test_an_app_whose_server_is_sigkilled_quits_on_its_death_signal_alone(tmp_path: Path) -> None:
    """The app's stdin and stdout stay open (this test holds their other ends), so neither
    the end of its input nor a broken pipe can tell it: only the death signal it asked Linux
    for. It then quits its own way: every process stopped, the protocol ended with exit."""
    app_in, to_app = os.pipe()
    from_app, app_out = os.pipe()
    parent = subprocess.Popen(
        [sys.executable, "-c", FAKE_SERVER, app_command(LONG)],
        stdin=app_in,
        stdout=app_out,
        env=served_environment(120, 40, 0),
        cwd=tmp_path,
    )
    os.close(app_in)
    os.close(app_out)
    reader = ProtocolReader(from_app, 120, 40)
    procs: list[psutil.Process] = []
    try:
        screen = reader.wait_for(BUSY, 60)
        procs = descendants(parent.pid)
        assert _shown_pids(screen) <= {p.pid for p in procs}
        parent.kill()
        parent.wait(10)
        assert_all_gone(procs, 40)  # orphans: checked by PID
        assert reader.eof.wait(10) and reader.error is None
        assert reader.metas[-1] == {"type": "exit"}  # it left its own way
    finally:
        for proc in procs:
            with contextlib.suppress(psutil.NoSuchProcess):
                proc.kill()
        stop_process(parent, 10)
        os.close(to_app)
        if reader.eof.wait(10):
            os.close(from_app)


def test_a_served_app_whose_server_died_before_it_started_leaves_at_once(
    tmp_path: Path,
) -> None:
    env = {**os.environ, "MPSCOPE_SERVE_PARENT": "1"}  # "my parent was PID 1": it is not
    done = subprocess.run(
        shlex.split(app_command(QUICK))[1:], env=env, cwd=tmp_path, capture_output=True, timeout=60
    )
    assert done.returncode == 1 and done.stdout == b""


# -- the real server, over a websocket --------------------------------------------------------


@pytest.fixture
def server(tmp_path: Path) -> Iterator[tuple[int, subprocess.Popen[bytes]]]:
    port = free_port()
    proc = mpscope_serve(port, LONG, tmp_path)
    try:
        wait_listening(port, proc)
        yield port, proc
    finally:
        stop_process(proc)


def _app_pids(server: subprocess.Popen[bytes]) -> set[int]:
    return {
        p.pid for p in psutil.Process(server.pid).children() if "served" in " ".join(p.cmdline())
    }


async def _refused(session: aiohttp.ClientSession, port: int) -> None:
    base = f"http://127.0.0.1:{port}"
    async with session.get(f"{base}/", headers={"Host": "attacker.example"}) as response:
        assert response.status == 403  # DNS rebinding: a foreign name for this address
    async with session.get(f"{base}/ws", headers={"Origin": "http://attacker.example"}) as r:
        assert r.status == 403  # another site's page may not open a tab
    async with session.get(f"{base}/?fontsize=9999") as response:
        assert response.status == 200
        page = await response.text()
        assert f'data-session-websocket-url="ws://127.0.0.1:{port}/ws"' in page
        assert 'data-font-size="48"' in page


def test_each_tab_gets_its_own_app_takes_keys_and_ends_when_closed(
    server: tuple[int, subprocess.Popen[bytes]], tmp_path: Path
) -> None:
    port, proc = server

    async def scenario() -> None:
        async with aiohttp.ClientSession() as session:
            await _refused(session, port)
            one = await Tab(port).open(session)
            two = await Tab(port, 100, 30).open(session)
            first = await one.wait_for(BUSY)
            second = await two.wait_for(BUSY)
            main_pids = [re.findall(r"main PID (\d+)", s) for s in (first, second)]
            assert main_pids[0] and main_pids[1] and main_pids[0] != main_pids[1]
            apps = _app_pids(proc)
            assert {int(main_pids[0][0]), int(main_pids[1][0])} == apps
            trees = {pid: [psutil.Process(pid), *descendants(pid)] for pid in apps}
            await one.keys("?")
            await one.wait_for(r"mpscope — keys", 20)  # the help screen
            await one.keys("\x13")  # ctrl+s: a screenshot, in the folder serve runs in
            await asyncio.to_thread(
                wait_until, lambda: list(tmp_path.glob("*.svg")), 20, "ctrl+s's SVG"
            )
            await one.close()
            await asyncio.to_thread(assert_all_gone, trees[int(main_pids[0][0])], 30)
            log = (tmp_path / "serve.log").read_text()
            assert f"app PID {main_pids[0][0]} ended, exit code 0" in log, log
            assert all(p.is_running() for p in trees[int(main_pids[1][0])])  # not the other tab
            assert proc.poll() is None
            await two.close()
            await asyncio.to_thread(assert_all_gone, trees[int(main_pids[1][0])], 30)

    asyncio.run(asyncio.wait_for(scenario(), 100))


async def _two_busy_tabs(port: int, session: aiohttp.ClientSession) -> list[Tab]:
    tabs = [await Tab(port).open(session), await Tab(port).open(session)]
    for tab in tabs:
        await tab.wait_for(BUSY)
    return tabs


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM])
def test_stopping_the_server_ends_every_app_and_its_processes(
    server: tuple[int, subprocess.Popen[bytes]], signum: int, tmp_path: Path
) -> None:
    """Each app is asked to quit and waited for before the server leaves (its log says each
    ended with exit code 0: the quit message, not the death signal, 143)."""
    port, proc = server

    async def scenario() -> None:
        async with aiohttp.ClientSession() as session:
            tabs = await _two_busy_tabs(port, session)
            everything = descendants(proc.pid)
            apps = _app_pids(proc)
            assert len(apps) == 2 and len(everything) >= 2 * 6
            proc.send_signal(signum)  # Ctrl+C is SIGINT
            await asyncio.to_thread(proc.wait, 45)
            assert proc.returncode == 0
            await asyncio.to_thread(assert_all_gone, everything, 15)
            log = (tmp_path / "serve.log").read_text()
            for pid in apps:
                assert f"app PID {pid} ended, exit code 0" in log, log
            for tab in tabs:
                await asyncio.wait_for(tab.closed.wait(), 15)

    asyncio.run(asyncio.wait_for(scenario(), 100))


def test_a_sigkilled_server_still_ends_every_app_and_its_processes(
    server: tuple[int, subprocess.Popen[bytes]],
) -> None:
    port, proc = server
    everything: list[psutil.Process] = []

    async def scenario() -> None:
        async with aiohttp.ClientSession() as session:
            await _two_busy_tabs(port, session)
            everything.extend(descendants(proc.pid))
            assert len(_app_pids(proc)) == 2
            proc.kill()
            await asyncio.to_thread(proc.wait, 10)
            # orphans now, no longer this test's descendants: checked here, by their PIDs
            await asyncio.to_thread(assert_all_gone, everything, 40)

    try:
        asyncio.run(asyncio.wait_for(scenario(), 100))
    finally:
        for left in everything:
            with contextlib.suppress(psutil.NoSuchProcess):
                left.kill()


STUBBORN = """
import signal, sys, time
signal.signal(signal.SIGTERM, signal.SIG_IGN if sys.argv[1] == "ignore" else signal.SIG_DFL)
sys.stdout.write("__GANGLION__\\n")
sys.stdout.flush()
time.sleep(60)
"""


@pytest.mark.parametrize(("sigterm", "ended_by"), [("default", -15), ("ignore", -9)])
def test_an_app_that_does_not_quit_is_sent_sigterm_then_sigkill(
    monkeypatch: pytest.MonkeyPatch, sigterm: str, ended_by: int
) -> None:
    monkeypatch.setattr(serve_module, "QUIT_WAIT_S", 0.5)
    monkeypatch.setattr(serve_module, "TERM_WAIT_S", 0.5)
    command = shlex.join(["exec", sys.executable, "-c", STUBBORN, sigterm])
    server = serve_module.MpscopeServer(command, "127.0.0.1", 8000)

    async def scenario() -> int | None:
        app = serve_module.ServedApp(command, server, FakeSocket())  # type: ignore[arg-type]
        await app.start(80, 24)
        await asyncio.sleep(0.5)
        await asyncio.wait_for(app.stop(), 10)
        await asyncio.wait_for(app.stop(), 1)  # a second stop waits for the same one
        return app.returncode

    assert asyncio.run(scenario()) == ended_by
