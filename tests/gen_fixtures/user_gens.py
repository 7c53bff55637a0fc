"""Sample user generators for the gen spec and stepper tests."""


def countdown(n):
    """Count down from n, then return a message (carried by StopIteration)."""
    while n > 0:
        yield n
        n -= 1
    return "liftoff"


def echo():
    """Yield back what was sent; catch ValueError thrown in and yield a note instead."""
    received = None
    while True:
        try:
            received = yield received
        except ValueError as exc:
            received = f"caught {exc}"


def stubborn():
    """Refuse to close: yield again on GeneratorExit (Python turns that into RuntimeError)."""
    while True:
        try:
            yield 1
        except GeneratorExit:
            yield 2


def cleanup(log):
    """Append to log when its finally block runs (at close, or when exhausted)."""
    try:
        yield "working"
        yield "still working"
    finally:
        log.append("cleaned up")


def leaky_stop():
    """Raise StopIteration inside the body (PEP 479 turns it into RuntimeError)."""
    yield 1
    raise StopIteration("oops")


def picky(n):
    """A generator function whose arguments are checked when it is called... lazily."""
    if n < 0:
        raise ValueError("n must be >= 0")
    yield n


def plain_function():
    """Not a generator: no yield."""
    return [1, 2, 3]


async def agen():
    """An async generator: not steppable."""
    yield 1


async def coro():
    """A coroutine function: not a generator."""
    return 1


def multi_line_genexpr():
    """Return a generator expression written over several lines."""
    # fmt: off
    return (x * 10
            for x in range(3)
            if x != 1)
    # fmt: on


not_callable = 42
