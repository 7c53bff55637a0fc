"""Task 2 with more results per worker than a worker holds in flight in Task 3: the worker
must not wait for its collector there, since Task 2's collector starts only once every worker
has left its loop (it would wait forever)."""

from __future__ import annotations

import pytest

from mpscope.core.engine.tensors import MAX_HELD
from mpscope.core.pipeline.scenario import Mode
from tests.support import run_engine, scenario

pytestmark = pytest.mark.timeout(120)


def test_task2_collects_more_results_than_the_task3_limit() -> None:
    count = MAX_HELD + 44
    sc = scenario(mode=Mode.COLLECT_AFTER, workers=1, count=count, work_time=0, collect_time=0)
    _events, state = run_engine(sc, timeout=90)
    assert (state.outcome, state.done, state.collected, state.lost) == (
        "completed",
        count,
        count,
        0,
    )
