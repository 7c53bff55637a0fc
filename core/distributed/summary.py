"""A distributed run in words: the lines ``--plain`` prints as the run goes, and the summary
with a per-rank Gantt at its end (plain text; the same lines in a recording's replay).

The Gantt draws each rank on one time line from the first step's start to the last step's end
(the viewer's clock, each rank's corrected by its measured offset): ``█`` computing, ``░``
inside a collective (mostly waiting for the slowest rank), ``·`` between steps.
"""

from __future__ import annotations

import re
from typing import Final

from mpscope.core.distributed.events import RankJoined, StepReported
from mpscope.core.distributed.state import DistState, Lane, RankStep

GANTT_WIDTH: Final = 60
COMPUTE, COLLECTIVE, BETWEEN = "█", "░", "·"
LEGEND: Final = f"{COMPUTE} compute  {COLLECTIVE} in a collective  {BETWEEN} between steps"


def _ms(ns: int) -> str:
    return f"{ns / 1e6:.1f} ms"


def _count(n: int, word: str) -> str:
    return f"{n} {word}{'' if n == 1 else 's'}"


def root_cause(error: str) -> str:
    """The rank torchrun's failure summary names as the root cause, and how it ended, in one
    line (``rank 1 (local rank 1), pid 5274: exitcode -9 (SIGKILL)``); empty if none."""
    block = error.partition("Root Cause")[2]
    found = re.search(r"rank\s*:\s*(\d+) \(local_rank: (\d+)\)", block)
    code = re.search(r"exitcode\s*:\s*(-?\d+) \(pid: (\d+)\)\s*(\(\w+\))?", block)
    if not (found and code):
        return ""
    how = f"exitcode {code.group(1)}" + (f" {code.group(3)}" if code.group(3) else "")
    return f"rank {found.group(1)} (local rank {found.group(2)}), pid {code.group(2)}: {how}"


def joined_line(event: RankJoined) -> str:
    """A rank connected."""
    offset = event.offset_ns / 1e6
    offset = 0.0 if abs(offset) < 0.005 else offset  # not "-0.00"
    return (
        f"rank {event.rank} of {event.world_size} joined: local rank {event.local_rank}, "
        f"pid {event.pid}, host {event.host}, clock offset {offset:+.2f} ms "
        f"(round trip {event.rtt_ns / 1e6:.2f} ms)"
    )


def step_complete(state: DistState, step: int) -> bool:
    """True once every rank of the world reported ``step``."""
    world = state.world_size or len(state.lanes)
    return world > 0 and len({rank for rank, _s in state.by_step.get(step, ())}) >= world


def step_line(state: DistState, step: int) -> str:
    """One step across the world: its time, the share spent waiting, whether checksums agree."""
    steps = [s for _rank, s in state.by_step.get(step, ())]
    if not steps:
        return f"step {step}: no rank reported it"
    begun, ended = min(s.begun for s in steps), max(s.ended for s in steps)
    total = sum(s.total_ns for s in steps)
    waited = sum(s.collective_ns for s in steps)
    share = f"{waited / total:.0%}" if total else "-"
    sums = state.checksums.get(step, {})
    if not sums:
        agreement = "no checksums"
    elif len(set(sums.values())) == 1:
        agreement = f"checksums agree ({next(iter(sums.values()))})"
    else:
        each = ", ".join(f"rank {r} {c}" for r, c in sorted(sums.items()))
        agreement = f"checksums DISAGREE: {each}"
    ranks = _count(len(steps), "rank")
    return f"step {step}: {_ms(ended - begun)} across {ranks}, {share} in collectives, {agreement}"


def _cell(steps: list[RankStep], a: int, b: int) -> str:
    """What the rank mostly did between times ``a`` and ``b``."""
    compute = collective = 0
    for step in steps:
        lo, hi = max(a, step.begun), min(b, step.ended)
        if hi <= lo:
            continue
        inside = 0
        for kind, _name, start, end in step.spans:
            if kind == "collective":
                inside += max(0, min(hi, end) - max(lo, start))
        collective += inside
        compute += hi - lo - inside
    if compute == collective == 0:
        return BETWEEN
    return COLLECTIVE if collective > compute else COMPUTE


def lane_cells(lane: Lane, start: int, end: int, width: int) -> str:
    """The rank's row of the Gantt between ``start`` and ``end``: ``width`` cells of what it
    mostly did in each (:data:`COMPUTE`, :data:`COLLECTIVE` or :data:`BETWEEN`)."""
    span = max(1, end - start)
    edges = [start + span * i // width for i in range(width + 1)]
    shown: list[RankStep] = []  # the steps in the window: from the end, as they came in order
    for step in reversed(lane.steps):
        if step.ended < start:
            break
        if step.begun < end:
            shown.append(step)
    return "".join(_cell(shown, edges[i], edges[i + 1]) for i in range(width))


def steps_span(state: DistState) -> tuple[int, int] | None:
    """From the first step's start to the last step's end, over every rank; None before any."""
    steps = [s for reports in state.by_step.values() for _rank, s in reports]
    if not steps:
        return None
    return min(s.begun for s in steps), max(s.ended for s in steps)


def gantt_lines(state: DistState, width: int = GANTT_WIDTH) -> list[str]:
    """One row per rank over the run's steps (empty when no step was reported)."""
    span = steps_span(state)
    if span is None:
        return []
    start, end = span
    lanes = [state.lanes[r] for r in sorted(state.lanes) if state.lanes[r].steps]
    rows = [f"rank {lane.rank:>3} |{lane_cells(lane, start, end, width)}|" for lane in lanes]
    axis = f"{'0 ms':<{width // 2}}{_ms(end - start):>{width - width // 2}}"
    return [*rows, f"{'':9}{axis}", f"{'':9}{LEGEND}"]


def rank_rows(state: DistState) -> list[str]:
    """A table of the ranks: steps, mean step time, share of it inside collectives."""
    head = f"{'rank':>4} {'local':>5} {'pid':>7}  {'host':<16} {'steps':>5} {'mean step':>10}"
    rows = [f"{head} {'in collectives':>14}  left"]
    for r in sorted(state.lanes):
        lane = state.lanes[r]
        mean = _ms(lane.busy_ns // len(lane.steps)) if lane.steps else "-"
        rows.append(
            f"{lane.rank:>4} {lane.local_rank:>5} {lane.pid:>7}  {lane.host[:16]:<16} "
            f"{len(lane.steps):>5} {mean:>10} {lane.wait_fraction:>14.0%}  {lane.left or '-'}"
        )
    return rows


def summary_lines(state: DistState) -> list[str]:
    """The end of a run: who ran, each rank's figures, the Gantt, the straggler, the outcome."""
    if not state.lanes:
        return [f"no rank reported to the viewer at {state.address}", *_outcome_lines(state)]
    hosts = state.hosts()
    where = f"{len(hosts)} host{'s' if len(hosts) != 1 else ''} ({', '.join(hosts)})"
    lines = [f"{_count(len(state.lanes), 'rank')} on {where}, torch {state.torch_version}"]
    lines += rank_rows(state)
    gantt = gantt_lines(state)
    if gantt:
        lines += ["", *gantt, ""]
    straggler = state.straggler()
    if straggler is not None:
        lines.append(f"straggler: rank {straggler} (the others wait for it in the all-reduce)")
    agree = state.checksums_agree()
    if agree is True:
        steps = _count(len(state.checksums), "step")
        lines.append(f"parameters agree on every rank after every step ({steps})")
    elif agree is False:
        bad = ", ".join(map(str, state.disagreeing_steps()))
        lines.append(f"parameters DISAGREE after step(s) {bad}")
    if state.dropped:
        counts = ", ".join(f"{n} {reason}" for reason, n in sorted(state.dropped.items()))
        lines.append(f"reports dropped: {counts} (last: {state.last_drop})")
    lines.append(f"{state.wait_fraction:.0%} of all step time was spent in collectives")
    return lines + _outcome_lines(state)


def _outcome_lines(state: DistState) -> list[str]:
    """``run completed``, or ``run error: …`` with the root cause (or the one-line error) and
    torchrun's failure below it."""
    cause = root_cause(state.error)
    error = state.error.strip()
    if not cause and error and "\n" not in error:  # a one-line error says it all
        return [f"run {state.outcome or 'unfinished'}: {error}"]
    lines = [f"run {state.outcome or 'unfinished'}" + (f": {cause}" if cause else "")]
    if error:
        lines += ["", state.error]
    return lines


def live_lines(state: DistState, event: object, printed: set[int]) -> list[str]:
    """What to print once ``event`` is folded into ``state`` (``printed``: steps already
    said, updated)."""
    if isinstance(event, RankJoined):
        return [joined_line(event)]
    if not isinstance(event, StepReported) or event.step in printed:
        return []
    if not step_complete(state, event.step):
        return []
    printed.add(event.step)
    return [step_line(state, event.step)]


def unsaid_steps(state: DistState, printed: set[int]) -> list[str]:
    """Steps some rank reported that were never complete (a rank died first)."""
    steps = sorted(set(state.by_step) - printed)
    world = state.world_size or len(state.lanes)
    lines = []
    for step in steps:
        got = len({rank for rank, _s in state.by_step[step]})
        lines.append(f"{step_line(state, step)} (only {got} of {world} ranks reported it)")
    return lines
