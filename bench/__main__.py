"""``python -m bench``: run the benchmark (bench/bench.py)."""

from bench.bench import main

main()
