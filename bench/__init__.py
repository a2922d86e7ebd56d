"""Benchmarks of our engine against its peers; ``make bench`` (bench/run.sh) runs them all.

Every module runs with only the project's own requirements installed (the peers are imported
lazily), so CI can smoke-test our side with tiny sizes: see tests/bench/test_bench_smoke.py.
"""
