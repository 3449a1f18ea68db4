"""The Python API: the same store and answers as the command line.

Run from the repository root: ``.venv/bin/python examples/api.py [STORE_DIR]``.
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

import mfq

EXPORTS = Path(__file__).parent / "exports"


def main(store_dir: str) -> None:
    store = mfq.open_store(store_dir)
    summary = store.ingest([EXPORTS])  # a directory: every export in it, recursively
    print(
        f"read {summary.read}: {summary.ingested} ingested, {summary.duplicates} duplicates,"
        f" {summary.rejected} rejected"
    )
    info = store.info()
    span = f"{info['first']:%Y-%m-%d %H:%M} to {info['last']:%Y-%m-%d %H:%M}"
    print(f"{info['events']} events from {span}")
    schema = store.schema()
    print("mixed-type fields:", ", ".join(schema.loc[schema["mixed"], "field"]))
    print(store.rejects()[["number", "code"]].to_string(index=False))


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else tempfile.mkdtemp(prefix="mfq-example-"))
