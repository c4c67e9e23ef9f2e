"""Benchmarks: run as scripts (`make bench`); figures are reported, never asserted."""
