"""Benchmarks: each script writes its figures; the numbers and commands live in bench/README.md."""
