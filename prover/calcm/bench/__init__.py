"""Benchmarks that span several stages (``calcm bench book``); stage-local ones stay in their stage."""
