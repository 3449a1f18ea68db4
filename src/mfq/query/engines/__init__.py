"""Engines execute a ``QuerySpec``; each raises ``UnsupportedOperation`` for what it cannot do."""
