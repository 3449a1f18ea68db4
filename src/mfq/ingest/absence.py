"""Declared keys shown absent from a block, so that the projected parse may leave them out.

The projected parse declares every alias of every standard field, at the top level and
under ``attributes``, and the question's fields: about a hundred keys, of which an export
holds a handful. pyarrow appends a null to each declared key a record lacks, so the absent
ones cost about a quarter of the parse (5 of 19 ms per 4 MiB block of the bench's second
shape). An undeclared key is silently ignored, so a key may be left out only from a block
shown to hold none of it.

The proof is a search for the key's text written as a key: its name's last bytes, a quote,
blanks and a colon. Any key of that name, at any depth, holds that text, unless written
with an escape (the record then goes to the record path, never to this parse: see
``Projection.hazards``). The search starts at the name's rarest byte in the block the
searches are chosen on, the first one parsed with the projection (RE2, which leads its
search with a ``memchr`` of the pattern's first byte, then runs its automaton only from
each hit), and the names sharing a first
byte share one search; a byte is taken for as many names as makes the fewest hits and
searches. A match anywhere, a value's text too (``"xts": 1`` for ``ts``), only means the
block is parsed with every key declared, as before.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

#: A key's closing quote, blanks JSON allows, its colon.
_KEY_END = '"[ \t\r\n]*:'
#: The bytes of a block the searches are chosen on (a 4 MiB block, where trying every
#: name's searches would cost more than the parse).
_SAMPLE_BYTES = 256 * 1024
#: Searches tried per name when learning: its rarest bytes first.
_PIVOTS_TRIED = 6
#: A search's ``memchr`` over the block, in hits of its first byte: a byte for every 220
#: of the block (0.17 ms per 4 MiB against about 9 ns a hit: 6-7 ns on the bench's second
#: shape, 9-13 ns on free-text messages, where RE2's automaton runs further from a hit).
_BYTES_PER_SEARCH = 220
#: A declared key a record lacks, in hits: about 8 ns of the parse (5.1 ms per 4 MiB
#: block of the second shape for 70 absent keys' paths, 8,800 records).
_HITS_PER_NULL = 0.9


@dataclass(frozen=True)
class Absence:
    """The declared key names no full parse met, the searches that show a block holds
    none of them, and the two schemas: without those keys, and with every key."""

    names: frozenset[str]
    patterns: tuple[str, ...]
    narrow: pa.Schema
    full: pa.Schema

    @classmethod
    def learned(
        cls,
        declared: Iterable[str],
        seen: frozenset[str],
        schema: Callable[[frozenset[str]], pa.Schema],
        data: bytes,
        first: int,
        stop: int,
    ) -> Absence:
        """The absence of the ``declared`` key names not in ``seen``, its searches chosen on
        ``data[first:stop]`` (its first 256 KiB; a name written there as a key is never left
        out, as every tail of it is found);
        ``schema(leaving)`` makes the projected schema without the names of ``leaving``."""
        if stop - first > _SAMPLE_BYTES:  # (a block learned again after types drifted)
            cut = data.rfind(b"\n", first, first + _SAMPLE_BYTES)
            stop = cut if cut > first else first + _SAMPLE_BYTES
        block = one_value(data, first, stop)
        view = np.frombuffer(memoryview(data)[first:stop], dtype=np.uint8)
        hits = np.bincount(view, minlength=256)
        paths = Counter(declared)
        pivots: dict[str, list[int]] = {}
        for name in sorted(paths.keys() - seen):
            found = _pivots(name, hits, block)
            if found:
                pivots[name] = found
        groups = _grouped(pivots, paths, hits, stop - first)
        patterns = tuple(
            re2_literal(chr(byte)) + "(?:" + "|".join(sorted(set(tails.values()))) + ")" + _KEY_END
            for byte, tails in sorted(groups.items())
        )
        names = frozenset(name for tails in groups.values() for name in tails)
        return cls(names, patterns, schema(names), schema(frozenset()))

    def holds_none(self, data: bytes, first: int, stop: int) -> bool:
        """Whether ``data[first:stop]`` is shown to hold none of the names as a key."""
        if not self.patterns:
            return False  # nothing left out: the narrow schema is the full one
        block = one_value(data, first, stop)
        return not any(matches(block, pattern) for pattern in self.patterns)


def _pivots(name: str, hits: np.ndarray, block: pa.Array) -> list[int]:
    """The positions of ``name`` a search may start from: its bytes, rarest in the block
    first, whose rest of the name written as a key's end the block does not hold (a name
    whose every tail is held, a suffix of a key present, is never left out). Empty when
    the name is not plain ASCII (RE2 reads the block a byte a character)."""
    if not name or not name.isascii() or not name.isprintable():
        return []
    raw = name.encode("ascii")
    order = sorted(range(len(raw)), key=lambda i: (int(hits[raw[i]]), -i))
    return [
        i for i in order[:_PIVOTS_TRIED] if not matches(block, re2_literal(name[i:]) + _KEY_END)
    ]


def _grouped(
    pivots: dict[str, list[int]], paths: dict[str, int], hits: np.ndarray, size: int
) -> dict[int, dict[str, str]]:
    """The searches worth their cost, by first byte: the names each shows absent, with
    the tail after that byte each is searched by. Greedy: the byte whose search saves
    the most is taken first, while one saves anything; a name no search is worth stays
    declared. In hits
    of a search's first byte (each about 9 ns of RE2's automaton): a search costs a
    ``memchr`` over the block (about ``size / 220``) and its byte's hits; a declared key
    a record lacks about 0.9 (a null appended by the parse, 8 ns), per record (newlines)
    and per path the name is declared at."""
    records = int(hits[ord("\n")]) + 1
    left = dict(pivots)
    groups: dict[int, dict[str, str]] = {}
    while left:
        by_byte: dict[int, dict[str, int]] = {}
        for name, positions in left.items():
            for i in positions:
                by_byte.setdefault(ord(name[i]), {}).setdefault(name, i)

        savings = {
            byte: sum(paths[name] for name in names) * records * _HITS_PER_NULL
            - size / _BYTES_PER_SEARCH
            - int(hits[byte])
            for byte, names in sorted(by_byte.items())
        }
        byte = max(savings, key=lambda b: savings[b])
        if savings[byte] <= 0:
            break
        tails = groups.setdefault(byte, {})
        for name, i in by_byte[byte].items():
            tails[name] = re2_literal(name[i + 1 :])
            del left[name]
    return groups


def re2_literal(text: str) -> str:
    """``text`` as an RE2 pattern matching it alone: ASCII other than letters, digits and
    ``_`` written as ``\\xHH`` (RE2 refuses some of the escapes ``re.escape`` writes)."""
    return "".join(
        f"\\x{ord(c):02x}" if c.isascii() and not (c.isalnum() or c == "_") else c for c in text
    )


def one_value(data: bytes, first: int, stop: int) -> pa.Array:
    """``data[first:stop]`` as one binary value, for RE2 (pyarrow's regular expressions:
    Latin-1 over binary, a byte a character, as ``re`` over bytes) with no copy."""
    offsets = pa.array([0, stop - first], pa.int64()).buffers()[1]
    return pa.Array.from_buffers(
        pa.large_binary(), 1, [None, offsets, pa.py_buffer(memoryview(data)[first:stop])]
    )


def matches(block: pa.Array, pattern: str) -> bool:
    """Whether RE2 finds ``pattern`` in the block (it leaves the interpreter's lock)."""
    return bool(pc.match_substring_regex(block, pattern)[0].as_py())
