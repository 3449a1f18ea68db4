"""A projected read: the vectorised path parses only the keys a question needs.

``mfq query FILE`` needs the standard fields and the few fields its question names, not
the dozens of others an export carries. pyarrow's JSON reader skips keys absent from an
explicit schema (``unexpected_field_behavior="ignore"``) at a third of the cost of
inferring them all, while still checking that every record is well-formed JSON (lone
surrogates, numbers too large for a double and broken syntax still fail the parse).

The events that come out must be exactly those ``mfq ingest`` stores, projected:

* The declared types are those a full parse of an earlier block inferred. A key never
  seen yet is declared null, so any value under it fails the parse; the block is then
  parsed in full (as ingest parses it) and its types learned. Types that drift fail the
  same way.
* A record whose ignored keys could change its outcome goes to the record path (which
  reads everything, as ingest does): a key holding a dot or written with an escape (an
  ``a.b`` beside an ``{"a": {"b": …}}`` is ambiguous and rejected), or an
  ``actor_profile`` object (its keys become ``actor.*``).

What is known not to hold: a source with more distinct fields than
``Settings.max_fields`` folds the fields past that budget when ingested; the budget is
counted here over the projected fields only.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from mfq.ingest.record import ATTRIBUTES_KEY
from mfq.model.fields import STANDARD_FIELDS

#: Bytes in a record that route it to the record path: any escape (a key may be spelled
#: with one), an ``actor_profile`` key, and a dot followed by a closing quote and a colon
#: (a key holding a dot: with no escape in the record, a dot in a value or in a number is
#: never followed by that). The literals are found with ``bytes.find`` (a memchr-led
#: search, several times faster than a regular expression's scan); after a hit the search
#: goes on after the record's end, one hit being enough.
_LITERAL_HAZARDS = (b"\\", b'"actor_profile"')
_DOTTED_KEY_TEXT = r'\.[^"\n]*"[ \t\r]*:'
_DOTTED_KEY = re.compile(_DOTTED_KEY_TEXT.encode())
#: Searched first over a whole block by RE2 (pyarrow's ``match_substring_regex``, Latin-1
#: over binary: a byte is a character, as in ``re`` over bytes), which leads each search
#: with a ``memchr`` of its first byte, rarer in JSON than a quote: 0.5 and 0.2 ms per
#: 4 MiB block, against 2 ms for ``re``'s scan of the dots and 1.5 ms for ``bytes.find``
#: of ``"actor_profile"``. Each matches wherever an exact hazard is (``actor_profile"``
#: inside ``"actor_profile"``), so a block where neither matches and no backslash is
#: found has no hazard; in any other block the exact search below says which records.
_BLOCK_PREFILTERS = (_DOTTED_KEY_TEXT, 'actor_profile"')

#: A JSON path: the keys from the record's root to a value.
Path = tuple[str, ...]


def _json_paths(name: str) -> list[Path]:
    """Where an event field ``name`` can come from in a record whose keys hold no dot: at
    the top level and under ``attributes``; ``attributes.x`` also from a top-level ``x``
    (whose presence renames the attribute to ``attributes.x``)."""
    parts = tuple(name.split("."))
    paths = [parts, (ATTRIBUTES_KEY, *parts)]
    if parts[0] == ATTRIBUTES_KEY and len(parts) > 1:
        paths.append(parts[1:])
    return paths


def _standard_paths() -> list[Path]:
    paths: list[Path] = []
    for spec in STANDARD_FIELDS:
        for alias in spec.aliases:
            paths += _json_paths(alias)[:2]
    return paths


@dataclass
class Projection:
    """The fields a question reads (beside the standard fields) and what parsing has
    learned of their JSON types; one per source (the learning is the source's)."""

    fields: frozenset[str]
    _tree: dict[str, dict] = field(init=False, repr=False)  # type: ignore[type-arg]
    #: Types learned by full parses, by path (structs as their own entry).
    _known: dict[Path, pa.DataType] = field(init=False, default_factory=dict, repr=False)

    def __post_init__(self) -> None:
        tree: dict[str, dict] = {}  # type: ignore[type-arg]
        paths = _standard_paths() + [p for name in sorted(self.fields) for p in _json_paths(name)]
        for path in paths:
            node = tree
            for key in path:
                node = node.setdefault(key, {})
        self._tree = tree

    @classmethod
    def of(cls, fields: Iterable[str]) -> Projection:
        """A projection reading ``fields`` besides the standard fields."""
        return cls(frozenset(fields))

    def fresh(self) -> Projection:
        """The same fields, nothing learned (for the next source)."""
        return Projection(self.fields)

    def learn(self, schema: pa.Schema) -> None:
        """Remember the types a full parse inferred for the projected keys."""

        def visit(data_type: pa.DataType, path: Path, node: dict) -> None:  # type: ignore[type-arg]
            if pa.types.is_null(data_type) or pa.types.is_list(data_type):
                return  # nothing to declare: null stays unknown, lists go row by row
            self._known[path] = data_type
            if pa.types.is_struct(data_type):
                for child in data_type:
                    if child.name in node:
                        visit(child.type, (*path, child.name), node[child.name])

        for f in schema:
            if f.name in self._tree:
                visit(f.type, (f.name,), self._tree[f.name])

    def schema(self) -> pa.Schema:
        """The explicit schema of a projected parse: learned types, null where unknown."""

        def declared(path: Path, node: dict) -> pa.DataType:  # type: ignore[type-arg]
            known = self._known.get(path)
            if known is None:
                return pa.null()
            if not pa.types.is_struct(known):
                return known
            return pa.struct(
                [pa.field(key, declared((*path, key), child)) for key, child in node.items()]
            )

        return pa.schema(
            [pa.field(key, declared((key,), node)) for key, node in self._tree.items()]
        )

    def hazards(self, data: bytes, starts: np.ndarray, ends: np.ndarray) -> np.ndarray:
        """Which of the records at ``[starts, ends)`` of ``data`` go to the record path."""
        flagged = np.zeros(len(starts), dtype=bool)
        if not len(starts):
            return flagged
        first, stop = int(starts[0]), int(ends[-1])
        if not _may_hold_hazards(data, first, stop):
            return flagged
        positions = [
            p
            for pattern in _DOTTED_KEY.finditer(memoryview(data)[first:stop])
            for p in (pattern.start() + first, pattern.end() - 1 + first)
        ]
        for literal in _LITERAL_HAZARDS:
            at = data.find(literal, first, stop)
            while at >= 0:
                positions.append(at)
                row = int(np.searchsorted(starts, at, side="right")) - 1
                at = data.find(literal, max(int(ends[row]), at + 1), stop)
        if positions:
            rows = np.searchsorted(starts, np.asarray(positions), side="right") - 1
            flagged[rows[rows >= 0]] = True
        return flagged


def _may_hold_hazards(data: bytes, first: int, stop: int) -> bool:
    """Whether ``data[first:stop]`` may hold a hazard (False: it holds none)."""
    if data.find(b"\\", first, stop) >= 0:
        return True
    offsets = pa.array([0, stop - first], pa.int64()).buffers()[1]
    block = pa.Array.from_buffers(
        pa.large_binary(), 1, [None, offsets, pa.py_buffer(memoryview(data)[first:stop])]
    )
    return any(pc.match_substring_regex(block, pattern)[0].as_py() for pattern in _BLOCK_PREFILTERS)
