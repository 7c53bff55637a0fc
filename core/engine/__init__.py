"""The process engine: a scenario run on real ``torch.multiprocessing`` processes.

:mod:`.run` is the public facade (``Engine``; its docstring draws the data flow). In the main
process: :mod:`.shared` (what a run's threads share), :mod:`.outbox` (events out, in order),
:mod:`.controls` (pause, speed, injected failures, kills), :mod:`.supervisor` (the engine
thread) with :mod:`.processes`, :mod:`.monitor`, :mod:`.task_queue` and :mod:`.shutdown`,
:mod:`.feeder` (the feeder thread), :mod:`.main_collector` (Task 2's collecting thread) and
:mod:`.lifecycle` (the torch import; stopping every engine at exit). In the run processes:
:mod:`.worker` (their main loops; the forkserver preloads it) and :mod:`.reporting` (their run
clock and event batcher). :mod:`.watch`, :mod:`.queue_take` and :mod:`.child_output` are
plumbing both sides use.
"""
