"""A generator that blocks on one line between two yields, until the test sets RELEASE."""

import threading

RELEASE = threading.Event()


def blocked():
    """Yield once, then wait on RELEASE (one line, so snapshots see the same line)."""
    yield "started"
    RELEASE.wait()
    yield "released"
