"""A profile's field mapping on parsed columns: the vectorised path's ``profiles.apply.pick``.

``pick`` reads each mapped standard field from one decoded record (the first of its
getters holding a value, the top level before ``attributes``), maps its value through
the profile's ``values``, falls back to its default, and removes the keys it read. Here
the same runs on the leaf columns of a parsed block, one getter at a time over all rows.

Only what is provably the same is done here; every row whose outcome could differ goes
to the record path (``slow``): text with whitespace at either end (``pick`` strips it),
floats and booleans read as text, a mapped key holding an object. A profile this module
cannot follow at all (a key under ``attributes`` or ``actor_profile``) is refused by
:func:`vectorisable`, and its sources go record by record as before.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from mfq.ingest.profiles.model import Profile, field_of
from mfq.model.values import DURATION_UNITS

#: Keys the vectorised path renames or splits off before a mapping could see them.
_UNFOLLOWED = ("attributes", "actor_profile")
#: Python's ``str.isspace`` characters: a text starting or ending with one is stripped by
#: ``pick`` (Arrow's notion of whitespace is narrower), so such rows go row by row.
_SPACE = (
    r"\t\n\x0b\x0c\r\x1c-\x1f \x{85}\x{a0}\x{1680}\x{2000}-\x{200a}"
    r"\x{2028}\x{2029}\x{202f}\x{205f}\x{3000}"
)
_UNSTRIPPED = f"^[^{_SPACE}]((?s:.*)[^{_SPACE}])?$"
#: Which bytes below 0x80 are whitespace to ``str.isspace`` (the others: False).
_ASCII_SPACE = np.array([b < 0x80 and chr(b).isspace() for b in range(256)], dtype=bool)
#: Template literals handled here: printable ASCII (their spaces strip alike everywhere).
_PLAIN_LITERAL = frozenset(chr(c) for c in range(0x20, 0x7F))
_TRIMMED = " "


@dataclass(frozen=True)
class Candidate:
    """One way a standard field gets its value in some rows: the column (null in every
    other row) and the unit name its numbers are in (``duration_s``...; else the field's)."""

    unit: str
    column: pa.Array
    #: The top-level key the values were read from (None: another way): where numbers
    #: are read again from a record's text (``mfq.ingest.epochtext``).
    key: str | None = None


def vectorisable(mapping: Profile) -> bool:
    """Whether :func:`pick_columns` follows every getter of ``mapping`` exactly."""
    for getters in mapping.fields.values():
        for getter in getters:
            if getter.template is not None:
                literals = _literals(getter.template)
                if not all(set(text) <= _PLAIN_LITERAL for text in literals):
                    return False
            for key in getter.parts:
                head = key.split(".")[0]
                if not key or head in _UNFOLLOWED or "{" in key or "}" in key:
                    return False
    return True


def _literals(template: str) -> list[str]:
    pieces = template.split("{")
    return [pieces[0], *(piece.partition("}")[2] for piece in pieces[1:])]


def pick_columns(
    mapping: Profile,
    top: dict[str, pa.Array],
    attrs: dict[str, pa.Array],
    structs: set[str],
    slow: np.ndarray,
    n: int,
) -> dict[str, list[Candidate]]:
    """Each mapped standard field's candidates, in order; the keys read are nulled in
    ``top`` and ``attrs`` where they were taken (as ``pick`` removes them)."""
    picks: dict[str, list[Candidate]] = {}
    done: dict[str, np.ndarray] = {}
    consumed: list[tuple[dict[str, pa.Array], str, np.ndarray]] = []
    for target, getters in mapping.fields.items():
        name = field_of(target)
        taken = done.setdefault(name, np.zeros(n, dtype=bool))
        for getter in getters:
            if getter.key is not None:
                found = _key_candidates(getter.key, top, attrs, structs, slow, n)
            else:
                _check_template_parts(getter.parts, top, structs)
                found = [(None, _template(getter.template or "", top, slow, n), "")]
            for source, found_column, path in found:
                if found_column is None:
                    continue
                present = _valid(found_column) & ~taken
                if not present.any():
                    continue
                column = _masked(found_column, present)
                values = mapping.values.get(name)
                if values:
                    column = _mapped_values(column, values, present, slow)
                label = target if target != name else path or target
                key = path if source is top else None
                picks.setdefault(name, []).append(Candidate(_unit(label), column, key))
                taken |= present
                if source is not None:
                    consumed.append((source, path.removeprefix("attributes."), present))
    for target, value in mapping.defaults.items():
        name = field_of(target)
        taken = done.setdefault(name, np.zeros(n, dtype=bool))
        rest = ~taken
        if rest.any():
            column = pc.if_else(_bools(rest), pa.scalar(value), pa.nulls(n, pa.string()))
            picks.setdefault(name, []).append(Candidate(_unit(target), column))
            taken |= rest
    for source, key, rows in consumed:
        source[key] = pc.if_else(_bools(rows), pa.nulls(n, source[key].type), source[key])
    return picks


def _unit(label: str) -> str:
    return label if label in DURATION_UNITS else "duration_ms"


def _key_candidates(
    key: str,
    top: dict[str, pa.Array],
    attrs: dict[str, pa.Array],
    structs: set[str],
    slow: np.ndarray,
    n: int,
) -> list[tuple[dict[str, pa.Array] | None, pa.Array | None, str]]:
    """The key at the top level, then inside ``attributes`` where the top has none.

    A key holding an object is picked whole by ``pick`` (and then refused): never here.
    """
    if key in structs or f"attributes.{key}" in structs:
        raise NotFollowed
    at_top = top.get(key)
    inside = attrs.get(key)
    if inside is not None and at_top is not None:
        inside = _masked(inside, ~_valid(at_top))
    return [(top, at_top, key), (attrs, inside, f"attributes.{key}")]


def _check_template_parts(
    parts: tuple[str, ...], top: dict[str, pa.Array], structs: set[str]
) -> None:
    """A template's part names both an object and a value in the block: ``find_key``
    takes a literal dotted key first (``"objectRef.resource": {...}``), and an object
    there is a part left out, though the nested key beside it (``objectRef`` holding
    ``resource``) gives the leaf column of that name. Which one a row holds is the
    record path's to say."""
    if any(part in structs and part in top for part in parts):
        raise NotFollowed


class NotFollowed(Exception):
    """A block this module cannot map exactly: all its rows go to the record path."""


def _template(template: str, top: dict[str, pa.Array], slow: np.ndarray, n: int) -> pa.Array:
    """``render_template`` over all rows: the parts present, each with the text after it
    as the separator to the next present part, the last part's literal after it, stripped."""
    pieces = template.split("{")
    joined = pa.nulls(n, pa.string())
    separator: pa.Array = pc.if_else(_bools(np.zeros(n, bool)), "", "")
    last: pa.Array = separator
    for piece in pieces[1:]:
        key, _, literal = piece.partition("}")
        text = _as_text(top.get(key), slow, n)
        has = _bools(_valid(text))
        both = pc.binary_join_element_wise(joined, separator, text, "")
        joined = pc.if_else(has, pc.coalesce(both, text), joined)
        separator = pc.if_else(has, literal, separator)
        last = pc.if_else(has, literal, "")
    whole = pc.binary_join_element_wise(pieces[0], joined, last, "")
    stripped = pc.utf8_trim(whole, characters=" \t\n\x0b\x0c\r")
    return pc.if_else(pc.equal(stripped, ""), pa.nulls(n, pa.string()), stripped)


def _as_text(column: pa.Array | None, slow: np.ndarray, n: int) -> pa.Array:
    """A template part's values as ``pick`` writes them; null where ``pick`` leaves the
    part out (absent, an object, a list: those rows go row by row anyway)."""
    if column is None or pa.types.is_null(column.type):
        return pa.nulls(n, pa.string())
    if pa.types.is_string(column.type):
        slow |= _valid(column) & ~_unstripped(column)
        return column
    if pa.types.is_int64(column.type):
        return pc.cast(column, pa.string())
    if pa.types.is_boolean(column.type):
        return pc.if_else(column, "true", "false")
    slow |= _valid(column)  # floats: Python's repr, not Arrow's
    return pa.nulls(n, pa.string())


def _mapped_values(
    column: pa.Array, values: Mapping[str, str], present: np.ndarray, slow: np.ndarray
) -> pa.Array:
    """``profile.values``: a value whose text is listed becomes the listed text."""
    keys = pa.array(list(values), pa.string())
    mapped = pa.array(list(values.values()), pa.string())
    if pa.types.is_string(column.type):
        slow |= present & ~_unstripped(column)
        position = pc.index_in(column, value_set=keys)
        return pc.coalesce(pc.take(mapped, position), column)
    if pa.types.is_int64(column.type):
        position = pc.index_in(pc.cast(column, pa.string()), value_set=keys)
        listed = _valid(position)
        if not listed.any():
            return column
        slow |= present & ~listed  # left a number beside listed texts: row by row
        return pc.take(mapped, position)
    slow |= present  # floats and booleans as text: row by row
    return column


def _unstripped(column: pa.Array) -> np.ndarray:
    """Which texts of a string column are not empty and neither start nor end with
    whitespace (``str.isspace``: ``pick``'s ``strip`` leaves them whole); False for nulls.

    Read from each text's first and last byte: a byte below 0x80 is that character in
    UTF-8, so only a text starting or ending with a longer character (which may be a
    space: U+00A0, U+3000, ...) is given to the regular expression (a text's whole length
    scanned per row, where the bytes are one look)."""
    validity, offsets_buffer, data_buffer = column.buffers()
    n = len(column)
    offsets = np.frombuffer(offsets_buffer, dtype=np.int32)[column.offset : column.offset + n + 1]
    data = np.frombuffer(data_buffer, dtype=np.uint8) if data_buffer is not None else None
    if data is None or not len(data):
        return np.zeros(n, dtype=bool)
    held = offsets[1:] > offsets[:-1]
    if validity is not None:
        held &= np.asarray(column.is_valid().to_numpy(zero_copy_only=False), dtype=bool)
    first = np.where(held, data[np.minimum(offsets[:-1], len(data) - 1)], 0)
    last = np.where(held, data[np.maximum(offsets[1:] - 1, 0)], 0)
    wide = held & ((first >= 0x80) | (last >= 0x80))
    unstripped: np.ndarray = held & ~wide & ~_ASCII_SPACE[first] & ~_ASCII_SPACE[last]
    if wide.any():
        rows = np.flatnonzero(wide)
        matched = pc.match_substring_regex(column.take(pa.array(rows)), _UNSTRIPPED)
        unstripped[rows] = np.asarray(matched.to_numpy(zero_copy_only=False), dtype=bool)
    return unstripped


def _masked(column: pa.Array, rows: np.ndarray) -> pa.Array:
    if rows.all():
        return column
    return pc.if_else(_bools(rows), column, pa.nulls(len(column), column.type))


def _valid(column: pa.Array) -> np.ndarray:
    if not column.null_count and not pa.types.is_null(column.type):  # (no mask to unpack)
        return np.ones(len(column), dtype=bool)
    return np.asarray(column.is_valid().to_numpy(zero_copy_only=False), dtype=bool)


def _bools(mask: np.ndarray) -> pa.Array:
    return pa.array(mask, pa.bool_())
