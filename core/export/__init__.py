"""A run handed over to other tools: :mod:`.perfetto` writes the Trace Event Format JSON that
Perfetto and ``chrome://tracing`` open."""
