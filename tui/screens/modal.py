"""The base of the app's modal screens: a way to close them, and ctrl+s on every one.

A subclass binds its close keys to ``close``; ``ctrl+s`` saves a screenshot of what is on
screen through :func:`save_screenshot_or_say`, which says where it went, or why it could not
be written (a read-only folder is a message, not a crash).
"""

from __future__ import annotations

from typing import Any, ClassVar, TypeVar

from textual.app import App
from textual.binding import Binding, BindingType
from textual.screen import ModalScreen

__all__ = ["ClosableModal", "save_screenshot_or_say", "screenshot_binding"]

ResultT = TypeVar("ResultT")


def screenshot_binding() -> Binding:
    """``ctrl+s``: save an SVG screenshot (not listed in a footer)."""
    return Binding("ctrl+s", "screenshot", "Screenshot", show=False)


def save_screenshot_or_say(app: App[Any], filename: str | None, path: str | None) -> None:
    """Save an SVG screenshot in the current folder and say where; or say why not."""
    try:
        saved = app.save_screenshot(filename, path)
    except OSError as exc:  # a read-only folder, a full disk: say so, go on
        where = exc.filename or path or "the current folder"
        app.notify(f"screenshot not saved: {where}: {exc.strerror or exc}", severity="error")
        return
    app.notify(f"saved {saved}")


class ClosableModal(ModalScreen[ResultT]):
    """A modal screen with ``ctrl+s`` for a screenshot and an ``close`` action; a subclass
    binds its close keys to ``close`` (Textual adds these bindings to the subclass's)."""

    BINDINGS: ClassVar[list[BindingType]] = [screenshot_binding()]

    def action_close(self) -> None:
        """Close this screen."""
        self.dismiss(None)  # a closed screen gives no result

    async def action_screenshot(self, filename: str | None = None, path: str | None = None) -> None:
        """Save what is on screen, this screen on top, the app's way (``MpscopeApp`` lands
        flying tokens first; ``GenApp`` saves at once)."""
        await self.app.run_action(f"screenshot({filename!r}, {path!r})")
