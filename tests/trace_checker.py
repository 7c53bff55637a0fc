"""A checker for the Trace Event Format files mpscope writes (Perfetto's own trace processor
needs a binary download, so the tests validate with this instead).

It checks what a viewer relies on: valid JSON with a ``traceEvents`` list; every event of a
known phase with its fields; a name for every process; every slice inside its process's life
slice; flows paired (each ``flow_out`` id has one ``flow_in``, later) and never reused;
counters never negative.
"""

from __future__ import annotations

import json
from collections import defaultdict
from pathlib import Path
from typing import Any

PHASES = {"M", "X", "i", "C"}


def check_trace(path: Path, complete: bool = True) -> dict[str, Any]:
    """The trace's JSON if it passes; raises AssertionError naming what is wrong. A
    ``complete`` run collected every result, so every flow that leaves also arrives."""
    data = json.loads(path.read_text(encoding="utf-8"))
    assert isinstance(data, dict) and isinstance(data.get("traceEvents"), list), "no traceEvents"
    events: list[dict[str, Any]] = data["traceEvents"]
    named: set[int] = set()
    lives: dict[int, tuple[float, float]] = {}
    slices: list[dict[str, Any]] = []
    flows_out: dict[int, float] = {}
    flows_in: dict[int, float] = {}
    for e in events:
        assert e.get("ph") in PHASES, f"unknown phase in {e}"
        assert isinstance(e.get("pid"), int) and isinstance(e.get("tid"), int), e
        if e["ph"] == "M":
            if e["name"] == "process_name":
                named.add(e["pid"])
            continue
        assert isinstance(e.get("ts"), int | float) and e["ts"] >= 0, e
        if e["ph"] == "X":
            assert isinstance(e.get("dur"), int | float) and e["dur"] >= 0, e
            if "PID" in e["name"] and e["name"].endswith(f"PID {e['pid']}"):
                assert e["pid"] not in lives, f"two life slices for PID {e['pid']}"
                lives[e["pid"]] = (e["ts"], e["ts"] + e["dur"])
            else:
                slices.append(e)
            if e.get("flow_out"):
                assert e["bind_id"] not in flows_out, f"flow id {e['bind_id']} reused"
                flows_out[e["bind_id"]] = e["ts"] + e["dur"]
            if e.get("flow_in"):
                assert e["bind_id"] not in flows_in, f"flow id {e['bind_id']} reused"
                flows_in[e["bind_id"]] = e["ts"]
        if e["ph"] == "C":
            for value in e["args"].values():
                assert value >= 0, f"negative counter {e}"
    used = {e["pid"] for e in events if e["ph"] != "M"}
    assert used <= named, f"processes without a name: {sorted(used - named)}"
    by_pid: dict[int, list[dict[str, Any]]] = defaultdict(list)
    for s in slices:
        by_pid[s["pid"]].append(s)
    for pid, inside in by_pid.items():
        if pid not in lives:
            continue  # the main process: its life is the run's
        born, died = lives[pid]
        for s in inside:
            assert born - 0.001 <= s["ts"] and s["ts"] + s["dur"] <= died + 0.001, (
                f"slice {s['name']} outside the life of PID {pid}"
            )
    strays = set(flows_in) - set(flows_out)
    assert not strays, f"flows that arrive from nowhere: {sorted(strays)}"
    if complete:
        unpaired = set(flows_out) - set(flows_in)
        assert not unpaired, f"flows that never arrive: {sorted(unpaired)}"
    for flow, arrives in flows_in.items():
        assert arrives + 1.0 >= flows_out[flow], f"flow {flow} arrives before its work ended"
    return data
