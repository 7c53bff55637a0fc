"""``mpscope serve`` in a real browser: headless Chromium, driven through the DevTools protocol.

The page is textual-serve's (xterm.js drawing on a canvas). A script added before the page
loads keeps a copy of every frame the page's websocket receives; fed into a pyte screen, it
says what xterm.js was asked to draw and where, and the screenshot is checked against it,
cell by cell: the lanes' timeline blocks in their task colours, the background where pyte has
blank cells, ink where the lanes' titles are. Keys go in as the browser's own key events.
Chromium is Debian's (``.ci/run`` installs it); without it these tests are skipped.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import io
import re
import shutil
import subprocess
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import aiohttp
import psutil
import pytest
from PIL import Image, ImageChops

from tests.serve_support import (
    BUSY,
    Terminal,
    assert_all_gone,
    descendants,
    free_port,
    mpscope_serve,
    stop_process,
    wait_listening,
    wait_until,
)

CHROMIUM = shutil.which("chromium")
pytestmark = [
    pytest.mark.timeout(150),
    pytest.mark.skipif(
        CHROMIUM is None, reason="chromium is not installed (apt-get install chromium)"
    ),
]
SHOT = Path("/tmp/serve-shot.png")
FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-quic",
    "--remote-debugging-address=127.0.0.1",
    "--remote-debugging-port=0",
    "--window-size=1280,800",
]
RUN = ["--tasks", "6", "--work-time", "0.1", "--collect-time", "0.02"]
LONG = ["--tasks", "200", "--work-time", "0.2", "--collect-time", "0.01", "--no-animation"]
# keeps every frame the page's websocket receives (base64) and the socket's URL
RECORDER = """
(() => {
  const Native = window.WebSocket;
  const record = (window.__mpscope = { url: null, frames: [] });
  const keep = (buffer) => {
    let text = "";
    for (const byte of new Uint8Array(buffer)) text += String.fromCharCode(byte);
    record.frames.push(btoa(text));
  };
  window.WebSocket = class extends Native {
    constructor(url, protocols) {
      super(url, protocols);
      record.url = String(url);
      this.addEventListener("message", (event) => {
        if (event.data instanceof ArrayBuffer) keep(event.data);
        else if (event.data instanceof Blob) event.data.arrayBuffer().then(keep);
      });
    }
  };
})();
"""


class DevTools:
    """One DevTools connection to the browser, with one page attached (a flat session)."""

    def __init__(self, ws: aiohttp.ClientWebSocketResponse) -> None:
        self.ws = ws
        self.last_id = 0
        self.session: str | None = None
        self.target: str | None = None

    async def call(self, method: str, params: dict[str, Any] | None = None, **kw: Any) -> Any:
        self.last_id += 1
        message: dict[str, Any] = {"id": self.last_id, "method": method, "params": params or {}}
        if self.session is not None and not kw.get("browser"):
            message["sessionId"] = self.session
        await self.ws.send_json(message)
        while True:  # events in between are not needed here
            answer = await self.ws.receive_json(timeout=30)
            if answer.get("id") == self.last_id:
                if "error" in answer:
                    raise AssertionError(f"{method}: {answer['error']}")
                return answer["result"]

    async def open_page(self) -> None:
        self.target = (await self.call("Target.createTarget", {"url": "about:blank"}))["targetId"]
        attached = await self.call(
            "Target.attachToTarget", {"targetId": self.target, "flatten": True}
        )
        self.session = attached["sessionId"]
        await self.call("Page.enable")
        await self.call("Page.addScriptToEvaluateOnNewDocument", {"source": RECORDER})

    async def evaluate(self, expression: str) -> Any:
        result = await self.call(
            "Runtime.evaluate", {"expression": expression, "returnByValue": True}
        )
        return result["result"].get("value")

    async def screenshot(self) -> Image.Image:
        data = (await self.call("Page.captureScreenshot", {"format": "png"}))["data"]
        return Image.open(io.BytesIO(base64.b64decode(data))).convert("RGB")

    async def key(self, key: str, code: str, key_code: int, text: str = "") -> None:
        down = {"type": "keyDown", "key": key, "code": code, "windowsVirtualKeyCode": key_code}
        await self.call("Input.dispatchKeyEvent", {**down, "text": text} if text else down)
        await self.call("Input.dispatchKeyEvent", {**down, "type": "keyUp"})

    async def close_page(self) -> None:
        await self.call("Target.closeTarget", {"targetId": self.target}, browser=True)


@dataclass
class Page:
    """The served page as the browser holds it: its DevTools session and a pyte copy of what
    its terminal was sent."""

    devtools: DevTools
    terminal: Terminal | None = None

    async def pump(self) -> None:
        """Feed the frames received since the last pump into the pyte screen."""
        got = await self.devtools.evaluate(
            "window.__mpscope ? [window.__mpscope.url, window.__mpscope.frames.splice(0)] : null"
        )
        if not got or got[0] is None:
            return
        if self.terminal is None:
            query = parse_qs(urlsplit(got[0]).query)
            self.terminal = Terminal(int(query["width"][0]), int(query["height"][0]))
        for frame in got[1]:
            self.terminal.feed(base64.b64decode(frame))

    def text(self) -> str:
        return "" if self.terminal is None else self.terminal.text()

    async def wait_for(self, pattern: str, timeout: float = 60) -> str:
        deadline = asyncio.get_running_loop().time() + timeout
        while not re.search(pattern, self.text()):
            if asyncio.get_running_loop().time() > deadline:
                raise AssertionError(
                    f"{pattern!r} not in the page after {timeout} s:\n{self.text()}"
                )
            await asyncio.sleep(0.2)
            await self.pump()
        return self.text()


@pytest.fixture
def chromium(tmp_path: Path) -> Iterator[str]:
    """Headless Chromium with a fresh profile; yields its DevTools browser websocket URL."""
    assert CHROMIUM is not None
    profile = tmp_path / "profile"
    with (tmp_path / "chromium.log").open("wb") as log:
        proc = subprocess.Popen(
            [CHROMIUM, *FLAGS, f"--user-data-dir={profile}", "about:blank"],
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    try:
        active = profile / "DevToolsActivePort"
        wait_until(
            lambda: len(active.read_text().split()) == 2 if active.exists() else 0,
            30,
            "Chromium's DevTools port",
        )
        port, path = active.read_text().split()
        yield f"ws://127.0.0.1:{port}{path}"
    finally:
        tree = descendants(proc.pid)
        stop_process(proc, 15)
        for left in tree:
            with contextlib.suppress(psutil.NoSuchProcess):
                left.kill()


@pytest.fixture
def serving(
    tmp_path: Path, request: pytest.FixtureRequest
) -> Iterator[tuple[int, subprocess.Popen[bytes]]]:
    port = free_port()
    proc = mpscope_serve(port, request.param, tmp_path)
    try:
        wait_listening(port, proc)
        yield port, proc
    finally:
        stop_process(proc)


@contextlib.asynccontextmanager
async def browse(browser_url: str, port: int) -> AsyncIterator[Page]:
    """A new page on the served app."""
    async with (
        aiohttp.ClientSession() as session,
        session.ws_connect(browser_url, max_msg_size=0) as ws,
    ):
        devtools = DevTools(ws)
        await devtools.open_page()
        await devtools.call("Page.navigate", {"url": f"http://127.0.0.1:{port}/"})
        yield Page(devtools)


def _app_tree(server: subprocess.Popen[bytes]) -> list[psutil.Process]:
    apps = [p for p in psutil.Process(server.pid).children() if "served" in " ".join(p.cmdline())]
    assert len(apps) == 1, apps
    return [apps[0], *descendants(apps[0].pid)]


def _hex(colour: str) -> tuple[int, int, int] | None:
    if re.fullmatch(r"[0-9a-fA-F]{6}", colour):
        return (int(colour[0:2], 16), int(colour[2:4], 16), int(colour[4:6], 16))
    return None


async def check_drawn(page: Page, image: Image.Image) -> None:
    """The screenshot shows what pyte says the page's terminal was sent, where it says so."""
    assert page.terminal is not None
    colours = image.getcolors(maxcolors=1 << 20) or []
    assert len(colours) >= 16, f"a nearly blank page: {len(colours)} colours"
    box = await page.devtools.evaluate(
        "(() => { const r = document.querySelector('.xterm-screen').getBoundingClientRect();"
        " return [r.x, r.y, r.width, r.height, window.devicePixelRatio]; })()"
    )
    x0, y0, width, height, ratio = box
    screen = page.terminal.screen
    cell_w, cell_h = width * ratio / screen.columns, height * ratio / screen.lines

    def pixel(x: int, y: int) -> tuple[int, int, int]:
        centre = (int(x0 * ratio + (x + 0.5) * cell_w), int(y0 * ratio + (y + 0.5) * cell_h))
        return image.getpixel(centre)  # type: ignore[return-value]

    def near(a: tuple[int, int, int], b: tuple[int, int, int]) -> bool:
        return max(abs(p - q) for p, q in zip(a, b, strict=True)) <= 24

    lines = page.text().split("\n")
    lanes = [
        y for y, line in enumerate(lines) if re.search(r"(worker \d|collector) · PID \d+", line)
    ]
    assert len(lanes) >= 4, page.text()
    blocks = blanks = wrong = 0
    for y in range(screen.lines):
        for x in range(screen.columns):
            char = screen.buffer[y][x]
            if char.data == "█" and (want := _hex(char.fg)):
                blocks += y - 1 in lanes  # a timeline block, in its task's colour
            elif char.data == " " and (want := _hex(char.bg)):
                blanks += 1
            else:
                continue
            wrong += not near(pixel(x, y), want)
    assert blocks >= 10 and blanks > screen.lines * screen.columns // 3, (blocks, blanks)
    assert wrong <= (blocks + blanks) // 50, f"{wrong} of {blocks + blanks} cells drawn otherwise"
    print(f"checked {blocks} timeline blocks and {blanks} blank cells: {wrong} differ")
    for y in lanes:  # each lane's title has ink where pyte has its letters
        title = lines[y].index(re.search(r"(worker \d|collector)", lines[y])[0])  # type: ignore[index]
        bg = _hex(screen.buffer[y][title].bg) or (0, 0, 0)
        left, top = int(x0 * ratio + title * cell_w), int(y0 * ratio + y * cell_h)
        crop = image.crop((left, top, int(left + 8 * cell_w), int(top + cell_h)))
        inked = sum(count for count, rgb in crop.getcolors(1 << 16) or [] if not near(rgb, bg))
        assert inked > crop.width * crop.height // 20, f"lane title on row {y} not drawn"


@pytest.mark.parametrize("serving", [RUN], indirect=True)
def test_the_page_draws_the_app_and_the_browsers_keys_reach_it(
    chromium: str, serving: tuple[int, subprocess.Popen[bytes]], tmp_path: Path
) -> None:
    port, server = serving

    async def scenario() -> None:
        async with browse(chromium, port) as page:
            await page.wait_for(r"■ completed")
            await page.wait_for(r"done 6 \+ failed 0 \+ lost 0 = 6 tasks")
            await asyncio.sleep(1.0)  # the last frames, and xterm.js's paint
            await page.pump()
            first = await page.devtools.screenshot()
            first.save(SHOT)
            await check_drawn(page, first)
            tree = _app_tree(server)

            await page.devtools.evaluate("document.querySelector('.xterm-helper-textarea').focus()")
            await page.devtools.call("Input.insertText", {"text": "?"})
            await page.wait_for(r"mpscope — keys", 20)  # the help screen
            await asyncio.sleep(0.5)
            helped = await page.devtools.screenshot()
            assert ImageChops.difference(first, helped).getbbox() is not None
            await page.devtools.key("Escape", "Escape", 27)
            deadline = asyncio.get_running_loop().time() + 20
            while "mpscope — keys" in page.text():
                assert asyncio.get_running_loop().time() < deadline, page.text()
                await asyncio.sleep(0.2)
                await page.pump()

            await page.devtools.key("q", "KeyQ", 81, text="q")  # quit: the tab's app ends
            await asyncio.to_thread(assert_all_gone, tree, 30)
            closed = "document.body.classList.contains('-closed')"  # "Session ended."
            for _ in range(100):
                if await page.devtools.evaluate(closed):
                    break
                await asyncio.sleep(0.1)
            assert await page.devtools.evaluate(closed)
            assert server.poll() is None
        log = (tmp_path / "serve.log").read_text()
        assert f"app PID {tree[0].pid} ended, exit code 0" in log, log

    asyncio.run(asyncio.wait_for(scenario(), 120))


@pytest.mark.parametrize("serving", [LONG], indirect=True)
def test_closing_the_page_ends_its_app_and_every_process(
    chromium: str, serving: tuple[int, subprocess.Popen[bytes]]
) -> None:
    port, server = serving

    async def scenario() -> None:
        async with browse(chromium, port) as page:
            screen = await page.wait_for(BUSY)
            tree = _app_tree(server)
            shown = {int(pid) for pid in re.findall(r"worker \d · PID (\d+)", screen)}
            assert shown <= {p.pid for p in tree}
            await page.devtools.close_page()
            await asyncio.to_thread(assert_all_gone, tree, 30)
            assert server.poll() is None

    asyncio.run(asyncio.wait_for(scenario(), 120))
