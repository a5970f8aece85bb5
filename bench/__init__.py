"""The benchmark of `make bench` (``python -m bench``): see bench/bench.py and the README."""
