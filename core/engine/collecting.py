"""What a collector does with one result: the seed's collecting, in events.

Task 3's collector process (:mod:`.worker`) and Task 2's collecting thread in the main process
(:mod:`.main_collector`) both take a result with :func:`collect_one`: its simulated handling
time, then its report (a quick one as a row of the collector's bulk report). In Chinese the
seed's collector also says what it received (:func:`seed_received_line`).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from mpscope.core.pipeline.events import TaskCollected, TaskCollecting
from mpscope.core.pipeline.scenario import Scenario
from mpscope.core.pipeline.shared_fill import FILL_SHARED
from mpscope.core.pipeline.values import describe_value
from mpscope.core.pipeline.wire import Record

#: What travels on the result queue: (task, attempt, worker, ok, output, started ns, finished ns).
ResultMessage = tuple[int, int, int, bool, Any, int, int]


def collect_one(
    message: ResultMessage,
    collector: int,
    scenario: Scenario,
    time_scale: float,
    clock: Callable[[], int],
    begin: Callable[[tuple[Any, ...]], None],
    end: Callable[[Record], None],
    sleep: Callable[[float], None] = time.sleep,
    end_row: Callable[..., bool] | None = None,
) -> None:
    """Process one result the way the seed's collector does (simulated handling time); with
    ``end_row``, a quick one is reported as a row of the bulk (see ``EventBatcher.end_row``)."""
    task, attempt, worker, ok, output, _started, _finished = message
    if not ok:
        text = str(output)
    elif output is None and scenario.function == FILL_SHARED:
        text = f"nothing to take: slice {task} is in the shared tensor"
    else:
        text = describe_value(output)
    started = finished = clock()
    seconds = scenario.collect_time * time_scale
    if seconds > 0:  # with nothing to wait for, the end says it all (one clock reading)
        begin((TaskCollecting, started, task, collector, worker, attempt, ok, text))
        sleep(seconds)
        finished = clock()
    if end_row is None or not end_row(finished, task, started, finished, worker, attempt, ok, text):
        end((TaskCollected, finished, task, collector, started, worker, attempt, ok, text))


def seed_received_line(message: ResultMessage, received: int, total: int) -> str:
    """The seed's Task 3 collector line: ``[收集Worker] 收到第 1/10 个结果: Worker2 → 4``."""
    _task, _attempt, worker, ok, output, _started, _finished = message
    what = describe_value(output) if ok else f"失败: {output}"
    return f"[收集Worker] 收到第 {received}/{total} 个结果: Worker{worker} → {what}"
