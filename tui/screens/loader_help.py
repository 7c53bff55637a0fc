"""The DataLoader screen's help text, which the app's help screen shows: its keys (from
:mod:`mpscope.tui.loader_keys`) and how to read its lanes."""

from __future__ import annotations

from mpscope.tui.loader_keys import loader_key_rows


def _key_table() -> str:
    lines = ["| key | what it does |", "|---|---|"]
    for names, what in loader_key_rows():
        lines.append(f"| {' '.join(f'`{name}`' for name in names)} | {what} |")
    return "\n".join(lines)


LOADER_HELP = f"""\
# The DataLoader screen — keys

{_key_table()}

# Reading the screen

- **worker N pid P**: one lane per `torch.utils.data.DataLoader` worker, titled with its real
  PID. Each bar is a batch, from its first sample to the end of `collate_fn`: yellow while it
  is built, cyan once built and waiting in the main process, green once the loop took it.
- **prefetch ■■□□**: batches in flight or ready, against the DataLoader's bound
  (`prefetch_factor × num_workers`): when it is full, the workers wait for the loop.
- **loop pid P**: the training loop in the main process: `·` it waits in `next()` for data,
  `=` it trains on a batch.
- **verdict**: what the waits mean. *Data-bound*: more workers (or faster samples) would help.
  *Compute-bound*: the workers wait for the loop. *Head-of-line*: with `in_order=True` a
  slow batch holds back batches that are ready on other workers (`--no-in-order` lets them
  pass).
"""
