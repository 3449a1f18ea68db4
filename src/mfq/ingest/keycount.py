"""Whether a block of JSON text holds more distinct key paths than a budget, told from its
bytes before pyarrow parses it.

pyarrow's JSON reader makes a column for every distinct key path of a block (memory and
time rows x keys, and some 20 KB a column): a 4 MiB block of records each bringing keys
of their own parses into tens of thousands of columns (half a GB) before any test on the
parsed table can send it record by record. Keys are counted by path, as pyarrow makes
its columns: a name under twelve parents is twelve columns.

A key is a string followed by a colon (after blanks). Strings are told by their quotes:
the unescaped quotes of a record, from its start, open and close strings in turn. A
key's path is the path of the object holding it and its name; an object's or a list's
path is that of the key whose value it is; an object or a list inside a list takes the
list's (pyarrow makes one list of structs, whose fields are columns once for the
list). Brackets and braces outside strings open and close them. Each path is a 64-bit
number: the sum, over the key and the keys holding it, of a hash of each name and its
depth; so a block's paths are one cumulative sum over its brackets (an opening one adds
the hash of the key it is the value of, its closing one takes it away), numpy over the
block's bytes.

Counting every key of a 4 MiB block costs about 100 ms, more than its parse; windows
spread over it (one byte in ``_SAMPLED``, 2 KiB each, placed by a generator seeded from
the block's own bytes) cost 4-7 ms under load (by name, the first version: 1.5-2.6). A
window's keys need its record's start to be placed (which strings, which parents): each
window is read from its record's start (the line's: records are one a line), its keys
alone counted; a window whose record starts further back than ``_REACH`` is read by name
(a quote followed by a colon; the name a path of its own); where the windows would read
most of the block, the block is counted whole instead. The windows' paths are tallied
by record (a path met twice in one record, as a key of its own in each object of a
list, is met in one record): a path not met in the source before and held by one record
alone in the windows stands for ``_SAMPLED`` paths (a key of its own is in the windows
once in ``_SAMPLED``), scaled by how surely records bring such paths (see
``_extrapolated``: one record of a rare kind is no evidence that the others bring their
own); a path known, or held by more records, for one. Where that estimate is past half
the budget (and not past four budgets), or under half but so many rows could hold as
many paths as to cost the parse much memory (``_CELLS``), the whole block is counted:
past the budget, the block is too wide. So records sharing their keys (GitHub's events,
in order or shuffled) cost the windows alone, and records each bringing keys of their
own are counted before they are parsed.

The windows weigh only the records they meet. In a block of many records (past
``_MANY_ROWS``), a rare record bringing many keys of its own that no window meets
would cost its keys times every row of the block (one in 1,000 bringing 300: a 1 MiB
block parsed into 4,504 columns, 539 MB); so there the records longer than
``_LONGER`` times the block's median are read whole too (their lengths are known: the
rows' bounds), their paths counted exactly and added to the estimate, whatever the
windows met. Records of about one length (the demo's, second and wide shapes: none past
twice the median) cost the median alone.

The decision is the block's bytes' alone (and the source's probe block's, whose paths
and names are the known ones): the same block always takes the same path, whatever the worker
threads' timing. The windows' places come from the block's bytes, the names' hashes
from their bytes (BLAKE2b, not Python's salted ``hash``), and the known paths are those
of the probe block, counted alone before any other block of the source is with the
workers; paths of later blocks counted whole are not added (another worker may be
estimating a block before it at the same time).

Only used to decide how to parse: either way the stored data are the same (the record
path and the vectorised path agree). A name is its text as written: a name written with
escapes (``"\\u0061"``) and without (``"a"``) counts twice, never fewer.
"""

from __future__ import annotations

import math
import zlib
from hashlib import blake2b

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from mfq.model.arrays import to_arrow

#: Blocks of at most these bytes are counted whole (the first, probe block of a source).
_WHOLE_BYTES = 256 * 1024
#: One byte in this many is read from a bigger block, in windows of ``_WINDOW`` bytes
#: placed at random in each stretch of ``_WINDOW * _SAMPLED`` bytes.
_SAMPLED = 32
_WINDOW = 2048
#: A window whose record starts further back than this is read by name (its record's
#: start unread: GitHub's events, 4 KB a record, read 734 KB of 4 MiB, 14 ms, by path).
_REACH = 4096
#: Windows read from their records' starts covering more than this share of a block:
#: the block is counted whole (as cheap, and exact).
_MOST = 0.5
#: An estimate past this many budgets is taken as it is (records bringing keys of their
#: own: 15,000-18,000 for 4 MiB of the reviewer's file), without counting every key.
_CLEARLY_PAST = 4
#: An estimate under half the budget whose most (see ``_extrapolated``) passes it is
#: taken as it is where the most times the block's rows stays under these many cells:
#: pyarrow's parse costs about 8 bytes a cell (rows x columns, nulls included), and 1 in
#: 1,000 small records bringing 300 keys of its own (51,000 rows, 15,000 columns a
#: 4 MiB block, read 300 from the windows) parsed into 6 GB. GitHub's events, 1,000
#: rows a 4 MiB block, read at most ~10,000: 10M cells.
_CELLS = 32_000_000
#: A block of more records than this has its long ones (past ``_LONGER`` times its
#: median record) read whole, whatever its windows meet: the windows read one stretch
#: of ``_WINDOW * _SAMPLED`` bytes in each, so a record shorter than two stretches may
#: go unread, and a record of one stretch (64 KiB) holds some 7,000 keys of its own
#: (9 bytes each, ``"r1_23":1,``): over ``_CELLS`` for the rows of such a block. One
#: small record in 1,000 bringing 300 keys of its own left 15 records of 3.6 KB unread
#: in a 1 MiB block of 14,735 rows, parsed into 4,504 columns (539 MB).
_MANY_ROWS = 4096
#: A record past this many times its block's median length is read whole in blocks of
#: ``_MANY_ROWS``: one up to it brings at most about ``_LONGER - 1`` times a median
#: record's bytes of keys of its own (65-byte records: 7 keys), too few to pass the
#: budget unless many such records bring them, and those the windows meet.
_LONGER = 2
#: Long records are read whole only where they hold at most this share of the block's
#: bytes: rare ones (``rare300``'s 15 in a 1 MiB block: 5%), which the windows can miss
#: all of. Common ones the windows meet; reading them cost ordinary logs 11-31% more
#: ingest CPU (30% of log lines with a 900-byte message; 30% of records with 40 more
#: shared fields: most of every block's bytes, each block counted whole).
_RARE_SHARE = 0.1
#: Key paths kept as known per source, at most this many times its budget.
_KNOWN_PER_BUDGET = 4
_QUOTE, _COLON, _BACKSLASH, _NEWLINE = ord('"'), ord(":"), ord("\\"), ord("\n")
_SPACE = ord(" ")
#: ``{`` and ``[``, ``}`` and ``]``, with the bit that tells them apart (0x20) set.
_OPEN, _CLOSE, _CASE = ord("{"), ord("}"), 0x20
#: The bytes at each end of a block that seed its windows' places.
_SEED_BYTES = 4096
_GOLDEN = np.uint64(0x9E3779B97F4A7C15)
_MIX1, _MIX2 = np.uint64(0xBF58476D1CE4E5B9), np.uint64(0x94D049BB133111EB)


class KnownKeys:
    """Key paths (see above) met in a source's probe block: in a later block's windows,
    they stand for one key each. Set once, by the block counted first, which runs alone
    (``fastpath.submit_chunk``); never changed after."""

    def __init__(self) -> None:
        self.paths: np.ndarray = np.zeros(0, np.uint64)  # (sorted)
        self.settled = False

    def add(self, paths: np.ndarray, limit: int) -> None:
        """Take ``paths`` (at most ``limit``) as the known ones, unless already settled."""
        if not self.settled:
            self.paths = np.sort(paths[:limit])
            self.settled = True

    def settle(self) -> None:
        """Let no block add paths from now on (the probe block was counted, or was found
        too wide)."""
        self.settled = True

    def known(self, paths: np.ndarray) -> np.ndarray:
        """Whether each of ``paths`` is a known one."""
        if not len(self.paths):
            return np.zeros(len(paths), dtype=bool)
        at = np.minimum(np.searchsorted(self.paths, paths), len(self.paths) - 1)
        found: np.ndarray = self.paths[at] == paths
        return found


def more_keys_than(
    data: bytes,
    start: int,
    end: int,
    limit: int,
    known: KnownKeys,
    records: tuple[np.ndarray, np.ndarray] | None = None,
) -> bool:
    """Whether ``data[start:end]`` (records one a line, from a record's start) holds more
    than ``limit`` distinct key paths (see above); ``records``: each record's start and
    end in ``data`` where the caller knows them (else told from the newlines)."""
    if end - start > _WHOLE_BYTES:
        estimate, most, exact = _estimate(data, start, end, known, None)
        if exact or estimate > limit * _CLEARLY_PAST:
            return estimate > limit
        rows = data.count(b"\n", start, end) + 1 if records is None else len(records[0])
        if rows > _MANY_ROWS:
            long = _long_records(data, start, end, records)
            if long is not None:  # (None: long records are common, the windows meet them)
                if len(long) > limit:  # (exact: at least these many)
                    return True
                unknown = int(np.count_nonzero(~known.known(long)))
                estimate, most = estimate + unknown, most + unknown
        if estimate * 2 <= limit and (most <= limit or most * rows <= _CELLS):
            return False
    view = _view(data, start, end)
    paths = _distinct(key_paths(view))
    if len(paths) > limit:
        return True
    if not known.settled:  # (its names too, for the windows read by name)
        names = _distinct(_by_name(_names(view)[0]))
        known.add(np.concatenate((paths, names)), (limit + len(names)) * _KNOWN_PER_BUDGET)
    return False


def _long_records(
    data: bytes, start: int, end: int, records: tuple[np.ndarray, np.ndarray] | None
) -> np.ndarray | None:
    """The distinct key paths of the records of ``data[start:end]`` longer than
    ``_LONGER`` times its median record, each read whole; None where they hold more than
    ``_RARE_SHARE`` of its bytes (common, not rare: the windows meet them)."""
    if records is None:
        newlines = np.flatnonzero(_view(data, start, end) == _NEWLINE) + start
        starts = np.concatenate(([start], newlines + 1))
        ends = np.append(newlines, end)
    else:
        starts, ends = records
    lengths = ends - starts
    middle = len(lengths) // 2
    median = int(np.partition(lengths, middle)[middle])
    long = np.flatnonzero(lengths > median * _LONGER)
    if not len(long):
        return np.zeros(0, np.uint64)
    if int(lengths[long].sum()) > (end - start) * _RARE_SHARE:
        return None
    firsts, stops = starts[long].tolist(), ends[long].tolist()
    text = b"\n".join([data[a:b] for a, b in zip(firsts, stops, strict=True)])
    return _distinct(key_paths(np.frombuffer(text, dtype=np.uint8)))


def sampled_estimate(
    data: bytes, start: int, end: int, known: KnownKeys, rng: np.random.Generator | None = None
) -> int:
    """About how many distinct key paths ``data[start:end]`` holds, from its windows
    (placed by ``rng``; by default, by a generator seeded from the block's bytes); the
    exact count where the windows would read most of the block."""
    return _estimate(data, start, end, known, rng)[0]


def _estimate(
    data: bytes, start: int, end: int, known: KnownKeys, rng: np.random.Generator | None
) -> tuple[int, int, bool]:
    """The estimate, the most it could be (every path not known that one record holds
    standing for ``_SAMPLED``), and whether it is the exact count."""
    if rng is None:
        rng = np.random.default_rng(block_seed(data, start, end))
    stretch = _WINDOW * _SAMPLED
    count = max((end - start) // stretch, 1)
    offsets = (np.arange(count, dtype=np.int64) * stretch + start).tolist()
    shifts = rng.integers(0, max(min(stretch, end - start) - _WINDOW, 0) + 1, size=count)
    # Each window read from its record's start (merged where they meet): the pieces.
    pieces: list[list[int]] = []  # [first byte, stop]
    windows: list[tuple[int, int]] = []
    far: list[bytes] = []  # (windows whose record starts further than ``_REACH`` before)
    for offset, shift in zip(offsets, shifts.tolist(), strict=True):
        first = offset + shift
        stop = min(first + _WINDOW, end)
        if first >= stop:
            continue
        record = max(data.rfind(b"\n", max(start, first - _REACH), first) + 1, start)
        if record == start and first - start > _REACH:
            far.append(data[first:stop])
            continue
        if pieces and record <= pieces[-1][1]:
            pieces[-1][1] = stop
        else:
            pieces.append([record, stop])
        windows.append((first, stop))
    read = sum(b - a for a, b in pieces)
    if read > (end - start) * _MOST:
        exact = len(_distinct(key_paths(_view(data, start, end))))
        return exact, exact, True
    # The pieces joined, a newline after each (a piece may end inside a record, inside a
    # string: the newline starts afresh); each window moved with its piece.
    text = b"\n".join([data[a:b] for a, b in pieces])
    origins = np.array([a for a, _ in pieces], dtype=np.int64)
    lengths = np.array([b - a + 1 for a, b in pieces], dtype=np.int64)
    joined = np.concatenate(([0], np.cumsum(lengths)[:-1]))
    firsts = np.array([a for a, _ in windows], dtype=np.int64)
    stops = np.array([b for _, b in windows], dtype=np.int64)
    piece = np.searchsorted(origins, firsts, side="right") - 1
    moved = joined[piece] - origins[piece]
    window_bounds = (firsts + moved, stops + moved)
    found, lines = _located(np.frombuffer(text, dtype=np.uint8), window_bounds)
    if far:  # (each far window's lines after the pieces': records of their own)
        names, far_lines = _names(np.frombuffer(b"\n".join(far), dtype=np.uint8), guess=True)
        found = np.concatenate((found, _by_name(names)))
        lines = np.concatenate((lines, far_lines + (int(lines.max()) + 1 if len(lines) else 0)))
    return (*_extrapolated(found, lines, known), False)


def _extrapolated(paths: np.ndarray, records: np.ndarray, known: KnownKeys) -> tuple[int, int]:
    """The block's distinct paths told from its windows' ``paths``, each met in the record
    (line) ``records`` names: those met, and for the paths not known that one record alone
    holds (a key of its own is in the windows once in ``_SAMPLED``, however often its
    record repeats it) ``_SAMPLED - 1`` more each, scaled by how surely records bring them.

    The paths of one record read alone stand for others only where many records bring
    such paths: a rare kind of record (shuffled GitHub events: a kind of event the probe
    did not meet, 1-66 paths) is met once in a block's windows, and its paths are
    shared by the block's other records of its kind, not each one's own. The share of
    the records read that bring such paths is taken at a low bound (two standard
    deviations under it, binomial): nothing for 1-4 records in the 80-100 of GitHub's
    events a block's windows read, all of it where every record read brings them
    (records each bringing keys of their own). Also returns the most it could be: every
    such path standing for ``_SAMPLED``."""
    if not len(paths):
        return 0, 0
    # The (path, record) pairs, each once, sorted by path.
    order = np.lexsort((records, paths))
    paths, records = paths[order], records[order]
    pair = np.ones(len(paths), dtype=bool)
    pair[1:] = (paths[1:] != paths[:-1]) | (records[1:] != records[:-1])
    paths, records = paths[pair], records[pair]
    firsts = np.flatnonzero(np.concatenate(([True], paths[1:] != paths[:-1])))
    holders = np.diff(np.append(firsts, len(paths)))  # (records holding each path)
    distinct = paths[firsts]
    alone = (holders == 1) & ~known.known(distinct)
    lone = int(np.count_nonzero(alone))
    if not lone:
        return len(distinct), len(distinct)
    bringing = len(_distinct(records[firsts[alone]].astype(np.uint64)))
    read = len(_distinct(records.astype(np.uint64)))  # (the records the windows read)
    share = bringing / read
    surely = max(share - 2 * math.sqrt(share * (1 - share) / read), 0.0) / share
    most = len(distinct) + lone * (_SAMPLED - 1)
    return len(distinct) + round(lone * (_SAMPLED - 1) * surely), most


def block_seed(data: bytes, start: int, end: int) -> int:
    """A seed told from ``data[start:end]`` alone: its length and the CRC-32 of the bytes
    at each end (hashing the whole block would cost a few ms of a 4 MiB block)."""
    view = memoryview(data)
    head = zlib.crc32(view[start : min(start + _SEED_BYTES, end)])
    tail = zlib.crc32(view[max(end - _SEED_BYTES, start) : end])
    return (end - start) << 64 | head << 32 | tail


def _view(data: bytes, start: int, end: int) -> np.ndarray:
    return np.frombuffer(data, dtype=np.uint8, count=end - start, offset=start)


def _distinct(values: np.ndarray) -> np.ndarray:
    """The distinct ``values`` (uint64), sorted (not ``np.unique``: its hashing path
    imports ``numpy.ma``, which no ingest nor question otherwise loads)."""
    ordered = np.sort(values)
    if not len(ordered):
        return ordered
    kept: np.ndarray = ordered[np.concatenate(([True], ordered[1:] != ordered[:-1]))]
    return kept


def key_paths(view: np.ndarray, windows: tuple[np.ndarray, np.ndarray] | None = None) -> np.ndarray:
    """Each key's path (uint64, see above) in ``view``, in order: records one a line, each
    line read afresh (no string nor object open at its start, whatever the line before
    left open); with ``windows`` (firsts, stops, sorted), only the keys whose closing
    quote lies in one."""
    return _located(view, windows)[0]


def _located(
    view: np.ndarray, windows: tuple[np.ndarray, np.ndarray] | None
) -> tuple[np.ndarray, np.ndarray]:
    """Each key's path (as ``key_paths``) and the line (record) holding it."""
    empty = np.zeros(0, np.uint64), np.zeros(0, np.int64)
    quotes = np.flatnonzero(view == _QUOTE)
    quotes = quotes[~_escaped(view, quotes)]
    if len(quotes) < 2:
        return empty
    starts = np.concatenate(([0], np.flatnonzero(view == _NEWLINE) + 1))
    # Which quotes close a string: every second one of a line, from its start.
    first_quote = np.searchsorted(quotes, starts)
    line = _line_of(first_quote, len(quotes))
    closing = ((np.arange(len(quotes)) - first_quote[line]) & 1).astype(bool)
    after = _after_blanks(view, quotes)
    is_key = closing & (view[after] == _COLON)
    ends = np.flatnonzero(is_key)  # (index in ``quotes``; its opening quote the one before)
    if not len(ends):
        return empty
    key_at = quotes[ends]
    key_line = line[ends]
    value_at = _after_blanks(view, after[ends])  # (the first byte of each key's value)
    names = _name_hashes(view, quotes[ends - 1], key_at + 1)
    # Brackets and braces outside strings: how deep each leaves its line.
    cased = view | _CASE
    brackets = np.flatnonzero((cased == _OPEN) | (cased == _CLOSE))
    first_bracket = np.searchsorted(brackets, starts)
    bracket_line = _line_of(first_bracket, len(brackets))
    inside = ((np.searchsorted(quotes, brackets) - first_quote[bracket_line]) & 1).astype(bool)
    brackets, bracket_line = brackets[~inside], bracket_line[~inside]
    if not len(brackets):  # (no object: not JSON records; each key its own depth-0 path)
        return _counted(_mix(names, np.zeros(len(names), np.int64)), key_line, key_at, windows)
    first_bracket = np.searchsorted(brackets, starts)
    opens = cased[brackets] == _OPEN
    steps = np.where(opens, 1, -1).astype(np.int64)
    depth = _within_lines(np.cumsum(steps), first_bracket, bracket_line)
    # Each key's depth: the objects open at the last bracket before it in its line (lists
    # not counted: through a list, a key is its parent's).
    braces = np.where(view[brackets] & _CASE, steps, 0)  # (braces: 0x20 set)
    objects = _within_lines(np.cumsum(braces), first_bracket, bracket_line)
    last = np.searchsorted(brackets, key_at) - 1
    held = (last >= 0) & (bracket_line[np.maximum(last, 0)] == key_line)
    key_depth = np.where(held, objects[np.maximum(last, 0)], 0)
    own = _mix(names, key_depth)  # (a key's part of every path through it)
    # An opening bracket that is a key's value adds the key's part; any other (a record,
    # an element of a list) nothing; a closing one takes its opening one's away.
    adds = np.zeros(len(brackets), np.uint64)
    at = np.minimum(np.searchsorted(value_at, brackets), len(value_at) - 1)
    valued = opens & (value_at[at] == brackets) & (key_line[at] == bracket_line)
    adds[valued] = own[at[valued]]
    where_open = np.flatnonzero(opens)
    level = np.clip(depth, 0, 1 << 30)  # (an opening bracket's depth: that it leaves)
    order = (level[where_open] << 32) | brackets[where_open]
    sorting = np.argsort(order, kind="stable")
    closes = np.flatnonzero(~opens)
    wanted = ((level[closes] + 1) << 32) | brackets[closes]
    match = np.searchsorted(order[sorting], wanted) - 1
    matched = where_open[sorting[np.maximum(match, 0)]] if len(where_open) else closes
    fits = (match >= 0) & (level[matched] == level[closes] + 1)
    fits &= bracket_line[matched] == bracket_line[closes]
    adds[closes[fits]] = np.uint64(0) - adds[matched[fits]]
    state = _within_lines(np.cumsum(adds, dtype=np.uint64), first_bracket, bracket_line)
    paths: np.ndarray = np.where(held, state[np.maximum(last, 0)], np.uint64(0)) + own
    return _counted(paths, key_line, key_at, windows)


def _names(view: np.ndarray, *, guess: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """The hash of each key's name in ``view`` (records one a line, each from its start);
    with ``guess``, lines may start anywhere (inside a string): a key is then a quote
    followed by a colon, its name from the quote before, in the same line."""
    quotes = np.flatnonzero(view == _QUOTE)
    escaped = _escaped(view, quotes)
    if not guess:
        quotes = quotes[~escaped]
    if len(quotes) < 2:
        return np.zeros(0, np.uint64), np.zeros(0, np.int64)
    after = _after_blanks(view, quotes)
    is_key = view[after] == _COLON
    starts = np.concatenate(([0], np.flatnonzero(view == _NEWLINE) + 1))
    line = _line_of(np.searchsorted(quotes, starts), len(quotes))
    if guess:
        is_key &= ~escaped
        is_key[1:] &= ~is_key[:-1]  # (a text's opening quote followed by a colon: ``":1"``)
    else:
        first_quote = np.searchsorted(quotes, starts)
        is_key &= ((np.arange(len(quotes)) - first_quote[line]) & 1).astype(bool)
    is_key[0] = False
    ends = np.flatnonzero(is_key)
    ends = ends[line[ends - 1] == line[ends]]
    return _name_hashes(view, quotes[ends - 1], quotes[ends] + 1), line[ends]


def _by_name(names: np.ndarray) -> np.ndarray:
    """Names as paths of their own (no depth is -1): keys whose parents are not known."""
    return _mix(names, np.full(len(names), -1, np.int64))


def _line_of(first: np.ndarray, count: int) -> np.ndarray:
    """The line of each of ``count`` sorted positions, from each line's first one's index
    (``first``, one a line)."""
    line: np.ndarray = np.repeat(np.arange(len(first)), np.diff(np.append(first, count)))
    return line


def _counted(
    paths: np.ndarray,
    lines: np.ndarray,
    key_at: np.ndarray,
    windows: tuple[np.ndarray, np.ndarray] | None,
) -> tuple[np.ndarray, np.ndarray]:
    """The paths and lines of the keys whose closing quote lies in a window (all without
    any)."""
    if windows is None:
        return paths, lines
    firsts, stops = windows
    if not len(firsts):
        return paths[:0], lines[:0]
    window = np.searchsorted(firsts, key_at, side="right") - 1
    counted = (window >= 0) & (key_at < stops[np.maximum(window, 0)])
    return paths[counted], lines[counted]


def _within_lines(totals: np.ndarray, first: np.ndarray, line: np.ndarray) -> np.ndarray:
    """A cumulative sum over the brackets (``totals``) restarted at each line's start
    (``first``: the index of each line's first bracket)."""
    before = np.concatenate((np.zeros(1, totals.dtype), totals))
    restarted: np.ndarray = totals - before[first][line]
    return restarted


def _name_hashes(view: np.ndarray, opening: np.ndarray, stops: np.ndarray) -> np.ndarray:
    """A 64-bit hash of each key's text (``view[opening:stops]``, quotes included): of
    each distinct text once (BLAKE2b, the same in every process)."""
    if not len(opening):  # (no key: ``[""``, a quote inside a text alone)
        return np.zeros(0, np.uint64)
    offsets = np.empty(len(opening) * 2, dtype=np.int64)
    offsets[0::2], offsets[1::2] = opening, stops
    # The texts as a binary array over the bytes (every second segment between offsets).
    segments = pa.Array.from_buffers(
        pa.binary(),
        len(offsets) - 1,
        [None, pa.py_buffer(offsets.astype(np.int32)), pa.py_buffer(view)],
    )
    keys = segments.filter(to_arrow(np.arange(len(offsets) - 1) % 2 == 0))
    encoded = pc.dictionary_encode(keys)
    hashes = np.array(
        [
            int.from_bytes(blake2b(name, digest_size=8).digest(), "little")
            for name in encoded.dictionary.to_pylist()
        ],
        dtype=np.uint64,
    )
    indices = encoded.indices
    taken = np.frombuffer(indices.buffers()[1], dtype=np.int32)[indices.offset :]
    result: np.ndarray = hashes[taken[: len(indices)]]
    return result


def _mix(names: np.ndarray, depths: np.ndarray) -> np.ndarray:
    """A name's hash and its depth mixed (SplitMix64's finaliser)."""
    mixed: np.ndarray = names + depths.astype(np.uint64) * _GOLDEN
    mixed ^= mixed >> np.uint64(30)
    mixed *= _MIX1
    mixed ^= mixed >> np.uint64(27)
    mixed *= _MIX2
    mixed ^= mixed >> np.uint64(31)
    return mixed


def _escaped(view: np.ndarray, quotes: np.ndarray) -> np.ndarray:
    """Whether each quote is escaped: after an odd run of backslashes."""
    escaped = np.zeros(len(quotes), dtype=bool)
    at = np.flatnonzero(quotes > 0)  # (the quotes with a byte before them)
    back = 1
    while len(at):
        at = at[view[quotes[at] - back] == _BACKSLASH]
        escaped[at] = ~escaped[at]
        back += 1
        at = at[quotes[at] >= back]
    return escaped


def _after_blanks(view: np.ndarray, quotes: np.ndarray) -> np.ndarray:
    """The first byte after each quote that is not a blank (the last byte where none
    is): two steps for the common ``"a" : 1``, then, where blanks go on (``"a"   : 1``,
    valid JSON), the next byte that is not one, found over the whole view at once (a
    step per blank would let a run of a million blanks cost a million steps)."""
    last = len(view) - 1
    after: np.ndarray = np.minimum(quotes + 1, last)
    for _ in range(2):
        blank = _is_blank(view[after])
        if not blank.any():
            return after
        after = np.where(blank, np.minimum(after + 1, last), after)
    blank = _is_blank(view[after])
    if blank.any():
        solid = np.flatnonzero(~_is_blank(view))
        later = np.searchsorted(solid, after[blank])
        found = np.append(solid, last)[later]  # (blanks to the end: the last byte)
        after[blank] = found
    return after


def _is_blank(values: np.ndarray) -> np.ndarray:
    blank: np.ndarray = (values == _SPACE) | (values < _SPACE)  # (the blanks: 9, 10, 13, 32)
    return blank
