"""mpscope's core (``mpscope.core``): everything that runs without a terminal.

Rooms:

- :mod:`mpscope.core.pipeline` -- the model of a run: events, scenarios, the state folded from
  events, the ledger of outcomes, recordings, summaries, task sources and task functions.
- :mod:`mpscope.core.engine` -- real ``torch.multiprocessing`` processes running a scenario and
  reporting it as events.
- :mod:`mpscope.core.stepper` -- the generator stepper and the seed's example generators.

Shared by both: :mod:`mpscope.core.loading` (user code named ``module:function``) and
:mod:`mpscope.core.words`. Nothing in this package imports Textual.
"""
