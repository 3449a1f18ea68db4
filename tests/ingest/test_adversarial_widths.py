"""Blocks whose records bring keys of their own are found before pyarrow parses them
(``mfq.ingest.keycount``): no block is parsed into more columns than the field budget,
whatever the keys do, and the stored data are what reading record by record stores."""

from __future__ import annotations

import dataclasses
import json
import random
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.json as pj
import pytest

from mfq.ingest import fastpath, keycount, pipeline, validate
from mfq.ingest.batch import RejectedRecord
from mfq.ingest.columns import FieldBudget
from mfq.ingest.containers import RecordChunk, _lines_chunk
from mfq.ingest.fastpath import FastPathState, _held_leaves, _keys_too_many, _rows
from mfq.ingest.keycount import KnownKeys, more_keys_than, sampled_estimate
from mfq.ingest.options import NormalizeOptions
from mfq.settings import DEFAULT_SETTINGS
from tests.ingest.test_field_budget import record_by_record, stored
from tests.realdata import real_export

#: Chunks (and so blocks) of 1 MiB: past the probe block, read through the windows.
MIB = dataclasses.replace(DEFAULT_SETTINGS, chunk_bytes=1024 * 1024)


def _base(i: int) -> dict[str, object]:
    return {"id": f"e{i}", "type": ("login", "push")[i % 2], "timestamp": 1_700_000_000 + i}


def own_beside_shared(i: int) -> dict[str, object]:
    """7 keys of its own beside 170 shared (the reviewer's file: past the probe block,
    one 4 MiB block parsed into 22,000 columns)."""
    shared = {f"s{k}": k + i % 3 for k in range(170)}
    return {**_base(i), **shared, **{f"o{i}_{k}": k for k in range(7)}}


def one_own_beside_shared(i: int) -> dict[str, object]:
    return {**_base(i), **{f"s{k}": f"v{k}" for k in range(80)}, f"own{i}": i}


def own_after_the_probe(i: int) -> dict[str, object]:
    """Small records sharing their keys, then (past the first chunk) one key of their own."""
    record = {**_base(i), **{f"s{k}": k for k in range(12)}}
    return {**record, f"x{i}": 1} if i >= 12_000 else record


def own_nested(i: int) -> dict[str, object]:
    return {**_base(i), "host": {"name": "h"}, "attrs": {f"a{i}_{k}": k for k in range(5)}}


def own_in_lists(i: int) -> dict[str, object]:
    return {**_base(i), "items": [{f"k{i}_{j}": j, "name": "n"} for j in range(4)]}


def own_under_parents(i: int) -> dict[str, object]:
    """Past the probe, a name of its own under each of 12 parents beside 40 shared keys:
    12 columns of its own, one name (the reviewer's file, counted by name, was parsed
    whole: 4 GB)."""
    record = {**_base(i), **{f"s{k}": k for k in range(40)}}
    if i < 1_000:
        return record
    return {**record, **{f"p{p}": {f"o{i}": 1} for p in range(12)}}


SHAPES: dict[str, tuple[Callable[[int], dict[str, object]], int]] = {
    "own_beside_shared": (own_beside_shared, 1_500),
    "one_own_beside_shared": (one_own_beside_shared, 3_000),
    "own_after_the_probe": (own_after_the_probe, 24_000),
    "own_nested": (own_nested, 16_000),
    "own_in_lists": (own_in_lists, 12_000),
    "own_under_parents": (own_under_parents, 4_500),
}


def _leaves(data_type: pa.DataType) -> int:
    """Leaf columns of a parsed type (a struct's children, a list's element's)."""
    if pa.types.is_struct(data_type):
        return sum(_leaves(f.type) for f in data_type)
    if pa.types.is_list(data_type):
        return _leaves(data_type.value_type)
    return 1


@pytest.mark.parametrize("shape", sorted(SHAPES))
def test_adversarial_widths_parse_within_the_budget_and_store_as_record_by_record(
    shape: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    make, count = SHAPES[shape]
    path = tmp_path / "wide.ndjson"
    with path.open("w") as out:
        for i in range(count):
            out.write(json.dumps(make(i)) + "\n")
    assert path.stat().st_size > 2 * MIB.chunk_bytes  # (blocks past the probe, sampled)
    held: list[int] = []  # per parse, the columns holding a value
    widths: list[int] = []  # and all of them (the types learned from the first parse too)
    read_block = fastpath.read_block

    def counted(buffer: pa.Buffer, options: pj.ParseOptions) -> pa.Table:
        table = read_block(buffer, options)
        held.append(_held_leaves(table.columns))
        widths.append(sum(_leaves(f.type) for f in table.schema))
        return table

    monkeypatch.setattr(fastpath, "read_block", counted)
    vectorised = stored(path, MIB)
    # (The lists' probe block already holds 1,600 keys: no block of it is parsed.)
    assert max(held, default=0) <= MIB.max_fields
    assert max(widths, default=0) <= MIB.max_fields + (widths or [0])[0]
    assert vectorised == record_by_record(path, MIB)


def _text(records: list[dict[str, object]], **dumps: object) -> bytes:
    return "".join(json.dumps(r, **dumps) + "\n" for r in records).encode()  # type: ignore[arg-type]


def _exact(text: bytes) -> int:
    """The distinct keys counted in the whole text (more than them: True)."""
    for limit in range(100):
        if not more_keys_than(text, 0, len(text), limit, KnownKeys()):
            return limit
    raise AssertionError


def test_keys_are_counted_by_path_in_a_block_read_whole() -> None:
    records: list[dict[str, object]] = [
        {"id": 1, "a": {"b": 1, "c": [{"d": 1}, {"e": ":"}]}, "f": 'say "x": y'},
        {"id": 2, "a": {"b": 2}, "g": "\\", "h\\": '\\":'},
    ]
    for separators in ((",", ":"), (", ", ": "), (" , ", " : "), (",", "   :"), (",", " \t\r :")):
        text = _text(records, separators=separators)
        assert _exact(text) == 9  # id a a.b a.c a.c.d a.c.e f g h\\ (an escaped backslash)
    # Records are one a line: a pretty-printed one's lines are each read afresh, its keys
    # by name (id a b c d e f).
    assert _exact(json.dumps(records[0], indent=2).encode()) == 7
    # A quote escaped inside keys: the key starts at the unescaped quote before it.
    assert _exact(b'{"x\\"a": 1, "y\\"a": 2, "z": 3}\n{"z": 4, "x\\"a": 5}\n') == 3


def _paths(records: list[dict[str, object]]) -> int:
    return len(set(keycount.key_paths(np.frombuffer(_text(records), dtype=np.uint8)).tolist()))


def test_a_name_under_many_parents_counts_once_a_parent() -> None:
    """pyarrow makes a column per path: a name under 12 parents is 12 columns (counted by
    name, 16,000 such records were estimated under the budget, parsed whole: 4 GB)."""
    assert _paths([{"p0": {"o": 1}, "p1": {"o": 1}}]) == 4  # p0 p0.o p1 p1.o
    assert _paths([{"a": 1, "b": {"a": 1, "b": {"a": {"a": 1}}}}]) == 6
    # The same path in other records, and at other places in a record, counts once.
    assert _paths([{"a": {"b": 1}, "c": 2}, {"c": 3, "a": {"b": 4}}]) == 3
    # Parents changing name from a record to the next.
    assert _paths([{f"c{i}": {"k0": 1, "k1": 2}} for i in range(10)]) == 30
    # Depth 3: the same key under the same parent name, under other grandparents.
    assert _paths([{f"g{i}": {"p": {"x": 1}}} for i in range(10)]) == 30
    # Through a list, an object's keys are the list's key's (one list of structs).
    assert _paths([{"items": [{"a": 1}, {"a": 2, "b": {"a": 3}}, 4, [5]]}]) == 4
    assert _paths([{"l": [[{"a": 1}], [{"b": {"c": 1}}]], "m": [{"a": 1}]}]) == 6
    assert _paths([{"l": [{"a": 1}]}, {"l": {"a": 1}}]) == 2  # (l, l.a: one of them)


def test_braces_and_quotes_inside_texts_open_no_parent() -> None:
    texts = [
        # Braces, brackets and escaped quotes in texts; a text ending in a backslash.
        b'{"t": "}}]{\\"x\\": [", "o": 1, "p": {"u": "]}\\\\", "o": 2}}\n',
        # Blanks around every bracket, brace, comma and colon.
        b'{ "t" : " } ] { " , "o"\t: 1 ,"p" :{ "u" : "x" ,  "o" : 2 } }\n',
        # A key at a record's end, cut (a block ending inside a record).
        b'{"t": "}", "o": 1, "p": {"u": "{", "o": 2}}\n{"p": {"u": "}',
    ]
    for text in texts:
        paths = keycount.key_paths(np.frombuffer(text, dtype=np.uint8))
        assert len(set(paths.tolist())) == 5, text  # t o p p.u p.o
    # A record left open (an odd quote) leaves the next line's keys as they are.
    broken = b'{"a": "x\n{"a": 1, "b": {"c": 2}}\n'
    assert len(set(keycount.key_paths(np.frombuffer(broken, dtype=np.uint8)).tolist())) == 3


def _long(i: int, own: int) -> dict[str, object]:
    """A record of 6 KB, its keys past a long text (further than ``_REACH`` into it)."""
    keys = {f"s{k}": k for k in range(60)} | {f"o{i}_{k}": k for k in range(own)}
    return {**_base(i), "pad": "x" * 6_000, "at": {"p": keys}}


def test_windows_far_into_long_records_read_their_keys_by_name() -> None:
    """A window whose record starts further back than ``_REACH`` is read by name (not
    from its record's start: GitHub's events read 734 KB of 4 MiB so)."""
    for own, low, high in ((0, 0, 200), (7, 2 * 1000, 10**9)):
        text = _text([_long(i, own) for i in range(900)])
        probe = len(_text([_long(i, own) for i in range(20)]))
        assert len(text) - probe > 5 * 1024 * 1024
        known = KnownKeys()
        assert not more_keys_than(text, 0, probe, 1000, known)
        estimates = [
            sampled_estimate(text, probe, len(text), known, np.random.default_rng(seed))
            for seed in range(3)
        ]
        assert low <= min(estimates) and max(estimates) < high, estimates


def test_key_paths_are_the_same_in_every_process() -> None:
    """Names are hashed with BLAKE2b, not Python's ``hash`` (salted per process)."""
    code = (
        "import numpy as np\n"
        "from mfq.ingest.keycount import key_paths\n"
        'text = b\'{"a": {"b": [{"c": 1}]}, "d": 2}\'\n'
        "print(key_paths(np.frombuffer(text, dtype=np.uint8)).tolist())\n"
    )
    runs = {
        subprocess.run([sys.executable, "-c", code], check=True, capture_output=True).stdout
        for _ in range(3)
    }
    assert len(runs) == 1
    assert len(set(eval(runs.pop()))) == 4  # a a.b a.b.c d


def test_keys_of_their_own_under_parents_are_too_wide_past_the_probe() -> None:
    """The probe block's paths known, a later block of records each holding 12 parents
    with a key of its own is past the budget: by name, 4 MiB of them read 380 keys, under
    the 500 that ask for a whole count, and were parsed whole."""
    probe = len(_text([own_under_parents(i) for i in range(150)]))  # (narrow records)
    text = _text([own_under_parents(i) for i in [*range(150), *range(1_000, 7_700)]])
    assert len(text) - probe > 4 * 1024 * 1024
    known = KnownKeys()
    assert not more_keys_than(text, 0, probe, 1000, known)
    assert more_keys_than(text, probe, len(text), 1000, known)
    assert sampled_estimate(text, probe, len(text), known) > 4 * 1000
    assert len(known.paths) == 2 * 43  # (id type timestamp s0..s39: paths and names)


def _rare(i: int) -> dict[str, object]:
    if i < 300:
        return {**_base(i), f"r{i}": 1}
    return {**_base(i), f"r{i // 50 % 300}": 1} if i % 50 == 0 else _base(i)


def test_sampled_estimates_tell_shared_keys_from_keys_of_their_own() -> None:
    shared = _text([{**_base(i), **{f"s{k}": k for k in range(300)}} for i in range(2_000)])
    own = _text([own_beside_shared(i) for i in range(2_000)])
    one = _text([one_own_beside_shared(i) for i in range(4_000)])
    for text in (shared, own, one):
        assert len(text) > keycount._WHOLE_BYTES * 4
    for seed in range(5):
        rng = np.random.default_rng(seed)
        known = KnownKeys()
        assert 300 <= sampled_estimate(shared, 0, len(shared), known, rng) < 330
        assert sampled_estimate(own, 0, len(own), known, rng) > 4 * 2_000
        assert sampled_estimate(one, 0, len(one), known, rng) > 2_000
    # Keys met in a block counted whole stand for one key each in a later block's windows:
    # 300 rare keys, all in the first 300 records, then each in 2-3 of the 40,000.
    rare = _text([_rare(i) for i in range(40_000)])
    first = len(_text([_rare(i) for i in range(300)]))
    assert len(rare) > 8 * keycount._WHOLE_BYTES
    unknown = [
        sampled_estimate(rare, first, len(rare), KnownKeys(), np.random.default_rng(seed))
        for seed in range(5)
    ]
    assert min(unknown) > 200  # (met once in the windows: taken as new)
    known = KnownKeys()
    assert not more_keys_than(rare, 0, first, 1000, known)
    assert len(known.paths) == 2 * 303  # (paths and names)
    for seed in range(5):
        assert sampled_estimate(rare, first, len(rare), known, np.random.default_rng(seed)) < 100


def test_keys_followed_by_any_run_of_blanks_are_counted() -> None:
    """``"x1"   : 1`` is valid JSON: three blanks or more before the colon hid every key
    from the count (a file of keys of their own so written was parsed whole: 924 MB)."""
    own = [own_beside_shared(i) for i in range(2_000)]
    spaced = _text(own, separators=(",", "     :"))
    assert sampled_estimate(spaced, 0, len(spaced), KnownKeys(), np.random.default_rng(0)) > 8_000
    # Quotes but no key (a probe block of ``[""``: found by the hostile-input tests).
    assert _exact(b'[""\n') == 0
    # Blanks to the very end of the text, and a run longer than any step count.
    assert _exact(b'{"a": 1, "b"' + b" " * 100_000 + b': 2}\n{"c"   ') == 2


def test_a_block_with_more_keys_than_the_budget_is_too_wide_before_its_parse() -> None:
    text = _text([own_beside_shared(i) for i in range(200)])  # 170 + 3 + 1,400 keys
    rows = _rows(_lines_chunk(text.rstrip(b"\n"), 1)[0])
    assert _keys_too_many(rows, 0, 200, FastPathState(budget=FieldBudget(1000)))
    assert not _keys_too_many(rows, 0, 200, FastPathState(budget=FieldBudget(2000)))
    assert not _keys_too_many(rows, 0, 200, FastPathState(budget=None))
    assert not _keys_too_many(rows, 0, 100, FastPathState(budget=FieldBudget(1000)))


def test_counting_keys_imports_no_pandas_nor_masked_arrays() -> None:
    """``pa.array`` of a numpy array (or a list) and ``Array.to_numpy`` import pandas:
    seconds at the first block of a process (4.3 s under load), on every ingest; and
    ``np.unique`` imports ``numpy.ma`` (the first count by path did, failing the
    import-cost tests)."""
    code = (
        "import sys\n"
        "from mfq.ingest.keycount import KnownKeys, more_keys_than\n"
        "text = b''.join(b'{\"id\": %d, \"k%d\": 1}\\n' % (i, i % 50) for i in range(40000))\n"
        "known = KnownKeys()\n"
        "more_keys_than(text, 0, 1000, 100, known)\n"
        "more_keys_than(b'', 0, 0, 100, known)\n"
        "more_keys_than(text, 0, len(text), 100, known)\n"
        "assert 'pandas' not in sys.modules\n"
        "assert 'numpy.ma' not in sys.modules, 'np.unique'\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


def test_the_same_block_always_takes_the_same_path(tmp_path: Path) -> None:
    """The windows' places come from the block's bytes: its estimate (and so whether it
    is counted whole, or found too wide) is the same at every read, in any process."""
    own = _text([own_beside_shared(i) for i in range(2_000)])
    estimates = {sampled_estimate(own, 0, len(own), KnownKeys()) for _ in range(20)}
    assert len(estimates) == 1
    code = (
        "import sys, json\n"
        "from mfq.ingest.keycount import KnownKeys, sampled_estimate\n"
        "text = open(sys.argv[1], 'rb').read()\n"
        "print(sampled_estimate(text, 0, len(text), KnownKeys()))\n"
    )
    path = tmp_path / "own.ndjson"
    path.write_bytes(own)
    runs = {
        subprocess.run(
            [sys.executable, "-c", code, str(path)], check=True, capture_output=True
        ).stdout
        for _ in range(3)
    }
    assert runs == {f"{estimates.pop()}\n".encode()}
    # Another block (the same bytes moved by one) places its windows elsewhere.
    assert keycount.block_seed(own, 0, len(own)) != keycount.block_seed(own, 1, len(own))


def test_known_keys_are_the_probe_blocks_alone() -> None:
    """A later block counted whole (by whichever worker comes first) adds no known keys:
    another block's estimate, running beside it, would depend on the threads' timing."""
    rare = _text([_rare(i) for i in range(40_000)])
    first = len(_text([_rare(i) for i in range(300)]))
    known = KnownKeys()
    assert not more_keys_than(rare, 0, 1000, 1000, known)  # (the probe: a few keys)
    before = known.paths
    assert not more_keys_than(rare, 0, first, 1000, known)  # (a later block, counted whole)
    assert known.paths is before
    settled = KnownKeys()
    settled.settle()  # (the probe was too wide: nothing known, ever)
    assert not more_keys_than(rare, 0, first, 1000, settled)
    assert len(settled.paths) == 0


@pytest.mark.parametrize("shape", ["own_beside_shared", "own_after_the_probe"])
def test_a_source_found_too_wide_is_read_on_in_small_pieces(
    shape: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Past the block found too wide, the record path takes pieces of about
    ``WIDE_CHUNK_BYTES`` (it holds a piece's records as Python objects), not the 4 MiB
    blocks and 16 MiB chunks of the source's reading; the stored data are the same."""
    make, count = SHAPES[shape]
    path = tmp_path / "wide.ndjson"
    with path.open("w") as out:
        for i in range(count * 4):
            out.write(json.dumps(make(i)) + "\n")
    assert path.stat().st_size > 4 * pipeline.WIDE_CHUNK_BYTES
    sizes: list[int] = []
    normalise = validate.normalise_records

    def seen(records: list[bytes], numbers: list[int], options: NormalizeOptions) -> object:
        sizes.append(sum(len(r) + 1 for r in records))
        return normalise(records, numbers, options)

    monkeypatch.setattr(validate, "normalise_records", seen)
    monkeypatch.setattr(fastpath, "normalise_records", seen)
    longest = max(len(line) for line in path.read_bytes().splitlines()) + 1
    settings = dataclasses.replace(DEFAULT_SETTINGS, chunk_bytes=4 * pipeline.WIDE_CHUNK_BYTES)
    result = stored(path, settings)
    assert sum(sizes) > 3 * pipeline.WIDE_CHUNK_BYTES  # (most of the source)
    assert max(sizes) <= pipeline.WIDE_CHUNK_BYTES + longest
    assert result == record_by_record(path, settings)


def test_pieces_cut_between_records_and_keep_each_reject_in_order() -> None:
    text = b"\n".join(b'{"id": %d, "pad": "%s"}' % (i, b"x" * 40) for i in range(100))
    numbers = np.arange(1, 201, 2, dtype=np.int64)  # (records on odd lines)
    rejects = [RejectedRecord(n, "bad", "", "") for n in (2, 100, 150, 201)]
    chunk = RecordChunk(text, numbers, rejects=rejects)
    pieces = chunk.pieces(1000)
    assert len(pieces) > 3
    assert all(len(p.data) <= 1000 + 70 for p in pieces)
    assert b"\n".join(p.data for p in pieces) == text
    assert np.concatenate([p.numbers for p in pieces]).tolist() == numbers.tolist()
    assert [r.number for p in pieces for r in p.rejects] == [2, 100, 150, 201]
    for p in pieces:
        assert all(p.numbers[0] < r.number for r in p.rejects if r.number > 2)
    head, rest = chunk.head(50), chunk.pieces(1000, 50)
    assert head.records() + [r for p in rest for r in p.records()] == chunk.records()
    assert [r.number for r in head.rejects] == [2, 100]
    assert [r.number for p in rest for r in p.rejects] == [150, 201]


def _block_after_probe(text: bytes) -> tuple[int, KnownKeys]:
    """The end of ``text``'s probe block (its first 64 KiB of records), counted whole
    (its paths known), as ``fastpath`` counts a source's first block."""
    probe = text.index(b"\n", fastpath.PROBE_BLOCK_BYTES) + 1
    known = KnownKeys()
    assert not more_keys_than(text, 0, probe, 1000, known)
    return probe, known


def test_shuffled_github_events_are_not_too_wide() -> None:
    """GitHub's events drawn at random from the real folder's 50 (553 paths): a 4 MiB
    block's windows meet a kind of event the probe did not once, its ~300 paths held by
    that record alone; taken each for 32 (the first count by path), the blocks read
    976-2,343 paths and the source went record by record (ingest's CPU twice)."""
    (export,) = real_export("gharchive")
    lines = export.read_bytes().splitlines()
    for seed in range(3):
        rng = np.random.default_rng(seed)
        text = b"".join(lines[i] + b"\n" for i in rng.integers(0, len(lines), 1_100))
        probe, known = _block_after_probe(text)
        assert len(text) - probe > 4 * 1024 * 1024
        # (under half the budget: not even counted whole)
        assert sampled_estimate(text, probe, len(text), known) * 2 <= 1000
        assert not more_keys_than(text, probe, len(text), 1000, known)


def own_repeated_in_a_list(i: int) -> dict[str, object]:
    """Past the probe, a key of its own met twice in a list of objects."""
    record = {**_base(i), **{f"s{k}": k for k in range(40)}}
    return record if i < 1_000 else {**record, "l": [{f"o{i}": 1}, {f"o{i}": 2}]}


def test_keys_of_their_own_repeated_in_a_list_are_too_wide_past_the_probe() -> None:
    """Each path met twice in its record was taken as shared (met twice in the windows):
    4 MiB of them read 337-569 paths for 7,341-9,902, and were parsed whole (3.5 GB for
    40,000 records). The windows' paths are tallied by record."""
    text = _text([own_repeated_in_a_list(i) for i in range(9_000)])
    probe, known = _block_after_probe(text)
    assert len(text) - probe > 4 * 1024 * 1024
    assert sampled_estimate(text, probe, len(text), known) > 4 * 1000
    assert more_keys_than(text, probe, len(text), 1000, known)


def test_a_rare_record_bringing_many_keys_of_its_own_is_counted_whole() -> None:
    """One small record in 1,000 bringing 300 keys of its own: a 4 MiB block's windows
    meet one of them or none (the records bringing them too few to extrapolate), yet its
    51,000 rows x 15,000 columns parsed into 6 GB. Where the paths could be that many
    for so many rows, the block is counted whole."""
    records = [
        {**_base(i), "a": 1, **({f"r{i}_{k}": k for k in range(300)} if i % 1000 == 999 else {})}
        for i in range(60_000)
    ]
    text = _text(records)
    probe, known = _block_after_probe(text)
    assert len(text) - probe > 4 * 1024 * 1024
    assert more_keys_than(text, probe, len(text), 1000, known)


def test_a_list_of_structs_fields_count_toward_the_parse_width() -> None:
    """A list is stored as one column, but pyarrow parses each field of its objects into
    one: records each bringing a key of their own inside a list are too wide after the
    parse, though their stored columns are few."""
    own = pj.read_json(
        pa.BufferReader(_text([own_repeated_in_a_list(i) for i in range(1_000, 2_200)]))
    )
    assert _held_leaves(own.columns) == 44  # (id type timestamp s0..s39 l)
    assert _held_leaves(own.columns, through_lists=True) == 43 + 1_200
    assert fastpath._too_wide(own, FastPathState(budget=FieldBudget(1000)))
    # Lists of objects sharing their keys are not (nor lists of numbers, nor empty ones).
    shared = [
        {**_base(i), "l": [{"a": 1, "b": {"c": 2}}, {"a": 3}], "m": [1], "n": []}
        for i in range(300)
    ]
    table = pj.read_json(pa.BufferReader(_text(shared)))
    assert _held_leaves(table.columns, through_lists=True) == 3 + 2 + 1 + 1
    assert not fastpath._too_wide(table, FastPathState(budget=FieldBudget(1000)))


_PARENTS = [f"p{k}" for k in range(12)]


def _narrow_with_parents(i: int) -> dict[str, object]:
    """40 shared keys and twelve parents, each opening with the same first child."""
    return {
        **_base(i),
        **{f"s{k}": k for k in range(40)},
        **{parent: {"f": i, "g": 1} for parent in _PARENTS},
    }


def known_parents_nested_anew(i: int) -> dict[str, object]:
    """Past a narrow probe, eight of its parents nested in a random order, each opening
    with its known first child: known names, known parents, new paths."""
    if i < 1_000:
        return _narrow_with_parents(i)
    value: dict[str, object] = {"f": i}
    for parent in reversed(random.Random(i).sample(_PARENTS, 8)):
        value = {"f": i, parent: value}
    return {**_base(i), **value}


def known_parents_with_a_name_of_their_own(i: int) -> dict[str, object]:
    """Past a narrow probe, each known parent opens with its known first child, then a
    name shared by forty neighbouring records."""
    if i < 1_000:
        return _narrow_with_parents(i)
    return {**_base(i), **{parent: {"f": i, f"o{i // 40}": 1} for parent in _PARENTS}}


@pytest.mark.parametrize(
    ("make", "records"),
    [(known_parents_nested_anew, 22_000), (known_parents_with_a_name_of_their_own, 12_000)],
)
def test_known_parents_holding_new_paths_are_too_wide_past_the_probe(
    make: Callable[[int], dict[str, object]], records: int
) -> None:
    """Found in review of a gate that judged such blocks by their names (every name and
    parent known, each parent's first child the probe's): their blocks hold 2,600 to
    140,000 paths, and parsed whole they peaked at 1.1-1.7 GB where the count by path
    keeps them under 600 MiB. The paths, not the names, decide."""
    text = _text([make(i) for i in range(records)])
    probe, known = _block_after_probe(text)
    assert len(text) - probe > 4 * 1024 * 1024
    assert more_keys_than(text, probe, len(text), 1000, known)


def _rare_wide(i: int, every: int, own: int, nested: bool) -> dict[str, object]:
    """A small record; one in ``every`` brings ``own`` keys of its own (under a parent
    with ``nested``)."""
    record: dict[str, object] = {**_base(i), "a": 1}
    if i % every != every - 1:
        return record
    keys = {f"r{i}_{k}": k for k in range(own)}
    return {**record, "p": keys} if nested else {**record, **keys}


def _blocks_of_a_mib(text: bytes, start: int) -> list[tuple[int, int]]:
    """``text`` from ``start`` cut at line ends into blocks of about 1 MiB."""
    blocks = []
    while start < len(text):
        end = text.find(b"\n", min(start + 1024 * 1024, len(text) - 1))
        end = len(text) if end < 0 else end
        blocks.append((start, end))
        start = end + 1
    return blocks


@pytest.mark.parametrize(("every", "nested"), [(3000, False), (1000, True)])
def test_rare_records_bringing_many_keys_of_their_own_are_counted_whatever_the_windows_meet(
    every: int, nested: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    """One small record in 1,000-3,000 bringing 300 keys of its own: a 1 MiB block of
    14,700 rows whose windows meet none of its wide records estimated its keys at a few
    (main, ``rare300``: parsed into 4,504 columns, 539 MB). A block of many records has
    its records longer than twice its median read whole: the decision is the exact one,
    and stays so where the windows are made to meet nothing at all."""
    text = _text([_rare_wide(i, every, 300, nested) for i in range(60_000)])
    probe, known = _block_after_probe(text)
    blocks = _blocks_of_a_mib(text, probe)
    exact = [
        len(keycount._distinct(keycount.key_paths(keycount._view(text, a, b)))) > 1000
        for a, b in blocks
    ]
    assert exact.count(True) >= 3  # (every whole MiB: 4-15 wide records, 300 keys each)
    assert [more_keys_than(text, a, b, 1000, known) for a, b in blocks] == exact
    monkeypatch.setattr(keycount, "_estimate", lambda *_: (0, 0, False))  # (met nothing)
    assert [more_keys_than(text, a, b, 1000, known) for a, b in blocks] == exact


def test_long_records_are_read_whole_only_in_blocks_of_many_records(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The records past twice the median are read whole only where the block holds more
    than ``_MANY_ROWS`` records (a record the windows miss costs its keys times the
    rows) and they are rare; where they hold more than ``_RARE_SHARE`` of the block's
    bytes, the windows decide as before (they meet common long records)."""
    read: list[int] = []
    long_records = keycount._long_records

    def counted(*args: object) -> np.ndarray | None:
        found = long_records(*args)  # type: ignore[arg-type]
        read.append(-1 if found is None else len(found))
        return found

    monkeypatch.setattr(keycount, "_long_records", counted)
    monkeypatch.setattr(keycount, "_estimate", lambda *_: (0, 0, False))
    few = _text([_rare_wide(i, 100, 300, False) for i in range(3_000)])  # (300 KB)
    assert len(few) > keycount._WHOLE_BYTES and few.count(b"\n") <= keycount._MANY_ROWS
    more_keys_than(few, 0, len(few), 1000, KnownKeys())  # (left to the windows)
    assert read == []
    many = _text([_rare_wide(i, 1000, 300, False) for i in range(20_000)])
    assert more_keys_than(many, 0, len(many), 1000, KnownKeys())
    assert read == [6004]  # (20 long records: 300 keys of their own each, 4 shared)
    # Most of the bytes in long records: not read (the windows decide; here, nothing).
    halves = _text([{"a": 1}] * 5_000 + [{"b": "x" * 1000}] * 4_999)
    assert not more_keys_than(halves, 0, len(halves), 1000, KnownKeys())
    assert read == [6004, -1]
    # A tenth of the bytes or less in long records: read (250 of 30,250: 9% of them).
    tenth = _text([{"a": 1}] * 30_000 + [{"b": "x" * 100}] * 250)
    assert len(tenth) > keycount._WHOLE_BYTES
    more_keys_than(tenth, 0, len(tenth), 1000, KnownKeys())
    assert read == [6004, -1, 1]
