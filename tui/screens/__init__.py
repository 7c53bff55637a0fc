"""Modal screens of the main app: help and a failed task's traceback."""
