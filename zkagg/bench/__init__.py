"""Benchmark suites behind `zkagg bench`: fixed seeds, medians of repetitions, JSON output."""
