"""customer-graph's benchmark harness: ``make bench`` (``BENCH_QUICK=1`` for a run under two minutes).

See bench/README.md for what it measures and how to read the results.
"""
