"""What warming the forkserver buys: time from a fresh process to its run's first task.

    python -m benchmarks.startup            # 5 rounds each, alternating
    python -m benchmarks.startup --quick    # 2 rounds each

Each round is a fresh Python process that does what ``mpscope`` does before its first worker
takes a task: ``cold`` imports the engine (and so torch) and starts a run, whose forkserver
then starts and imports torch again before it forks a worker; ``warm`` first starts the
forkserver on a thread (:func:`mpscope.core.engine.warmup.warm_forkserver`, as the app does
while its first frame shows), so the two imports overlap. Prints the median seconds to the
first ``TaskStarted`` and to the first ``WorkerReady``, side by side, and what warming saves.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys

CHILD = """
import json, sys, time
began = time.monotonic()
if sys.argv[1] == "warm":
    from mpscope.core.engine.warmup import warm_forkserver
    warm_forkserver()
from mpscope.core.engine.run import Engine
from mpscope.core.pipeline.events import TaskStarted, WorkerReady
from mpscope.core.pipeline.scenario import make_scenario

if __name__ == "__main__":
    scenario, _notes = make_scenario(workers=2, count=4, work_time=0.01, collect_time=0)
    engine = Engine(scenario)
    engine.start()
    seen = {}
    while (batch := engine.next_batch(5)) is not None:
        for event in batch:
            for kind in (WorkerReady, TaskStarted):
                if isinstance(event, kind) and kind.__name__ not in seen:
                    seen[kind.__name__] = time.monotonic() - began
    engine.join(30)
    print(json.dumps(seen))
"""


def _round(kind: str) -> dict[str, float]:
    out = subprocess.run(
        [sys.executable, "-c", CHILD, kind], capture_output=True, text=True, timeout=120
    )
    if out.returncode != 0:
        raise SystemExit(f"{kind} round failed: {out.stderr[-2000:]}")
    seen: dict[str, float] = json.loads(out.stdout.strip().splitlines()[-1])
    return seen


def main() -> None:
    """Alternate cold and warm rounds; print the medians and the saving."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true")
    rounds = 2 if parser.parse_args().quick else 5
    results: dict[str, list[dict[str, float]]] = {"cold": [], "warm": []}
    for _ in range(rounds):
        for kind in results:
            results[kind].append(_round(kind))
    print(f"fresh process → its run's first worker ready / first task started, {rounds} rounds")
    medians: dict[str, dict[str, float]] = {}
    for kind, seen in results.items():
        names = ("WorkerReady", "TaskStarted")
        medians[kind] = {name: statistics.median(r[name] for r in seen) for name in names}
        rounds_text = ", ".join(f"{r['TaskStarted']:.2f}" for r in seen)
        print(
            f"  {kind:<5} ready {medians[kind]['WorkerReady']:.2f}s   first task "
            f"{medians[kind]['TaskStarted']:.2f}s   rounds: {rounds_text}"
        )
    saved = medians["cold"]["TaskStarted"] - medians["warm"]["TaskStarted"]
    print(
        f"  warming saves {saved:.2f}s "
        f"({saved / medians['cold']['TaskStarted']:.0%} of the wait for the first task)"
    )


if __name__ == "__main__":
    main()
