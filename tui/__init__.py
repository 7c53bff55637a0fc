"""mpscope's user interfaces (``mpscope.tui``): the command line, ``--plain`` and the app.

Rooms: :mod:`.cli` (the command line), :mod:`.app` (the Textual app), :mod:`.widgets` (one
widget a module), :mod:`.screens` (modal screens), :mod:`.stepper` (the generator stepper's
widgets and its own app), :mod:`.views` (Rich renderables and ``--plain``), :mod:`.session`
(moving events from a source into the app or ``--plain``).

Nothing here starts or kills processes itself: it asks :mod:`mpscope.core.engine`.
"""
