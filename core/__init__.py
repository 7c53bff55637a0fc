"""mpscope core: events, state, scenarios, the process engine and the generator stepper.

Nothing in this package imports Textual; it can run headless, in tests and in benchmarks.
"""
