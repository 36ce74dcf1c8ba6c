"""Benchmarks: each prints its figures and the ratio to a reference measured in the same run.

Run all with ``python -m bench`` (or ``make bench``); one with ``python -m bench.bench_<name>``.
"""
