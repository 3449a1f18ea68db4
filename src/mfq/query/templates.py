"""Message templates: the mining algorithm behind ``mfq patterns``.

Messages are first *masked*: every value of a recognisable type becomes a typed
placeholder (``<uuid>``, ``<ip>``, ``<time>``, ``<path>``, ``<quoted>``, ``<hex>``,
``<num>``), with vectorised regular expressions over a whole column at once, so the
clustering below only ever sees the distinct masked texts (a few thousand for millions of
messages). A token that holds a placeholder is a *wildcard*: its exact text does not
decide the group.

Clustering then works on the masked texts' whitespace tokens, in three steps, all with
the same settings for every data set:

1. **Exact key.** Texts with the same tokens, wildcards counted as equal, are one group.
2. **Compatible merge** (Drain's similarity, made strict). A new key joins an existing
   group of the same length when no literal token differs (only a wildcard faces a
   literal), and at least half of the positions that have a literal on either side agree
   literally: ``chdir(pwd)`` joins ``chdir(<path>)``, but ``VM Paused`` never joins
   ``VM Started``, which is what loses Drain most of its accuracy on OpenStack.
3. **Sibling merge.** Groups that differ in one literal position only are alternatives
   of the wording while they are few (``Paused``, ``Started``, ``Stopped``) and a variable
   once they are many (user names): at ``sibling_limit`` distinct values the position
   becomes a wildcard and the groups merge.

A template is the group's tokens: a token every member shares is kept (typed
placeholders included), others become ``<*>``. Its id is a hash of its text, so one
template keeps one id across runs. Memory is bounded by ``max_groups``: past it, texts
that fit no group are counted in one overflow group.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from itertools import chain
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import pyarrow as pa

#: Typed masks, applied in this order (RE2 syntax: they run in pyarrow). A value of one
#: type is never seen by a later mask, so the order goes from most to least specific.
_MONTH = r"(?:Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec)"
_DAY = r"(?:Mon|Tue|Wed|Thu|Fri|Sat|Sun)"
MASKS: tuple[tuple[str, str, str], ...] = (
    (
        "uuid",
        r"\b[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}\b",
        "<uuid>",
    ),
    (
        "time",
        r"\b\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}:\d{2}(?:[.,]\d+)?(?:Z|[+-]\d{2}:?\d{2})?"
        r"|\b" + _DAY + r"\s+" + _MONTH + r"\s+\d{1,2}\s+\d{2}:\d{2}:\d{2}(?:\s+[A-Z]{3,4})?"
        r"(?:\s+\d{4})?",
        "<time>",
    ),
    ("ip", r"\b\d{1,3}\.\d{1,3}\.\d{1,3}\.\d{1,3}(?::\d{1,5})?\b", "<ip>"),
    ("quoted", r"'[^'\s]*'|\"[^\"\s]*\"", "<quoted>"),
    ("path", r"(^|[\s(=])(?:/[\w.+~@%-]*)+", r"\1<path>"),
    (
        "hex",
        r"\b0[xX][0-9a-fA-F]+\b|\b[0-9a-fA-F]*[0-9][0-9a-fA-F]*[a-fA-F][0-9a-fA-F]*\b",
        "<hex>",
    ),
    ("num", r"[-+]?\d+(?:\.\d+)?", "<num>"),
)
#: The placeholders masks write; a token holding one is a wildcard.
PLACEHOLDERS = tuple(f"<{name}>" for name, _rx, _sub in MASKS)
#: What a template shows where its messages' tokens differ.
ANY = "<*>"
_PLACEHOLDER = re.compile("|".join(re.escape(p) for p in (*PLACEHOLDERS, ANY)))
#: Token groups are keyed with this in place of every wildcard token.
_WILD = "\x00"


@dataclass(frozen=True)
class MinerSettings:
    """The miner's one setting for every data set (see the module docs)."""

    #: Distinct literal values at one position before it becomes a variable.
    sibling_limit: int = 12
    #: At least this share of the positions with a literal on either side must agree
    #: for a new text to join a group it is compatible with.
    literal_agreement: float = 0.5
    #: Groups kept; texts fitting none past this go to one overflow group.
    max_groups: int = 20_000
    #: Entries of each look-up table (masked text, key, siblings) before it is cleared,
    #: which bounds memory: the text and key tables are shortcuts (clearing them costs
    #: time only); cleared sibling counts start again from zero.
    cache_size: int = 200_000


DEFAULT_MINER_SETTINGS = MinerSettings()
#: The template of texts past ``max_groups``.
OVERFLOW_TEMPLATE = "<other messages>"


def mask_messages(messages: pa.Array | pa.ChunkedArray) -> pa.Array | pa.ChunkedArray:
    """Every message with its typed values replaced by placeholders (nulls stay null).

    The masks see each distinct *skeleton* once: the message with every digit 2-9 written
    as 1. No mask tells those digits apart (they only ever meet ``\\d`` or a class
    holding all ten; the one literal digit, ``0x``'s zero, is kept), so a skeleton masks
    exactly as each of its messages does, and ``took 12 ms`` and ``took 47 ms`` are masked
    once. On loghub's samples that is 3 to 4 times fewer texts than messages.
    """
    import pyarrow as pa

    if isinstance(messages, pa.ChunkedArray):
        return pa.chunked_array([_mask_chunk(c) for c in messages.chunks], type=pa.string())
    return _mask_chunk(messages)


def _mask_chunk(messages: pa.Array) -> pa.Array:
    import pyarrow as pa
    import pyarrow.compute as pc

    if not pa.types.is_string(messages.type):
        messages = messages.cast(pa.string())
    encoded = pc.dictionary_encode(_skeleton(messages))
    masked = encoded.dictionary
    for _name, pattern, replacement in MASKS:
        masked = pc.replace_substring_regex(masked, pattern, replacement)
    return masked.take(encoded.indices)


def _skeleton(messages: pa.Array) -> pa.Array:
    """The messages with the digits 2-9 written as 1 (a byte table over the text buffer:
    UTF-8 never uses those bytes inside a multi-byte character)."""
    import numpy as np
    import pyarrow as pa

    if messages.offset:  # a slice: its own compact copy, so the table reads its text only
        messages = pa.concat_arrays([messages])
    validity, offsets, data = messages.buffers()
    if data is None or not len(messages):
        return messages
    table = np.arange(256, dtype=np.uint8)
    table[ord("2") : ord("9") + 1] = ord("1")
    text = table[np.frombuffer(data, dtype=np.uint8)]
    return pa.StringArray.from_buffers(
        len(messages), offsets, pa.py_buffer(text), validity, messages.null_count, messages.offset
    )


def is_wildcard(token: str) -> bool:
    """True for a token that holds a placeholder (its text does not decide the group)."""
    return "<" in token and _PLACEHOLDER.search(token) is not None


def template_id(template: str) -> str:
    """The template's stable id: the first 12 hex digits of its BLAKE2b hash."""
    return hashlib.blake2b(template.encode("utf-8"), digest_size=6).hexdigest()


_PLACEHOLDER_PATTERNS = {
    "<uuid>": MASKS[0][1],
    "<time>": MASKS[1][1],
    "<ip>": MASKS[2][1],
    "<quoted>": MASKS[3][1],
    "<path>": r"(?:/[\w.+~@%-]*)+",
    "<hex>": MASKS[5][1],
    "<num>": MASKS[6][1],
}


def template_pattern(template: str) -> re.Pattern[str]:
    """A regular expression matching the messages a template stands for (tests, and
    users who want to grep): placeholders match their type, ``<*>`` anything."""
    pieces: list[str] = []
    position = 0
    for found in _PLACEHOLDER.finditer(template):
        pieces.append(_literal(template[position : found.start()]))
        token = found.group(0)
        pieces.append(".*?" if token == ANY else f"(?:{_PLACEHOLDER_PATTERNS[token]})")
        position = found.end()
    pieces.append(_literal(template[position:]))
    return re.compile("".join(pieces), re.DOTALL)


def _literal(text: str) -> str:
    return r"\s+".join(re.escape(part) for part in text.split(" "))


@dataclass
class _Group:
    """One template under construction: its tokens (``<*>`` where members differ)."""

    tokens: list[str]

    def key_tokens(self) -> list[str]:
        return [_WILD if is_wildcard(t) else t for t in self.tokens]


@dataclass
class TemplateMiner:
    """Groups masked messages into templates (see the module docs). Feed distinct masked
    texts with :meth:`add`; :meth:`group_of` follows merges to the group's current id."""

    settings: MinerSettings = DEFAULT_MINER_SETTINGS
    _groups: dict[int, _Group] = field(default_factory=dict)
    _parent: dict[int, int] = field(default_factory=dict)
    _by_key: dict[tuple[str, ...], int] = field(default_factory=dict)
    #: (length, first token or the wildcard key) -> groups: where a new key may fit
    _routes: dict[tuple[int, str], list[int]] = field(default_factory=dict)
    _cache: dict[str, int] = field(default_factory=dict)
    #: (length, position, the other tokens) -> literal value -> group
    _siblings: dict[tuple[int, int, tuple[str, ...]], dict[str, int]] = field(default_factory=dict)
    _overflow: int | None = None
    _created: int = 0

    def add(self, masked: str) -> int:
        """The group of one masked message (creating or merging groups as needed)."""
        cached = self._cache.get(masked)
        if cached is not None:
            return self.group_of(cached)
        group = self._place(masked.split())
        if len(self._cache) >= self.settings.cache_size:
            self._cache.clear()
        self._cache[masked] = group
        return group

    def seed(self, template: str) -> int:
        """Start from a known template (one kept in the store), so messages it fits keep
        its id."""
        return self._place(template.split())

    def group_of(self, group: int) -> int:
        """The group ``group`` was merged into, if it was (else itself)."""
        root = group
        while (parent := self._parent.get(root)) is not None:
            root = parent
        while group != root:  # path compression: later look-ups are one step
            following = self._parent[group]
            self._parent[group] = root
            group = following
        return root

    def template(self, group: int) -> str:
        """The template text of a group (``<*>`` where its messages differ)."""
        found = self._groups.get(self.group_of(group))
        return OVERFLOW_TEMPLATE if found is None else " ".join(found.tokens)

    def groups(self) -> Iterator[int]:
        """The live groups' ids."""
        return iter(self._groups)

    # -- placing a text -----------------------------------------------------------------

    def _place(self, tokens: list[str]) -> int:
        key = tuple(_WILD if is_wildcard(t) else t for t in tokens)
        existing = self._by_key.get(key)
        if existing is not None:
            group = self.group_of(existing)
            self._absorb(group, tokens)
            return group
        compatible = self._compatible(key)
        if compatible is not None:
            self._absorb(compatible, tokens)
            self._remember_key(key, compatible)
            return compatible
        if len(self._groups) >= self.settings.max_groups:
            return self._overflow_group()
        group = self._new_group(tokens, key)
        return self._merge_siblings(group, key)

    def _compatible(self, key: tuple[str, ...]) -> int | None:
        best: tuple[int, int] | None = None
        for candidate in self._candidates(key):
            agree = _agreement(key, self._groups[candidate].key_tokens(), self.settings)
            if agree is not None and (best is None or agree > best[0]):
                best = (agree, candidate)
        return None if best is None else best[1]

    def _candidates(self, key: tuple[str, ...]) -> Iterator[int]:
        """Groups that could take ``key``: a literal first token must meet itself or a
        wildcard (Drain's routing by the first token, without ever refusing a fit)."""
        if not key:
            return iter(self._routes.get((0, _WILD), ()))
        if key[0] != _WILD:
            return chain(
                self._routes.get((len(key), key[0]), ()), self._routes.get((len(key), _WILD), ())
            )
        return chain.from_iterable(
            groups for (length, _first), groups in self._routes.items() if length == len(key)
        )

    def _route(self, tokens: list[str]) -> tuple[int, str]:
        first = tokens[0] if tokens else _WILD
        return (len(tokens), _WILD if is_wildcard(first) or first == ANY else first)

    def _new_group(self, tokens: list[str], key: tuple[str, ...]) -> int:
        group = self._next_id()
        self._groups[group] = _Group(list(tokens))
        self._remember_key(key, group)
        self._routes.setdefault(self._route(tokens), []).append(group)
        return group

    def _remember_key(self, key: tuple[str, ...], group: int) -> None:
        """A look-up from a key to its group; only a shortcut (``_compatible`` finds the
        group again), so it is cleared when full, which keeps memory bounded."""
        if len(self._by_key) >= self.settings.cache_size:
            self._by_key.clear()
        self._by_key[key] = group

    def _next_id(self) -> int:
        self._created += 1
        return self._created

    def _absorb(self, group: int, tokens: list[str]) -> None:
        current = self._groups[group].tokens
        route = self._route(current)
        for index, (have, new) in enumerate(zip(current, tokens, strict=True)):
            if have not in (new, ANY):
                current[index] = ANY
        if self._route(current) != route:  # the first token became a wildcard
            self._routes[route].remove(group)
            self._routes.setdefault(self._route(current), []).append(group)

    def _merge_siblings(self, group: int, key: tuple[str, ...]) -> int:
        """Register the group's literal positions; merge a position's siblings once they
        reach ``sibling_limit`` values."""
        for position, token in enumerate(key):
            if token == _WILD:
                continue
            rest = (*key[:position], _WILD, *key[position + 1 :])
            if len(self._siblings) >= self.settings.cache_size:
                self._siblings.clear()  # bounded: merging restarts its counts
            siblings = self._siblings.setdefault((len(key), position, rest), {})
            siblings[token] = group
            if len(siblings) >= self.settings.sibling_limit:
                members = {self.group_of(g) for g in siblings.values()}
                group = self._merge(members, position)
                siblings.clear()
                siblings[_WILD] = group
                return group
        return group

    def _merge(self, members: set[int], position: int) -> int:
        target = min(members)
        for other in sorted(members - {target}):
            self._routes[self._route(self._groups[other].tokens)].remove(other)
            self._absorb(target, self._groups.pop(other).tokens)
            self._parent[other] = target
        tokens = self._groups[target].tokens
        self._absorb(target, [ANY if i == position else t for i, t in enumerate(tokens)])
        return target

    def _overflow_group(self) -> int:
        if self._overflow is None:
            self._overflow = self._next_id()
        return self._overflow


def _agreement(key: tuple[str, ...], other: Iterable[str], settings: MinerSettings) -> int | None:
    """How many literal positions agree, when ``key`` may join ``other`` (else None)."""
    agree = literal = 0
    for mine, theirs in zip(key, other, strict=True):
        if _WILD == mine == theirs:
            continue
        literal += 1
        if mine == theirs:
            agree += 1
        elif _WILD not in (mine, theirs):
            return None  # two literals differ: another wording
    if literal and (agree == 0 or agree < settings.literal_agreement * literal):
        return None
    return agree
