"""Side-by-side measurements of officernd-auth and the libraries people would pick instead.

Run ``python -m benchmarks`` (a few minutes) or ``python -m benchmarks --quick`` (a smoke run).
Every figure is a ratio or a count measured in one run, in interleaved rounds, never an absolute
time on its own: these machines are shared and noisy.
"""
