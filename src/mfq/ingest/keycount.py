"""Whether a block of JSON text holds more distinct keys than a budget, told from its
bytes before pyarrow parses it.

pyarrow's JSON reader makes a column for every distinct key of a block (memory and time
rows x keys, and some 20 KB a column): a 4 MiB block of records each bringing keys of
their own parses into tens of thousands of columns (half a GB) before any test on the
parsed table can send it record by record. A key is a string followed by a colon: its
closing quote is an unescaped quote followed by a colon (after blanks), its opening
quote the quote before.

Counting every key of a 4 MiB block costs 10-20 ms, a fifth of its parse; windows spread
over it (one byte in ``_SAMPLED``, 2 KiB each, placed by a generator seeded from the
block's own bytes) cost about 1 ms. A key not met
in the source before and met once in the windows stands for ``_SAMPLED`` keys (a key of
its own, met once in the block, is in the windows once in ``_SAMPLED``); a key known, or
met more often, for one. Where that estimate passes half the budget (and not four
budgets), the whole block is counted: past the budget, the block is too wide. So records
sharing their keys (GitHub's events: 170 names in a 4 MiB block, nearly all met in the
first block) cost the windows alone, and records each bringing keys of their own are
counted before they are parsed.

The decision is the block's bytes' alone (and the source's probe block's, whose keys are
the known ones): the same block always takes the same path, whatever the worker threads'
timing. The windows' places come from the block's bytes, and the known keys are those of
the probe block, counted alone before any other block of the source is with the workers;
keys of later blocks counted whole are not added (another worker may be estimating a
block before it at the same time).

Only used to decide how to parse: either way the stored data are the same (the record
path and the vectorised path agree). Nested keys count by name, not by path: a name under
many parents is one key here and many columns there (the parsed block's own test still
applies). A quote escaped inside a key (``"a\\"b"``) makes its key start late: each such
key counts as one of its own, never fewer.
"""

from __future__ import annotations

import zlib

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
#: An estimate past this many budgets is taken as it is (records bringing keys of their
#: own: 15,000-18,000 for 4 MiB of the reviewer's file), without counting every key.
_CLEARLY_PAST = 4
#: Key names kept as known per source, at most this many times its budget.
_KNOWN_PER_BUDGET = 4
_QUOTE, _COLON, _BACKSLASH = ord('"'), ord(":"), ord("\\")
_SPACE = ord(" ")
#: The bytes at each end of a block that seed its windows' places.
_SEED_BYTES = 4096


class KnownKeys:
    """Key names (their JSON text, quotes included) met in a source's probe block: in a
    later block's windows, they stand for one key each. Set once, by the block counted
    first, which runs alone (``fastpath.submit_chunk``); never changed after."""

    def __init__(self) -> None:
        self.names: frozenset[bytes] = frozenset()
        self.settled = False

    def add(self, names: list[bytes], limit: int) -> None:
        """Take ``names`` (at most ``limit``) as the known ones, unless already settled."""
        if not self.settled:
            self.names = frozenset(names[:limit])
            self.settled = True

    def settle(self) -> None:
        """Let no block add names from now on (the probe block was counted, or was found
        too wide)."""
        self.settled = True


def more_keys_than(data: bytes, start: int, end: int, limit: int, known: KnownKeys) -> bool:
    """Whether ``data[start:end]`` holds more than ``limit`` distinct keys (see above)."""
    if end - start > _WHOLE_BYTES:
        estimate = sampled_estimate(data, start, end, known)
        if estimate * 2 <= limit or estimate > limit * _CLEARLY_PAST:
            return estimate > limit
    view = np.frombuffer(data, dtype=np.uint8, count=end - start, offset=start)
    names, _, lone = _keys(view, None)
    if len(names) + lone > limit:
        return True
    known.add(names.to_pylist(), limit * _KNOWN_PER_BUDGET)
    return False


def sampled_estimate(
    data: bytes, start: int, end: int, known: KnownKeys, rng: np.random.Generator | None = None
) -> int:
    """About how many distinct keys ``data[start:end]`` holds, from its windows (placed
    by ``rng``; by default, by a generator seeded from the block's bytes)."""
    if rng is None:
        rng = np.random.default_rng(block_seed(data, start, end))
    stretch = _WINDOW * _SAMPLED
    count = max((end - start) // stretch, 1)
    offsets = (np.arange(count, dtype=np.int64) * stretch + start).tolist()
    shifts = rng.integers(0, max(min(stretch, end - start) - _WINDOW, 0) + 1, size=count)
    windows = b"".join(
        [data[a + b : a + b + _WINDOW] for a, b in zip(offsets, shifts.tolist(), strict=True)]
    )
    names, counts, lone = _keys(np.frombuffer(windows, dtype=np.uint8), _WINDOW)
    once = names.filter(to_arrow(counts == 1)).to_pylist()
    new = sum(name not in known.names for name in once) + lone
    return len(names) + lone + new * (_SAMPLED - 1)


def block_seed(data: bytes, start: int, end: int) -> int:
    """A seed told from ``data[start:end]`` alone: its length and the CRC-32 of the bytes
    at each end (hashing the whole block would cost a few ms of a 4 MiB block)."""
    view = memoryview(data)
    head = zlib.crc32(view[start : min(start + _SEED_BYTES, end)])
    tail = zlib.crc32(view[max(end - _SEED_BYTES, start) : end])
    return (end - start) << 64 | head << 32 | tail


def _keys(view: np.ndarray, window: int | None) -> tuple[pa.Array, np.ndarray, int]:
    """The distinct keys of ``view`` (binary, quotes included), how often each is met, and
    how many more keys hold an escaped quote; with ``window``, ``view`` is windows of that
    many bytes end to end, and a key must lie in one."""
    quotes = np.flatnonzero(view == _QUOTE)
    if len(quotes) < 2:
        return pa.nulls(0, pa.binary()), np.zeros(0, np.int64), 0
    # The byte after each closing quote, past blanks (``"a" : 1``; pretty printing's
    # ``"a": 1`` has none before the colon).
    after = _after_blanks(view, quotes)
    escaped = _escaped(view, quotes)
    is_end = (view[after] == _COLON) & ~escaped  # (an escaped quote is inside a string)
    is_end[0] = False  # (a key's closing quote has an opening one before it)
    # A value's opening quote followed by a colon (``"a": ":1"``) follows a key's end.
    is_end[1:] &= ~is_end[:-1]
    ends = np.flatnonzero(is_end)
    if window is not None:
        same = quotes[ends - 1] // window == quotes[ends] // window
        ends = ends[same]
    lone_key = escaped[ends - 1]  # (a key holding an escaped quote: it starts there)
    # A key's text: the bytes from its opening quote to its closing one (the segments
    # between consecutive quotes, as one binary array over the bytes, without a copy).
    segments = pa.Array.from_buffers(
        pa.binary(),
        len(quotes) - 1,
        [None, pa.py_buffer(quotes.astype(np.int32)), pa.py_buffer(view)],
    )
    wanted = np.zeros(len(quotes) - 1, dtype=bool)
    wanted[ends[~lone_key] - 1] = True
    counted = pc.value_counts(segments.filter(to_arrow(wanted)))
    found = counted.field("counts")  # (int64, no nulls: read as it is, where ``to_numpy``
    # would import pandas, seconds at a process's first block)
    counts = np.frombuffer(found.buffers()[1], dtype=np.int64)[found.offset :][: len(found)]
    return counted.field("values"), counts, int(np.count_nonzero(lone_key))


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
