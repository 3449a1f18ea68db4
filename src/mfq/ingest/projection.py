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
  same way. A learned float is the one type a value of another kind silently takes (a
  whole number read as a float, past 2**53 inexactly): where a block's values under it
  are all whole, written with no fraction, the block is parsed again with integers there
  (``Projection.integral``), as a full parse infers them, whichever record (a dropped
  duplicate, a reject) taught the float.
* A record whose ignored keys could change its outcome goes to the record path (which
  reads everything, as ingest does): a key written with an escape (it may spell any of
  the others), an ``actor_profile`` object (its keys become ``actor.*``), and a key
  holding a dot where one may matter. An escape in a value changes nothing: the parse
  reads it as ingest's does (a lone surrogate fails both), and a value cannot hide a key.
  A dotted key matters where its name could be (part of) a field the projection reads,
  or where it could meet another key in one flattened name (``a.b`` beside
  ``{"a": {"b": …}}`` is ambiguous and rejected): two key paths flatten to one name only
  if, where they first differ, one key is the other's dotted key cut at a dot (``a``
  against ``a.b``), so a block holding no key equal to such a cut of its dotted keys
  holds no such record. Where neither can happen in a block (an export's ``http.route``
  beside no ``http`` key), its dotted keys are only ignored keys, as any other.

Declared keys no full parse of the source met are left out of a block's parse where a
search shows the block writes none of them as a key (``mfq.ingest.absence``): each
declared key a record lacks costs the parse a null.

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

from mfq.ingest.absence import Absence
from mfq.ingest.absence import matches as _matches
from mfq.ingest.absence import one_value as _one_value
from mfq.ingest.absence import re2_literal as _re2_literal
from mfq.ingest.record import ATTRIBUTES_KEY, INT64_EDGE
from mfq.model.fields import STANDARD_FIELDS

#: Bytes in a record that route it to the record path: a key written with an escape, an
#: ``actor_profile`` key, and a dot followed by a closing quote and a colon (a key holding
#: a dot; a dot in a number, or in a value with no escape, is never followed by that).
#: The literal is found with ``bytes.find`` (a memchr-led search, several times faster
#: than a regular expression's scan); after a hit the search goes on after the record's
#: end, one hit being enough.
_LITERAL_HAZARD = b'"actor_profile"'
#: A key's last dot, the rest of the key, blanks and a colon. From the last dot only: a
#: search from an earlier dot stops at the next one, so each byte is read once however
#: many dots a string holds (a stack trace's thousand, where reading from each dot to the
#: string's end took quadratic time). One match per written key holding a dot.
_DOTTED_KEY_TEXT = r'\.[^".\n]*"[ \t\r]*:'
_DOTTED_KEY = re.compile(_DOTTED_KEY_TEXT.encode())
#: A key's last escape, the rest of the key, blanks and a colon: a key written with an
#: escape holds a match from the backslash of its last escape, so no such key is missed
#: (a search from a backslash inside an escape, ``\\`` read from its second byte, finds
#: only what a search from the escape's first byte finds). As for dots, a search from an
#: earlier escape stops at the next backslash, so a value full of escapes (a trace's
#: ``\n\t``) is read once. An escape in a value matches only where that value's end
#: could be read as a key's (an escaped backslash ending it, then a key starting with a
#: colon): the record then goes the record path's way, which is only slower. Windows paths
#: and quoted messages in values (most records of real Windows and OpenStack logs) no
#: longer send their records there one by one. (No record holds a newline: a document's
#: are made blanks when it is cut into records.)
_ESCAPED_KEY_TEXT = r'\\.[^"\\\n]*"[ \t\r]*:'
_ESCAPED_KEY = re.compile(_ESCAPED_KEY_TEXT.encode())
#: Searched first over a whole block by RE2 (pyarrow's ``match_substring_regex``, Latin-1
#: over binary: a byte is a character, as in ``re`` over bytes), which leads each search
#: with a ``memchr`` of its first byte, rarer in JSON than a quote: 0.5 and 0.2 ms per
#: 4 MiB block, against 2 ms for ``re``'s scan of the dots and 1.5 ms for ``bytes.find``
#: of ``"actor_profile"``. Each matches wherever an exact hazard is (``actor_profile"``
#: inside ``"actor_profile"``), so a block where neither matches and no backslash is
#: found has no hazard; in any other block the exact search below says which records.
_ACTOR_PREFILTER = 'actor_profile"'
#: ...itself led by a search for its tail, whose first byte is rarer in exports than an
#: ``a`` (``actor_profile_id``, ``attributes`` and ``"action"`` keys are in most records
#: of some): 0.2-0.6 ms per 4 MiB block where ``actor_profile"`` took 0.5-1.8 ms (the
#: demo's export, the bench's second shape, k8s and Zeek replicas).
_ACTOR_TAIL = 'file"'
#: Blanks JSON allows between a key and its colon.
_BLANKS = b" \t\r\n"

#: How often a source's searches for absent keys may be chosen again (each 2-5 ms).
_SEARCHES_CHOSEN = 8

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
    #: Every key path the projected parse reads (each a path of the tree).
    _paths: tuple[Path, ...] = field(init=False, default=(), repr=False)
    #: Dotted keys seen in the source's blocks: the keys each would meet in one flattened
    #: name, or None where its value may be (part of) a field this parse reads.
    _dotted: dict[bytes, tuple[bytes, ...] | None] = field(
        init=False, default_factory=dict, repr=False
    )
    #: Every key name the full parses met, at any depth.
    _seen: frozenset[str] = field(init=False, default=frozenset(), repr=False)
    #: The declared keys no full parse met, and how a block is shown to hold none of
    #: them (None until a block was learned; replaced, never changed in place).
    _absence: Absence | None = field(init=False, default=None, repr=False)
    #: How often the searches were chosen again on a block where one matched.
    _searches_chosen: int = field(init=False, default=0, repr=False)
    #: Whether types were learned since the absence was: it is learned (again) on the
    #: next block parsed with a projection, not on the block the types came from (a
    #: source held in its first block never needs it, and a search is chosen in 2-5 ms).
    _absence_due: bool = field(init=False, default=False, repr=False)

    def __post_init__(self) -> None:
        tree: dict[str, dict] = {}  # type: ignore[type-arg]
        paths = _standard_paths() + [p for name in sorted(self.fields) for p in _json_paths(name)]
        for path in paths:
            node = tree
            for key in path:
                node = node.setdefault(key, {})
        self._tree = tree
        self._paths = tuple(paths)

    @classmethod
    def of(cls, fields: Iterable[str]) -> Projection:
        """A projection reading ``fields`` besides the standard fields."""
        return cls(frozenset(fields))

    def fresh(self) -> Projection:
        """The same fields, nothing learned (for the next source)."""
        return Projection(self.fields)

    def reading(self, keys: Iterable[str]) -> Projection:
        """These fields and ``keys`` (a profile's, which its vectorised mapping picks the
        standard fields from), nothing learned."""
        return Projection(self.fields | frozenset(keys))

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
        self._seen = self._seen | _key_names(schema)
        self._absence_due = True

    def learn_absence(self, data: bytes, first: int, stop: int) -> None:
        """After ``learn``: the declared keys the full parses have not met, and the cheapest
        searches that show a block holds none of them, chosen on ``data[first:stop]`` (the
        first block parsed with the projection since, or one where a search matched)."""
        nodes = {path[:depth] for path in self._paths for depth in range(1, len(path) + 1)}
        declared = [node[-1] for node in nodes]  # (a name once per place it is declared)
        self._absence_due = False
        self._absence = Absence.learned(
            declared, self._seen, lambda leaving: self.schema(leaving=leaving), data, first, stop
        )

    def declared(self, data: bytes, first: int, stop: int) -> pa.Schema:
        """The schema of a projected parse of ``data[first:stop]``: without the keys no
        full parse met where the block is shown to hold none of them (an undeclared key
        is silently ignored, so it may be left out only where it is absent), else every
        key (``schema``). The absence is learned on the first block asked for after
        types were learned (``learn``)."""
        if self._absence_due:
            self.learn_absence(data, first, stop)
        absence = self._absence
        if absence is None:
            return self.schema()
        if not absence.names:
            return absence.full  # (nothing to show absent: no search, none chosen again)
        if absence.holds_none(data, first, stop):
            return absence.narrow
        if self._searches_chosen < _SEARCHES_CHOSEN:
            # A search matched: a key the first block did not hold may end as a name's
            # tail does (``"agent":`` for ``event`` searched by ``nt"``), and match in
            # every block from here. Chosen again on this block, the searches avoid it.
            self._searches_chosen += 1
            self.learn_absence(data, first, stop)
        return absence.full

    def schema(
        self, integers: frozenset[Path] = frozenset(), leaving: frozenset[str] = frozenset()
    ) -> pa.Schema:
        """The explicit schema of a projected parse: learned types, null where unknown,
        and whole numbers (``int64``) at the paths of ``integers`` (see ``integral``);
        no key named in ``leaving``, at any depth (see ``declared``)."""

        def declared(path: Path, node: dict) -> pa.DataType:  # type: ignore[type-arg]
            known = self._known.get(path)
            if known is None:
                return pa.null()
            if path in integers:
                return pa.int64()
            if not pa.types.is_struct(known):
                return known
            return pa.struct(
                [
                    pa.field(key, declared((*path, key), child))
                    for key, child in node.items()
                    if key not in leaving
                ]
            )

        return pa.schema(
            [
                pa.field(key, declared((key,), node))
                for key, node in self._tree.items()
                if key not in leaving
            ]
        )

    def integral(
        self, table: pa.Table, data: bytes, first: int, stop: int
    ) -> tuple[frozenset[Path], frozenset[Path]]:
        """The paths declared floats whose values in this projected parse of
        ``data[first:stop]`` a full parse would read as integers: (those it certainly
        would, those it may). The declared float came from another block (floats are
        learned like any type), perhaps from a record left out later (a duplicate, a
        reject); a full parse infers each block's own, as ``mfq ingest`` parses it
        (``fastpath._learnable`` declares no float), so these paths are parsed again as
        integers: else 9007199254740993 would read as 9007199254740992.0.

        A path whose every value is a whole number within int64 is certain where no
        number after a key of its name in the block is written with a fraction or an
        exponent. Where one is, and the block holds more numbers under that name than
        the path's values (a nested ``{"o": {"x": 1.5}}`` beside the top-level ``x``), it
        may be elsewhere: the path may be integral, which only a parse with it declared
        whole can tell (pyarrow refuses ``1.0``, ``1e3`` and a number beyond int64 there,
        exactly where a full parse infers a float). Where the counts are equal, the
        fraction is the path's own: a float, with no parse spent to learn it."""
        candidates: list[tuple[Path, int, bool]] = []
        for f in table.schema:
            _whole_floats(table.column(f.name), (f.name,), candidates)
        if not candidates:
            return frozenset(), frozenset()
        block = _one_value(data, first, stop)
        certain: set[Path] = set()
        possible: set[Path] = set()
        for path, held, at_edge in candidates:
            key = '"' + _re2_literal(path[-1])
            if not _matches(block, key + _FRACTION_AFTER_KEY):
                (possible if at_edge else certain).add(path)
            elif pc.count_substring_regex(block, key + _NUMBER_AFTER_KEY)[0].as_py() > held:
                possible.add(path)
        return frozenset(certain), frozenset(possible)

    def hazards(self, data: bytes, starts: np.ndarray, ends: np.ndarray) -> np.ndarray:
        """Which of the records at ``[starts, ends)`` of ``data`` go to the record path."""
        flagged = np.zeros(len(starts), dtype=bool)
        if not len(starts):
            return flagged
        first, stop = int(starts[0]), int(ends[-1])
        block = _one_value(data, first, stop)
        escaped = data.find(b"\\", first, stop) >= 0 and _matches(block, _ESCAPED_KEY_TEXT)
        dotted = _matches(block, _DOTTED_KEY_TEXT)
        actor = _matches(block, _ACTOR_TAIL) and _matches(block, _ACTOR_PREFILTER)
        if not (escaped or dotted or actor):
            return flagged
        positions: list[int] = []
        if dotted and not self._dotted_keys_are_inert(data, first, stop, block):
            positions = [
                p
                for pattern in _DOTTED_KEY.finditer(data, first, stop)
                for p in (pattern.start(), pattern.end() - 1)
            ]
        for found, wanted in ((_ESCAPED_KEY, escaped), (_LITERAL_HAZARD, actor)):
            at = _next_hazard(found, data, first, stop) if wanted else -1
            while at >= 0:
                positions.append(at)
                row = int(np.searchsorted(starts, at, side="right")) - 1
                at = _next_hazard(found, data, max(int(ends[row]), at + 1), stop)
        if positions:
            rows = np.searchsorted(starts, np.asarray(positions), side="right") - 1
            flagged[rows[rows >= 0]] = True
        return flagged

    def _dotted_keys_are_inert(self, data: bytes, first: int, stop: int, block: pa.Array) -> bool:
        """Whether no record of ``data[first:stop]`` can owe its outcome or a value the
        projection reads to a dotted key (False where that is not certain: the exact
        search then sends every record holding one to the record path)."""
        keys = self._known_dotted_keys(data, first, stop, block)
        if keys is None:
            keys = _dotted_keys(data, first, stop)
            if keys is None:
                return False
            for key in keys - self._dotted.keys():
                self._dotted[key] = self._cuts(key)
        cuts: set[bytes] = set()
        for key in keys:
            key_cuts = self._dotted[key]
            if key_cuts is None:
                return False
            cuts.update(key_cuts)
        return not any(_holds_key(data, first, stop, block, cut) for cut in cuts)

    def _known_dotted_keys(
        self, data: bytes, first: int, stop: int, block: pa.Array
    ) -> set[bytes] | None:
        """The dotted keys of the block when each is one seen before (None when one may
        not be). Each dotted key holds one match of ``_DOTTED_KEY`` (from its last
        dot), and each written ``"key":`` of a key seen before is one of those matches,
        so equal counts leave no other dotted key."""
        known = tuple(self._dotted)  # (the parse workers add to it as they go)
        if not known:
            return None
        found: set[bytes] = set()
        seen = 0
        for key in known:
            count = data.count(b'"' + key + b'":', first, stop)
            if count:
                found.add(key)
                seen += count
        matches = pc.count_substring_regex(block, _DOTTED_KEY_TEXT)[0].as_py() if seen else -1
        return found if matches == seen else None

    def _cuts(self, key: bytes) -> tuple[bytes, ...] | None:
        """The keys that would meet ``key`` in one flattened name, cut at each of its dots
        (``a`` and ``a.b`` for ``a.b.c``); None when its value may be (part of) a field
        this parse reads (its parts in a row along a read path), or it is not UTF-8."""
        try:
            parts = tuple(key.decode("utf-8").split("."))
        except UnicodeDecodeError:
            return None
        width = len(parts)
        for path in self._paths:
            if any(path[i : i + width] == parts for i in range(len(path) - width + 1)):
                return None
        return tuple(".".join(parts[:n]).encode("utf-8") for n in range(1, width))


def _key_names(schema: pa.Schema) -> frozenset[str]:
    """Every key name of a parsed schema, at any depth (in objects inside lists too)."""
    names: set[str] = set()

    def visit(data_type: pa.DataType) -> None:
        if pa.types.is_struct(data_type):
            for child in data_type:
                names.add(child.name)
                visit(child.type)
        elif pa.types.is_list(data_type) or pa.types.is_large_list(data_type):
            visit(data_type.value_type)

    for f in schema:
        names.add(f.name)
        visit(f.type)
    return frozenset(names)


def _next_hazard(hazard: bytes | re.Pattern[bytes], data: bytes, start: int, stop: int) -> int:
    """Where ``hazard`` (a literal, or a pattern's first byte) next is in ``data[start:stop]``,
    -1 where it is not."""
    if isinstance(hazard, bytes):
        return data.find(hazard, start, stop)
    found = hazard.search(data, start, stop)
    return -1 if found is None else found.start()


#: After a key's closing quote: its colon, then a number written with a fraction or an
#: exponent (RE2; a match anywhere, whichever object the key is in, keeps the float).
_FRACTION_AFTER_KEY = '"[ \t\r\n]*:[ \t\r\n]*-?[0-9]+[.eE]'
#: ...and any number (counted: how many numbers the block holds under a key's name).
_NUMBER_AFTER_KEY = '"[ \t\r\n]*:[ \t\r\n]*-?[0-9]'


def _whole_floats(column: pa.ChunkedArray, path: Path, found: list[tuple[Path, int, bool]]) -> None:
    """Add to ``found`` the float leaves of ``column`` holding a value, every value a
    whole number no further from zero than 2**63: (path, values held, whether one is
    2**63 away, which int64's ends round to as floats, and integers just beyond them)."""
    if pa.types.is_struct(column.type):
        for child in column.type:
            _whole_floats(pc.struct_field(column, child.name), (*path, child.name), found)
        return
    if not pa.types.is_floating(column.type) or column.null_count == len(column):
        return
    values = column.drop_null()
    if not pc.all(pc.equal(pc.floor(values), values)).as_py():
        return
    largest = pc.max(pc.abs(values)).as_py()
    if largest <= INT64_EDGE:
        found.append((path, len(values), largest == INT64_EDGE))


def _dotted_keys(data: bytes, first: int, stop: int) -> set[bytes] | None:
    """Every key holding a dot in ``data[first:stop]``, exactly for each key with no escape
    (a record with such a key goes to the record path anyway): from each match of
    ``_DOTTED_KEY`` (a dot, neither quote nor dot, a quote, blanks, a colon) back to the
    quote before it. A match that begins at a dot outside any key (``1.5, ": x"``: a string starting
    with a colon) yields a text no record holds, which can only make the answer more
    careful. None when a match has no quote before it in the block."""
    keys: set[bytes] = set()
    for match in _DOTTED_KEY.finditer(data, first, stop):
        dot = match.start()
        opening = data.rfind(b'"', first, dot)
        closing = data.rfind(b'"', dot, match.end())
        if opening < 0:
            return None
        keys.add(data[opening + 1 : closing])
    return keys


def _holds_key(data: bytes, first: int, stop: int, block: pa.Array, key: bytes) -> bool:
    """Whether ``data[first:stop]`` holds ``key`` written as a key (``"key"``, blanks, a
    colon), or may (the written key just before the block's end)."""
    # RE2 first, without the opening quote (a search led by a quote, the commonest byte
    # of JSON, is several times slower): where it finds nothing, no key ends so.
    if not _matches(block, _re2_literal(key.decode("utf-8")) + '"[ \t\r\n]*:'):
        return False
    quoted = b'"' + key + b'"'
    at = data.find(quoted, first, stop)
    while at >= 0:
        after = at + len(quoted)
        while after < stop and data[after] in _BLANKS:
            after += 1
        if after >= stop or data[after] == ord(":"):
            return True
        at = data.find(quoted, after, stop)
    return False
