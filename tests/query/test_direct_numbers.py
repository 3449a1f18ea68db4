"""Numbers read directly (``mfq query FILE``, and ``-``: standard input, read once) are
those ingest stores, digit for digit, wherever blocks are cut: whole numbers past 2**53
beside a float learned from another block (a dropped duplicate), under a nested key of
the same name, or beside an integer beyond int64."""

from __future__ import annotations

import io
import json
import sys
import tempfile
from pathlib import Path

import pyarrow as pa
import pyarrow.json as pj
import pytest
from hypothesis import HealthCheck, assume, example, given, settings
from hypothesis import strategies as st

from mfq.api import Store, open_store
from mfq.ingest import fastpath
from mfq.ingest.projection import Projection
from mfq.query.direct.reader import read_files
from mfq.query.direct.store import HeldStorage
from tests.query.test_direct import SMALL_CHUNKS, SMALL_PROBE

T0 = "2026-11-03T10:00:00Z"
EXACT = 2**53 + 1
NUMBERS = st.sampled_from(
    [0, 7, EXACT, -EXACT, 2**63 - 1, -(2**63), 2**63, 2**64, 2.5, 1.0, 1e3, -0.5]
)
PLACES = st.sampled_from(["x", "o.x", "attributes.x"])


class _Stdin:
    """A stand-in for ``sys.stdin`` whose bytes are ``data``."""

    def __init__(self, data: bytes) -> None:
        self.buffer = io.BytesIO(data)


def _record(i: int, number: object, place: str) -> dict[str, object]:
    record: dict[str, object] = {"id": i, "type": "t", "timestamp": T0}
    if place == "x":
        record["x"] = number
    elif place == "o.x":
        record["o"] = {"x": number}
    else:
        record["attributes"] = {"x": number}
    return record


def _rows(store: Store, fields: list[str]) -> list[str]:
    table = store.events(as_arrow=True, sort=["id"], fields=fields)
    return [json.dumps(row, sort_keys=True) for row in table.to_pylist()]


def _direct(
    path: Path, stdin: bool, fields: list[str], monkeypatch: pytest.MonkeyPatch
) -> list[str]:
    with monkeypatch.context() as patch:
        patch.setattr(fastpath, "PROBE_BLOCK_BYTES", SMALL_PROBE)
        name = str(path)
        if stdin:
            patch.setattr(sys, "stdin", _Stdin(path.read_bytes()))
            name = "-"
        direct = read_files([name], set(fields), settings=SMALL_CHUNKS)
    return _rows(Store(HeldStorage(direct.table, direct.classes)), fields)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    teacher=st.tuples(NUMBERS, PLACES),
    drawn=st.lists(
        st.tuples(NUMBERS, PLACES, st.integers(0, 40), st.sampled_from([0, 1, 3, 900])),
        min_size=1,
        max_size=8,
    ),
    stdin=st.booleans(),
)
@example(teacher=(2.5, "x"), drawn=[(EXACT, "x", 40, 0), (1.5, "o.x", 40, 0)], stdin=True)
@example(teacher=(2.5, "x"), drawn=[(EXACT, "x", 40, 900), (1.5, "o.x", 40, 0)], stdin=True)
@example(teacher=(2.5, "x"), drawn=[(EXACT, "x", 40, 0), (2**64, "x", 40, 0)], stdin=False)
def test_numbers_read_directly_are_those_ingest_stores(
    teacher: tuple[object, str], drawn: list[tuple[object, str, int, int]], stdin: bool
) -> None:
    """A repeat of the first event, left out, holding ``teacher`` in the first block
    (whose full parse teaches the projection its types: a float); then each drawn number
    under its key, with the id of a plain event (below 30: a repeat, left out) or its
    own, then ``filler`` plain events whose ``x`` is a small whole number. Past 64 KiB
    the file is read in small chunks. (Left out: a field holding an integer past 2**53
    beside a float, rounded there, whose digits as text depend on the cuts: see
    ``tests/ingest/test_big_integers.py``.)"""
    for field in (("x", "attributes.x"), ("o.x",)):
        values = [number for number, where, _, _ in drawn if where in field]
        floats = any(isinstance(v, float) for v in values)
        assume(not (floats and any(isinstance(v, int) and abs(v) > 2**53 for v in values)))
    lines = [json.dumps(_record(0, 1, "x")), json.dumps(_record(0, *teacher))]
    lines += [json.dumps(_record(i, i % 3, "x")) for i in range(1, 30)]
    for at, (number, place, repeat, filler) in enumerate(drawn):
        lines.append(json.dumps(_record(repeat if repeat < 30 else 100 + at, number, place)))
        lines += [json.dumps(_record(1000 * (at + 1) + i, i % 3, "x")) for i in range(filler)]
    with tempfile.TemporaryDirectory() as folder, pytest.MonkeyPatch.context() as patch:
        export = Path(folder) / "e.ndjson"
        export.write_text("".join(line + "\n" for line in lines), encoding="utf-8")
        with open_store(Path(folder) / "store") as store:
            store.ingest([str(export)])
            fields = [f for f in ("id", "x") if f in store.field_types()]
            expected = _rows(store, fields)
        assert _direct(export, stdin, fields, patch) == expected


def test_integral_tells_a_nested_fraction_from_the_paths_own() -> None:
    """``Projection.integral`` on a block whose ``x`` values are whole: certain where no
    number under any ``x`` has a fraction; possible where one has and more numbers than
    the path's are under that name; a float where the fraction can only be the path's."""
    projection = Projection.of({"x"})
    learned = [b'{"x": 2.5, "o": {"x": 1.5}}']
    projection.learn(_parsed(learned).schema)
    for lines, expected in [
        ([b'{"x": 1}', b'{"x": 9007199254740993}'], ({("x",)}, set())),
        ([b'{"x": 1}', b'{"x": 2, "o": {"x": 1.5}}'], (set(), {("x",)})),
        ([b'{"x": 1}', b'{"x": 2.0}'], (set(), set())),
        ([b'{"x": 1}', b'{"x": 9223372036854775807}'], (set(), {("x",)})),
        ([b'{"x": 1}', b'{"x": 9223372036854777856}'], (set(), set())),
    ]:
        data = b"\n".join(lines)
        table = _parsed(lines, projection)
        found = projection.integral(table, data, 0, len(data))
        assert (set(found[0]), set(found[1])) == expected, lines


def _parsed(lines: list[bytes], projection: Projection | None = None) -> pa.Table:
    options = pj.ParseOptions()
    if projection is not None:
        options = pj.ParseOptions(
            explicit_schema=projection.schema(), unexpected_field_behavior="ignore"
        )
    return pj.read_json(pa.BufferReader(b"\n".join(lines)), parse_options=options)


def test_each_path_that_may_be_integral_is_tried_alone(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``x`` and ``y`` learned floats (a dropped duplicate); a later block holds whole
    ``x`` beside a nested ``o.x: 1.5`` and whole ``y`` written ``2.0`` beside a nested
    ``p.y: 1.5``: both may be integral, and parsed together as integers they fail. ``x``
    is an integer alone (a full parse infers it so), ``y`` a float."""
    lines = [
        {"id": 0, "type": "t", "timestamp": T0, "x": 1, "y": 1},
        {"id": 0, "type": "t", "timestamp": T0, "x": 2.5, "y": 2.5},
    ]
    lines += [{"id": i, "type": "t", "timestamp": T0, "x": i, "y": 2.0} for i in range(1, 900)]
    lines.append({"id": 900, "type": "t", "timestamp": T0, "x": EXACT, "y": 2.0, "o": {"x": 1.5}})
    lines.append({"id": 901, "type": "t", "timestamp": T0, "x": 3, "y": 4.0, "p": {"y": 1.5}})
    export = tmp_path / "e.ndjson"
    export.write_text("".join(json.dumps(line) + "\n" for line in lines), encoding="utf-8")
    with open_store(tmp_path / "store") as store:
        store.ingest([str(export)])
        expected = _rows(store, ["id", "x", "y"])
    assert {"id": "900", "x": EXACT, "y": 2.0} in [json.loads(row) for row in expected]
    for stdin in (True, False):
        assert _direct(export, stdin, ["id", "x", "y"], monkeypatch) == expected
