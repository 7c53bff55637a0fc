"""The process engine: a scenario run on real ``torch.multiprocessing`` processes.

:mod:`.run` is the public facade (``Engine``); :mod:`.worker` is the code that runs inside the
worker and collector processes (the forkserver preloads it); :mod:`.watch`,
:mod:`.queue_take` and :mod:`.child_output` are the plumbing they share.
"""
