"""The tensor pitfalls said where they happen: too little /dev/shm before a run, a worker out of
file descriptors (a note naming file_system on its failed tasks), a producer that could not
hand over its storage; and the explanation never raises, whatever the exception."""

from __future__ import annotations

import errno

import pytest

from mpscope.core.engine import pitfalls
from mpscope.core.pipeline.events import CollectorFailed, Event, Note, TaskFailed
from tests.support import of_kind, run_engine, scenario

pytestmark = pytest.mark.timeout(120)

FEW_FDS = "tests/fixtures/user_tasks.py:tensor_with_few_fds"


def _shm_notes(events: list[Event]) -> list[str]:
    return [n.text for n in of_kind(events, Note) if "/dev/shm" in n.text]


def test_too_little_dev_shm_is_a_warning_before_the_run_starts(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(pitfalls, "shm_free_bytes", lambda path=pitfalls.SHM_PATH: 1 << 20)
    sc = scenario(mode="collect-after", function="tensor", tensor_size=300_000, count=2)
    events, state = run_engine(sc, timeout=90)
    [text] = _shm_notes(events)
    assert "/dev/shm has 1 MB free" in text and "2 MB" in text and "--shm-size" in text
    first_task = next(i for i, e in enumerate(events) if type(e).__name__ == "TaskQueued")
    warning = next(i for i, e in enumerate(events) if isinstance(e, Note) and "/dev/shm" in e.text)
    assert warning < first_task  # said before any task goes out
    assert state.outcome == "completed"  # a warning, not a refusal


def test_enough_dev_shm_or_no_tensors_says_nothing(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(pitfalls, "shm_free_bytes", lambda path=pitfalls.SHM_PATH: 1 << 30)
    assert pitfalls.shm_warning(scenario(function="tensor", tensor_size=1000)) is None
    monkeypatch.setattr(pitfalls, "shm_free_bytes", lambda path=pitfalls.SHM_PATH: 10)
    assert pitfalls.shm_warning(scenario(function="square")) is None
    assert pitfalls.shm_warning(scenario(mode="print", function="tensor")) is None


def test_one_shared_tensor_counts_every_slice(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(pitfalls, "shm_free_bytes", lambda path=pitfalls.SHM_PATH: 64 << 20)
    sc = scenario(function="fill-shared", count=40, tensor_size=1_000_000)  # 153 MB
    text = pitfalls.shm_warning(sc)
    assert text is not None and "153 MB" in text and "40 slices" in text
    assert pitfalls.shm_warning(scenario(function="fill-shared", count=4, tensor_size=1000)) is None


@pytest.mark.parametrize("sharing", ["file_descriptor", "file_system"])
def test_a_worker_out_of_file_descriptors_names_the_other_strategy(sharing: str) -> None:
    sc = scenario(
        function=FEW_FDS, count=6, workers=1, work_time=0, collect_time=0, sharing=sharing
    )
    events, state = run_engine(sc, timeout=90)
    failures = of_kind(events, TaskFailed)
    collector = of_kind(events, CollectorFailed)
    if sharing == "file_system":  # names, not fds: the few fds left are enough
        assert (failures, collector, state.done) == ([], [], 6)
        return
    assert failures or collector, "the lowered limit never bit"
    for failure in failures:
        assert "out of file descriptors" in failure.error, failure.error
        assert "--sharing file_system" in failure.error, failure.error
    for failed in collector:
        assert "--sharing file_system" in failed.explanation, failed.explanation


class _Hostile(Exception):
    def __str__(self) -> str:
        raise RuntimeError("no words")


def test_explaining_never_raises_and_reads_the_whole_chain() -> None:
    assert pitfalls.explain(_Hostile(), "file_descriptor") == ""
    try:
        try:
            raise OSError(errno.EMFILE, "Too many open files")
        except OSError as inner:
            raise RuntimeError("pickling failed") from inner
    except RuntimeError as outer:
        assert pitfalls.explain(outer, "file_descriptor") == pitfalls.FD_NOTE
        assert pitfalls.explain(outer, "file_system") == "out of file descriptors"
    assert pitfalls.explain(ValueError("two"), "file_descriptor") == ""
    assert pitfalls.out_of_fds(RuntimeError("received 0 items of ancdata"))
