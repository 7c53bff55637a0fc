"""A real ``torch.utils.data.DataLoader``, observed through its public hooks only.

:mod:`.dataset` holds the built-in dataset and the observing wrappers, :mod:`.events` the
records of a run, :mod:`.run` the training loop, :mod:`.state` the fold and verdict,
:mod:`.report` the ``--plain`` output.
"""
