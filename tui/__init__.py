"""mpscope user interfaces: the command line, the Rich plain view and the Textual app.

Nothing here starts or kills processes itself: it asks :mod:`core.engine`.
"""
