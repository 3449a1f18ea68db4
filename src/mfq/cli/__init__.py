"""The command line: a thin click shell over the library (one module per command family)."""
