"""Queries over the store: the expression language (``mfq.query.expr``), planner and engines."""
