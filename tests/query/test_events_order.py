"""``mfq events`` shows its default fields in an order of the data alone: timestamp, type,
service, status, the other standard fields in the model's order, then the rest by name,
in every output format, whatever the block and chunk cuts, the path each record took
(vectorised or record by record), the day partitions and the order the files were
ingested in, and on a file as on its store. The stored columns' order followed the cuts
(a question on a file and the same question on the store listed the keys apart)."""

from __future__ import annotations

import csv
import dataclasses
import io
import json
import tempfile
from pathlib import Path

import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mfq.api import Store, open_store
from mfq.cli.files import MODE_ENV
from mfq.cli.main import cli
from mfq.ingest import fastpath
from mfq.ingest.columns import STANDARD_NAMES
from mfq.query.direct.reader import read_files
from mfq.query.direct.store import HeldStorage
from mfq.settings import DEFAULT_SETTINGS
from tests.store.test_schema_order import drawn_lines

LEADING = ["timestamp", "type", "service", "status"]
STANDARD_REST = [name for name in STANDARD_NAMES if name not in LEADING]
KEYS = st.sampled_from(["zeta", "alpha", "m.b", "m.a", "Beta", "_x", "n1", "n10", "n2"])
VALUES = st.integers(0, 3) | st.sampled_from(["t", 2.5, True])
#: (first block bytes, chunk bytes, vectorised): the cuts and paths a file is read with.
READS = [(64 * 1024, 16 << 20, True), (256, 512, True), (100, 300, True), (64 * 1024, 512, False)]


def _lines(drawn: list[dict[str, object]]) -> list[str]:
    return drawn_lines(drawn, lambda i: 3 - i % 3)


def _columns(lines: list[str], probe: int, chunk_bytes: int, vectorised: bool) -> list[list[str]]:
    """The default columns of ``events`` on the store of ``lines`` (one ingest, then the
    lines in two files ingested in reverse order) and on the file held in memory."""
    read = dataclasses.replace(DEFAULT_SETTINGS, chunk_bytes=chunk_bytes, fast_path=vectorised)
    found = []
    with pytest.MonkeyPatch.context() as patch, tempfile.TemporaryDirectory() as folder:
        patch.setattr(fastpath, "PROBE_BLOCK_BYTES", probe)
        export = Path(folder) / "e.ndjson"
        export.write_text("".join(line + "\n" for line in lines), encoding="utf-8")
        halves = [Path(folder) / "a.ndjson", Path(folder) / "b.ndjson"]
        middle = len(lines) // 2
        halves[0].write_text("".join(line + "\n" for line in lines[:middle]), encoding="utf-8")
        halves[1].write_text("".join(line + "\n" for line in lines[middle:]), encoding="utf-8")
        with open_store(Path(folder) / "one", settings=read) as store:
            store.ingest([str(export)])
            found.append(store.events(as_arrow=True).column_names)
        with open_store(Path(folder) / "two", settings=read) as store:
            for half in reversed(halves):
                store.ingest([str(half)])
            found.append(store.events(as_arrow=True).column_names)
        held = read_files([str(export)], None, settings=read)
        on_file = Store(HeldStorage(held.table, held.classes))
        found.append(on_file.events(as_arrow=True).column_names)
    return found


@settings(max_examples=4, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(drawn=st.lists(st.dictionaries(KEYS, VALUES, max_size=4), min_size=1, max_size=20))
def test_events_lists_default_fields_in_an_order_of_the_data_alone(
    drawn: list[dict[str, object]],
) -> None:
    lines = _lines(drawn)
    orders = {tuple(c) for read in READS for c in _columns(lines, *read)}
    assert len(orders) == 1
    (order,) = orders
    attributes = list(order[len(STANDARD_NAMES) :])
    assert list(order[: len(STANDARD_NAMES)]) == LEADING + STANDARD_REST
    assert attributes == sorted(attributes)


def test_the_cuts_and_the_days_once_gave_the_stored_order() -> None:
    """Keys met in this order across three days: the files' columns were ``m.b, m.a,
    alpha...`` read whole, ``m.b, alpha, n2, n10...`` read in 512-byte chunks."""
    drawn: list[dict[str, object]] = [
        {"m.b": 1, "m.a": 1, "alpha": 1},
        {"alpha": 2, "n2": 2, "n10": 2},
        {"n1": 3, "_x": 3, "m.a": 3},
        {"zeta": 4, "Beta": 4},
    ] * 3
    expected = [*LEADING, *STANDARD_REST, "Beta", "_x", "alpha", "m.a", "m.b", "n1", "n10"]
    expected += ["n2", "zeta"]
    for read in READS:
        assert _columns(_lines(drawn), *read) == [expected] * 3


def _invoke(*args: str, mode: str = "direct") -> str:
    result = CliRunner().invoke(cli, list(args), env={MODE_ENV: mode})
    assert result.exit_code == 0, result.output
    return result.stdout


@pytest.mark.parametrize("fmt", ["json", "ndjson", "csv", "markdown"])
def test_every_format_shows_the_same_order_on_a_file_and_on_its_store(
    tmp_path: Path, fmt: str
) -> None:
    """Two days, the later one first in the file, its keys unsorted; then a second
    ingest bringing a key that sorts first."""
    first = tmp_path / "first.ndjson"
    first.write_text(
        '{"type": "a", "timestamp": "2026-11-04T10:00:00Z", "zeta": 1, "service": "s"}\n'
        '{"type": "b", "timestamp": "2026-11-03T10:00:00Z", "mid": true, "beta": "x"}\n',
        encoding="utf-8",
    )
    second = tmp_path / "second.ndjson"
    second.write_text(
        '{"type": "c", "timestamp": "2026-11-02T10:00:00Z", "alpha": 2.5}\n', encoding="utf-8"
    )
    store = str(tmp_path / "store")
    for path in (first, second):
        _invoke("ingest", "--store", store, str(path), "--format", "json")
    on_store = _invoke("events", "--store", store, "--format", fmt)
    files = [str(first), str(second)]
    assert _invoke("events", *files, "--format", fmt) == on_store
    assert _invoke("events", *files, "--format", fmt, mode="store") == on_store
    if fmt == "csv":
        header = next(csv.reader(io.StringIO(on_store)))
    elif fmt == "markdown":
        header = [cell.strip() for cell in on_store.splitlines()[0].strip("|").split("|")]
    else:
        rows = json.loads(on_store) if fmt == "json" else [json.loads(on_store.splitlines()[0])]
        header = list(rows[0])
    assert header[:4] == LEADING
    assert [name for name in header if name not in STANDARD_NAMES] == [
        "alpha",
        "beta",
        "mid",
        "zeta",
    ]
