"""A generator that runs "for ever" between two yields, until the test sets STOP."""

import threading
import time

STOP = threading.Event()


def spin(step=0.005):
    """Yield once, then loop (sleeping a little) until STOP is set, then yield again."""
    yield "started"
    spins = 0
    while not STOP.is_set():
        spins += 1
        time.sleep(step)
    yield spins
