"""Hostile input: ingest time per distinct key, and peak memory on decompression bombs.

```sh
.venv/bin/python bench/hostile.py                  # bombs of 1 GiB (built once, ~2 min)
.venv/bin/python bench/hostile.py --bomb-mib 256 --json
```

Each case is one ``mfq ingest`` subprocess into a fresh store; wall time and that child's
peak RSS (``ru_maxrss`` from ``os.wait4``, what ``/usr/bin/time -v`` reports) are printed
with the ingest summary's counts. Inputs are written under ``--out`` (default
``bench/out/hostile``) and reused.

- ``keys-N``: one record with N distinct keys (1,000 to 20,000);
- ``adding-10k``: 10,000 records each adding one key (``req.<hex>``);
- ``spaces.bz2``: one record, then ``--bomb-mib`` MiB of spaces, bz2 (a few KB);
- ``element.gz``: a JSON array whose second element holds a string of that size, gzip;
- ``noline.gz``: NDJSON whose second line is that long, gzip.
"""

from __future__ import annotations

import argparse
import bz2
import json
import shutil
import sys
import zlib
from collections.abc import Callable, Iterator
from pathlib import Path

from common import BENCH_DIR, measure, mfq_executable

HEAD = b'{"id":"a","type":"t","timestamp":"2026-11-03T10:00:00Z"}'
BLOCK = 16 * 2**20


def _event(i: int, **extra: object) -> bytes:
    record = {"id": f"e{i}", "type": "t", "timestamp": "2026-11-03T10:00:00Z", **extra}
    return json.dumps(record).encode()


def _repeat(byte: bytes, mib: int) -> Iterator[bytes]:
    block = byte * BLOCK
    for _ in range(mib * 2**20 // BLOCK):
        yield block


def _compressed(path: Path, parts: Iterator[bytes], compressor: Callable[[], object]) -> None:
    engine = compressor()
    with path.open("wb") as out:
        for part in parts:
            out.write(engine.compress(part))  # type: ignore[attr-defined]
        out.write(engine.flush())  # type: ignore[attr-defined]


def build_inputs(out: Path, bomb_mib: int) -> list[Path]:
    """Write every input not already there; their paths in the order they are run."""
    out.mkdir(parents=True, exist_ok=True)
    paths = []
    for keys in (1000, 2000, 4000, 20000):
        path = out / f"keys-{keys}.ndjson"
        if not path.exists():
            path.write_bytes(_event(0, **{f"k{j}": j for j in range(keys)}) + b"\n")
        paths.append(path)
    adding = out / "adding-10k.ndjson"
    if not adding.exists():
        adding.write_bytes(b"".join(_event(i, req={f"{i:06x}": i}) + b"\n" for i in range(10_000)))
    paths.append(adding)
    gzip = lambda: zlib.compressobj(1, zlib.DEFLATED, 31)  # noqa: E731
    bombs: dict[str, tuple[Callable[[], object], list[bytes], bytes, list[bytes]]] = {
        "spaces.ndjson.bz2": (bz2.BZ2Compressor, [HEAD + b"\n"], b" ", []),
        "element.json.gz": (gzip, [b"[" + HEAD + b',{"id":"b","type":"t","s":"'], b"x", [b'"}]']),
        "noline.ndjson.gz": (gzip, [HEAD + b'\n{"id":"b","type":"t","s":"'], b"x", [b'"}\n']),
    }
    for name, (compressor, head, filler, tail) in bombs.items():
        path = out / f"{bomb_mib}mib-{name}"
        if not path.exists():
            parts = iter([*head, *_repeat(filler, bomb_mib), *tail])
            _compressed(path, parts, compressor)
        paths.append(path)
    return paths


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bomb-mib", type=int, default=1024)
    parser.add_argument("--out", type=Path, default=BENCH_DIR / "out" / "hostile")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    mfq = mfq_executable()
    results = []
    for path in build_inputs(args.out, args.bomb_mib):
        store = args.out / "store"
        shutil.rmtree(store, ignore_errors=True)
        cmd = [str(mfq), "ingest", str(path), "--store", str(store), "--format", "json"]
        sample = measure(cmd, args.out)
        summary = json.loads(sample.stdout) if sample.returncode == 0 else {}
        row = {
            "input": path.name,
            "exit": sample.returncode,
            "seconds": round(sample.wall, 2),
            "peak_mib": round(sample.peak_mib),
            **{k: summary.get(k) for k in ("read", "ingested", "rejected", "warnings")},
        }
        results.append(row)
        if not args.json:
            print(" ".join(f"{k}={v}" for k, v in row.items()), flush=True)
    if args.json:
        json.dump(results, sys.stdout, indent=2)
        print()
    return 0 if all(r["exit"] == 0 for r in results) else 1


if __name__ == "__main__":
    sys.exit(main())
