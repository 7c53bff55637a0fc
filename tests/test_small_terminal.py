"""At 80x24 the footer still offers what a teacher needs first: quit, help and the speed."""

from __future__ import annotations

from textual.widgets import Footer

from mpscope.tui.app import MpscopeApp
from tests.test_app_pilot import quit_app, scenario, spawned, wait_for


def _footer_text_on_screen(app: MpscopeApp) -> str:
    """The footer's keys that are drawn inside the terminal's width, left to right."""
    footer = app.screen.query_one(Footer)
    width = app.size.width
    shown = [key for key in footer.children if key.region.width and key.region.right <= width]
    shown.sort(key=lambda key: key.region.x)
    return " ".join(str(key.render()) for key in shown)


async def test_a_live_run_at_80_columns_keeps_the_speed_keys_in_the_footer() -> None:
    app = MpscopeApp(scenario(count=20, work_time=0.2))
    async with app.run_test(size=(80, 24)) as pilot:
        try:
            await wait_for(pilot, lambda: spawned(app), what="the workers")
            await pilot.pause(0.2)
            text = _footer_text_on_screen(app)
            for word in ("Quit", "Help", "Speed"):
                assert word in text, text
            assert "</>" in text, text
        finally:
            await quit_app(pilot)
