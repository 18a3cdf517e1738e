"""Prefect flows: orchestration only — order, retries, waiting for a leader's decision,
fan-out of rendering. The rules they call live in :mod:`models`.
"""
