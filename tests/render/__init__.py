"""Tests for mfq.render (a package so its helpers import relatively, whatever the rootdir)."""
