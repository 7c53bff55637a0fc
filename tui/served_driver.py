"""Textual's web driver as a served mpscope app needs it (see :mod:`.served`).

textual-serve's own :class:`~textual.drivers.web_driver.WebDriver` turns the server's quit
message and SIGINT/SIGTERM into an immediate exit message, which skips the app's own quit
(stop the run in order, close a recording); it writes the protocol to fd 1 and does not notice
that the server has gone. This driver:

- writes the protocol to the private descriptor :func:`.served.main` made, whole, and when
  the server has gone (a broken pipe) drops the output and quits;
- quits through the app's ``quit`` action, the ``q`` key's, on the server's quit message, on
  the end of its input (the server has gone) and on a failed write;
- puts back the SIGTERM handler the app had (mpscope's: the orderly quit, with a deadline,
  then a hard stop) for SIGTERM and SIGINT, in place of the web driver's.
"""

from __future__ import annotations

import asyncio
import os
import signal
from functools import partial
from typing import Any

from textual.app import App
from textual.drivers.web_driver import WebDriver

from mpscope.tui.served import PROTOCOL_FD_ENV


class ServedDriver(WebDriver):
    """The web driver on a private descriptor, quitting the app's own way."""

    def __init__(
        self,
        app: App[Any],
        *,
        debug: bool = False,
        mouse: bool = True,
        size: tuple[int, int] | None = None,
    ) -> None:
        super().__init__(app, debug=debug, mouse=mouse, size=size)
        fd = os.environ.pop(PROTOCOL_FD_ENV, "")
        if fd.isdigit():
            self.fileno = int(fd)
        self._write = partial(self._write_whole)
        self._server_gone = False

    def _write_whole(self, data: bytes) -> int:
        """Write all of ``data`` (a pipe may take part of it); on a broken pipe, quit."""
        if self._server_gone:
            return 0
        view = memoryview(data)
        try:
            while view:
                view = view[os.write(self.fileno, view) :]
        except OSError:  # the server has gone: nothing can be shown any more
            self._server_gone = True
            self._quit()
        return len(data) - len(view)

    def _quit(self) -> None:
        """Quit as the ``q`` key does; safe from any thread."""
        self._app.call_later(self._app.run_action, "quit")

    def start_application_mode(self) -> None:
        handler = signal.getsignal(signal.SIGTERM)
        super().start_application_mode()
        if callable(handler):  # the app's own (mpscope's): keep it, for SIGINT too
            loop = asyncio.get_running_loop()
            for signum in (signal.SIGINT, signal.SIGTERM):
                loop.remove_signal_handler(signum)
                signal.signal(signum, handler)

    def run_input_thread(self) -> None:
        super().run_input_thread()
        if not self.exit_event.is_set():  # the input ended, not the app: the server has gone
            self._quit()

    def on_meta(self, packet_type: str, payload: dict[str, object]) -> None:
        if packet_type == "quit":  # the tab closed, or the server stops
            self._quit()
        else:
            super().on_meta(packet_type, payload)
