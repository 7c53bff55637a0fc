"""Benchmarks: the measurements the performance goals are judged by."""
