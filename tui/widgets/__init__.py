"""The main app's widgets, one a module: lanes, queue strips, the header, the log, tokens."""
