"""Benchmarks, resumable parallel runs, results and reports."""
