"""The session a recording spans (:mod:`mpscope.core.pipeline.session`), for the app.

Live, ``--record FILE`` opens one file for the whole session: each run's
:class:`~mpscope.core.pipeline.recording.RunRecorder` writes into it without closing it, a
``run_replaced`` goes in when another run takes a run's place, and the stepper's calls go in
as they are made. In a replay, the recording is read once, run after run: each run's
:class:`~mpscope.tui.session.bridge.ReplaySource` plays one run of the same stream.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator

from mpscope.core.pipeline.events import Event
from mpscope.core.pipeline.recording import RecordingWriter
from mpscope.core.pipeline.session import one_run, skip_runs
from mpscope.tui.session.bridge import Replay


class SessionTape:
    """The recording a session writes (``record_path``) or plays (``replay``)."""

    def __init__(self, record_path: str | None = None, replay: Replay | None = None) -> None:
        self.record_path = record_path
        self.writer: RecordingWriter | None = None
        self.replay = replay
        self._stream: Iterator[Event] | None = None
        self.run_index = 0  # which run of the replayed session is playing (0: the first)
        self.more = False  # the run playing is followed by another (it said run_replaced)

    # -- writing -------------------------------------------------------------------------------

    def writer_for_run(self) -> RecordingWriter | None:
        """The session's file, opened at the first run (may raise ``RecordingError``); None
        without ``--record``, or once writing it failed (it is never opened again: that would
        write over what it holds)."""
        if self.record_path is None:
            return None
        if self.writer is None:
            self.writer = RecordingWriter(self.record_path)
        return None if self.writer.closed else self.writer

    def close(self) -> RecordingWriter | None:
        """The session is over: close its file; the writer, if there was one."""
        writer = self.writer
        if writer is not None:
            writer.close()
        return writer

    # -- playing -------------------------------------------------------------------------------

    def next_run(self, fresh: bool) -> Replay:
        """What the next run's replay source plays: the session's first run again
        (``fresh``), or the run after the one that played."""
        self.more = False
        if fresh:
            self._stream, self.run_index = None, 0
        else:
            self.run_index += 1
        replay = self.replay

        def events(following: Callable[[], bool]) -> Iterable[Event]:
            if self._stream is None:  # opened on the first run's replay thread, as it plays
                self._stream = iter(replay(following) if callable(replay) else replay or ())
            return one_run(self._stream)

        return events

    def reread(self) -> Callable[[], Iterable[Event]]:
        """The playing run's events, read again from the start of the recording (``R``
        records them from there)."""
        replay, index = self.replay, self.run_index

        def again() -> Iterable[Event]:
            opened = iter(replay(lambda: False) if callable(replay) else replay or ())
            return one_run(skip_runs(opened, index))

        return again
