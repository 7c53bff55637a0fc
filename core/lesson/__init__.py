"""Lessons: a hands-free, captioned tour of a run and of the generator stepper, read from TOML
(:mod:`.model`); the seed's own tour ships built in (``seed.toml``)."""
