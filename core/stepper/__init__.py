"""The generator stepper: drive a generator with ``next()``, ``send()``, ``throw()`` and
``close()`` and read its frame after each step.

:mod:`.machine` (``Stepper``) and :mod:`.runner` step it; :mod:`.result` is what one step
returns; :mod:`.source` and :mod:`.hints` read its code; :mod:`.spec` resolves what the user
asked for; :mod:`.examples` and :mod:`.seed_generators` are the seed's generators;
:mod:`.memory_lesson` is the seed's list-vs-generator memory comparison; :mod:`.safe_repr`
shows values without running hostile ``__repr__`` code for long.
"""
