"""Analyses built on the query layer: correlate, anomalies, trace, timeline, slo.

Each module takes a :class:`mfq.query.source.QuerySource` (the public ``mfq.api.Store`` is
one) and plain options, and returns pandas DataFrames (an ``mfq.model.answer.Answer`` when
it has notes to give); rendering is the caller's business.
"""
