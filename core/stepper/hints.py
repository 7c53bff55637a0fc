"""One-paragraph explanations of the generator rules a step ran into.

The seed teaches a few rules that only make sense the moment they bite: a fresh generator must
be primed with ``next()`` before ``send()`` of a value; ``send(x)`` returns the *next* yielded
value; a finished generator raises StopIteration and cannot be rewound. :func:`hint_for` looks at
a result and returns the rule it illustrates, or None when the step was unremarkable.
"""

from __future__ import annotations

from mpscope.core.stepper.result import Action, GenState, Outcome, StepResult

__all__ = ["hint_for"]

PRIME_FIRST = (
    "A fresh generator has not reached a yield yet, so nothing can receive the value. "
    "Prime it with next() (or send(None)) first. The generator is untouched: still created."
)
FIRST_NEXT = "The body ran from the top to the first yield and paused there."
EXHAUSTED = (
    "An exhausted generator raises StopIteration on every call and cannot be rewound. "
    "Reset calls the factory again for a fresh one."
)
ABANDONED = (
    "Gave up waiting. Python cannot stop a thread, so that generator keeps running in the "
    "background until mpscope exits. Reset makes a fresh one."
)
PEP_479 = (
    "A StopIteration raised inside a generator's body is turned into RuntimeError (PEP 479), "
    "so it cannot be mistaken for the generator finishing."
)


def _returned(result: StepResult) -> str:
    return (
        f"The generator finished: its return value {result.value_repr} travelled in "
        "StopIteration.value. A for loop or list() stops here. It cannot be rewound: "
        "reset makes a new one."
    )


def _raised(result: StepResult) -> str | None:
    if result.action is Action.RESET:
        return "The factory failed to make a generator; there is nothing to step until it works."
    created = result.state_before is GenState.CREATED
    if result.action is Action.SEND and created and result.error_type == "TypeError":
        return PRIME_FIRST
    if result.error_type == "RuntimeError" and "StopIteration" in result.error_message:
        return PEP_479
    if result.action is Action.CLOSE:
        return (
            "The generator yielded again after close() raised GeneratorExit in it; "
            "Python answers that with RuntimeError."
        )
    if result.action is Action.THROW:
        if result.state_before is GenState.CREATED:
            return (
                "throw() on a fresh generator raises the exception before the body runs; "
                "the generator is closed now."
            )
        if result.state_before is GenState.CLOSED:
            return "A closed generator re-raises anything thrown into it."
        return (
            f"throw() raised {result.argument} at the paused yield; nothing caught it, so it "
            "came out of the generator, which is closed now."
        )
    if result.action is Action.NEXT and result.state_before is GenState.SUSPENDED:
        return (
            "next(g) is g.send(None): the paused yield evaluated to None. The exception came "
            "out of the generator, which is closed now."
        )
    if result.state_after is GenState.CLOSED:
        return "The exception came out of the generator, which is closed now."
    return None


def _yielded(result: StepResult) -> str | None:
    if result.state_before is GenState.CREATED:
        if result.action is Action.SEND:
            return f"send(None) on a fresh generator is the same as next(). {FIRST_NEXT}"
        return FIRST_NEXT
    if result.action is Action.SEND:
        return (
            f"send({result.argument}) resumed the paused yield with {result.argument} as its "
            f"value, ran to the next yield, and returned what that yielded: {result.value_repr}."
        )
    if result.action is Action.THROW:
        return (
            f"The generator caught {result.argument} at its paused yield and yielded again; "
            "throw() returns that value."
        )
    return None


def _closed(result: StepResult) -> str:
    match result.state_before:
        case GenState.CREATED:
            return "close() on a fresh generator just marks it closed: the body never ran."
        case GenState.CLOSED:
            return "Closing a closed generator does nothing."
        case _:
            return (
                "close() raised GeneratorExit at the paused yield; finally blocks and "
                "with-blocks ran, and the generator is closed. Stepping it now raises "
                "StopIteration."
            )


def hint_for(result: StepResult) -> str | None:
    """The rule ``result`` illustrates, in a sentence or three; None if there is nothing to say."""
    match result.outcome:
        case Outcome.RAISED:
            return _raised(result)
        case Outcome.YIELDED:
            return _yielded(result)
        case Outcome.RETURNED:
            return _returned(result)
        case Outcome.EXHAUSTED:
            return EXHAUSTED
        case Outcome.CLOSED:
            return _closed(result)
        case Outcome.CREATED:
            return "A fresh generator from the factory: created, its body not started yet."
        case Outcome.ABANDONED:
            return ABANDONED
        case Outcome.REFUSED:
            if result.state_before is GenState.ABANDONED:
                return "That generator was abandoned while it ran. Reset makes a fresh one."
            return "There is no generator: the factory failed. Fix it, then reset."
    return None
