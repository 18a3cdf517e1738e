"""The benchmark harness behind `leadflow bench`, kept apart from the product: synthetic
leads and a synthetic national year, and the figures timed on them. It drives the same
flows and services a user runs (docs/architecture.md principle 9) in scratch databases;
only the `leadflow bench` command loads it, and models/ and flows/ never import it.
"""
