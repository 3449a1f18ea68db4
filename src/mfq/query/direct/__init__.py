"""Questions asked of files directly (``mfq query FILE``): read with only the fields the
question needs, validated as ingest validates, held in memory, never written."""
