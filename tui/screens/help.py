"""The help screen: every key of the app, and how to read the screen."""

from __future__ import annotations

from typing import ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import VerticalScroll
from textual.widgets import Footer, Markdown

from mpscope.tui.keys import RUN, help_rows
from mpscope.tui.screens.modal import ClosableModal


def _key_table() -> str:
    """The app's keys as a Markdown table, from the key table (:mod:`mpscope.tui.keys`)."""
    lines = ["| key | what it does |", "|---|---|"]
    for names, what in help_rows(RUN):
        keys = " ".join(f"`{name}`" for name in names)
        lines.append(f"| {keys} | {what} |")
    return "\n".join(lines)


HELP = f"""\
# mpscope — keys

{_key_table()}

While the generator stepper has focus (`g` opens it), its own keys come first: `n` next(),
`s` send a value, `t` throw(), `c` close(), `r` reset the *generator*, `x` give up on a step
that never comes back, `e` pick an example, `m` the memory lesson, Esc back to its panel. So
`r`, `x` and `e` mean the stepper's, not the run's, until `g` hides it again.

# Reading the screen

- **task queue**: tokens waiting, next to be taken first; the border turns yellow when the
  queue is full and the feeder (and the generator inside it) is blocked: backpressure.
- **workers**: one lane per process, titled with its real PID. `●` busy with a token,
  `○` idle, `◌` starting (before it is ready) or exited, `◍` exiting (its loop is done, the
  process not yet gone), `◔` waiting (Task 2's main process, until the workers are done),
  `✖` killed. The second line is its timeline: coloured blocks are tasks (each task keeps its
  colour everywhere), dots are idle time; blank once the process is gone. In Task 1 it shows
  the count printed.
- **result queue**: results waiting for the collector. In Task 2 they pile up here until
  every worker has finished: the main process collects only then.
- **collector**: the dedicated collector process of Task 3 (or the main process in Task 2).
- Tokens fly from queue to worker to result queue to collector as tasks move.
- When the run ends, the summary shows per-PID counts and utilisation and checks that
  done + failed + lost = every task.

# Tensors: what torch.multiprocessing adds

- A tensor crosses a queue as a **handle to shared memory**, not as its bytes: `T` makes each
  task return a tensor (the log says `tensor float32[1000] 4.0 kB shared · crossed as 362 B`),
  then fill **one shared tensor** in place; `b` measures shared memory against a pickled copy.
- **`spawn` is the CUDA-safe start method**: a forked child (fork, and forkserver's children
  are forks too) cannot use the CUDA its parent initialised, so CUDA tensors need `-s spawn`.
  Without a GPU, `--device cuda` says so and keeps the tensors on the CPU.
- `--sharing file_descriptor` (torch's default) keeps a file open per tensor in flight;
  `file_system` passes names instead. Too little `/dev/shm` is a warning before the run.

# What the seed's code gets wrong, and what you see here instead

- **Join before drain** (Task 2): a process that put results on a queue cannot exit until
  they are flushed into the pipe, so joining before draining can wait for ever. The seed's
  small results fit in the pipe; run `mpscope --mode task2 --function big` and the workers
  sit *loop done, cannot exit yet* until the main process reads. mpscope drains, then joins.
- **`while not queue.empty()`** is a guess while writers still flush: results can be missed.
  mpscope ends each queue with a sentinel, and the summary checks every task's outcome.
- **A bare `except: break`** ends a worker on any error, silently. Press `f`, then `e`: the
  task fails with its traceback and the worker carries on.
- **`get(timeout=1)`** ends workers early when the feeder is slow. Here workers wait for the
  end sentinel (and check that their parent is alive).
"""


class HelpScreen(ClosableModal[None]):
    """Keys and a legend (the app's, or ``text``: another screen's); any of escape, q, ?
    closes it."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape,q,question_mark,f1", "close", "Close"),
    ]
    DEFAULT_CSS = """
    HelpScreen { align: center middle; }
    HelpScreen > VerticalScroll { width: 96; max-width: 100%; height: 90%;
        border: thick $primary; background: $surface; padding: 0 1; }
    """

    def __init__(self, text: str = HELP) -> None:
        super().__init__()
        self.text = text

    def compose(self) -> ComposeResult:
        with VerticalScroll() as scroll:
            scroll.border_subtitle = "Esc closes · ↑↓ scroll"
            yield Markdown(self.text)
        yield Footer()  # this screen's keys, not those of the screen beneath
