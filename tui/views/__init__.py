"""Rich-only views (no Textual): renderables of a run, and ``--plain`` output."""
