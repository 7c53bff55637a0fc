"""The pipeline's model: what a run is, what happens in it, and what it adds up to.

Pure data and pure functions, no processes: :mod:`.events` (the one interface between the
engine and everything that shows a run), :mod:`.scenario` (a run's settings), :mod:`.state`
(``RunState``, a pure fold of events), :mod:`.ledger` (every task's one outcome),
:mod:`.recording` (events to and from JSON lines), :mod:`.summary`, :mod:`.describe` and
:mod:`.log_order` (a run in words and in order), :mod:`.sources` and :mod:`.tasks` (what the
workers are given to do).
"""
