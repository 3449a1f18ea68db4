"""Analyses built on the query layer: correlate, anomalies, trace, timeline, slo.

Each module takes a :class:`mfq.store.Store` and plain options (as the CLI and the Python
API pass them) and returns pandas DataFrames; rendering is the caller's business.
"""
