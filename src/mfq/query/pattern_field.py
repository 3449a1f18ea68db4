"""``pattern(F)``: the id of the message template a text value belongs to, as a derived
field (``--group-by "pattern(message)"``, ``--where "pattern(message) = 'ID'"``).

A template depends on the messages mined together (the miner merges groups as it sees
more of them), so ``pattern(F)`` is bound to a selection before a query runs: the
query's time range and its filters that do not themselves use ``pattern()``. Binding
mines that selection exactly as ``mfq patterns`` does (same files in the same order, the
same masked texts, the miner seeded with the templates the store keeps), so the ids and
the grouping are ``mfq patterns``' on the same ``--where``/``--since``/``--until``. The
bound call carries a key to that index; the compiled expression is a pyarrow scalar
function that masks each batch's distinct values once and looks their ids up.
"""

from __future__ import annotations

import contextlib
import functools
import threading
from collections import OrderedDict
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from itertools import count
from typing import TYPE_CHECKING, Any, TypeVar

import pyarrow as pa
import pyarrow.compute as pc

from mfq.errors import UsageError
from mfq.query.expr import And, Call, Expr, Literal, NamedAggregate, NamedValue
from mfq.query.expr.ast import Node, walk, with_children
from mfq.query.timerange import TimeRange

# The template miner (mfq.query.templates) is imported where a pattern is bound or mined:
# every scan binds its filters here, and few name pattern(F).
if TYPE_CHECKING:
    from mfq.query.source import EventSource
    from mfq.query.spec import QuerySpec
    from mfq.query.templates import TemplateMiner

#: The pyarrow function ``pattern(F)`` compiles to: (text, index key) -> template id.
UDF_NAME = "mfq_pattern"
#: The one ``new_pattern(F)`` compiles to: (text, index key) -> is the template new.
NEW_UDF_NAME = "mfq_new_pattern"
#: The row functions bound here.
PATTERN_FUNCTIONS = ("pattern", "new_pattern")
#: Bound indexes kept (each holds one selection's masked texts and miner).
KEPT_INDEXES = 8

_NodeT = TypeVar("_NodeT", bound=Node)


@dataclass
class PatternIndex:
    """One selection's templates: the miner after mining it, and the stored ids."""

    miner: TemplateMiner
    seeded: dict[int, str]
    #: For ``new_pattern``: the groups with a message before the selection's start.
    earlier: set[int] | None = None
    _roots: dict[int, str] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def finish(self) -> None:
        """Resolve the stored ids once mining is done (groups may have merged)."""
        self._roots = {self.miner.group_of(g): ident for g, ident in self.seeded.items()}
        if self.earlier is not None:
            self.earlier = {self.miner.group_of(g) for g in self.earlier}

    def ident(self, masked: str) -> str:
        """The template id of one masked text (as ``mfq patterns`` names it)."""
        group = self.miner.group_of(self.miner.add(masked))
        from mfq.query.templates import template_id

        return self._roots.get(group) or template_id(self.miner.template(group))

    def is_new(self, masked: str) -> bool:
        """Whether the text's template had no message before the selection's start."""
        assert self.earlier is not None
        return self.miner.group_of(self.miner.add(masked)) not in self.earlier

    def ids(self, messages: pa.Array) -> pa.Array:
        """Each message's template id (null for a null message); with ``earlier``,
        whether its template is new instead."""
        if not pa.types.is_string(messages.type):
            messages = messages.cast(pa.string())
        from mfq.query.templates import mask_messages

        encoded = pc.dictionary_encode(mask_messages(messages))
        distinct = encoded.dictionary.to_pylist()
        with self._lock:  # Arrow may call from several threads; the miner is not shared-safe
            if self.earlier is not None:
                flags = [None if m is None else self.is_new(m) for m in distinct]
                return pa.array(flags, type=pa.bool_()).take(encoded.indices)
            names = [None if m is None else self.ident(m) for m in distinct]
        return pa.array(names, type=pa.string()).take(encoded.indices)


_INDEXES: OrderedDict[int, PatternIndex] = OrderedDict()
_BY_SELECTION: dict[tuple[Any, ...], int] = {}
_KEYS = count(1)


def is_pattern_call(node: Node) -> bool:
    """A ``pattern(F)`` or ``new_pattern(F)`` call (bound or not)."""
    return isinstance(node, Call) and node.func in PATTERN_FUNCTIONS


def uses_pattern(node: Node | NamedAggregate) -> bool:
    """Whether an expression calls ``pattern()`` anywhere."""
    root = node.aggregate if isinstance(node, NamedAggregate) else node
    return any(is_pattern_call(n) for n in walk(root))


def compile_pattern(text: pc.Expression, call: Call) -> pc.Expression:
    """The compiled form of a bound ``pattern(F)`` (``text`` is F compiled)."""
    if len(call.args) != 2 or not isinstance(call.args[1], Literal):
        raise UsageError(
            f"{call.func}() cannot be used here: only in --where, --let, --group-by, "
            "count(...) and ratio(...) of query-like commands"
        )
    _register()
    name = NEW_UDF_NAME if call.func == "new_pattern" else UDF_NAME
    return pc.Expression._call(name, [text, pc.scalar(int(call.args[1].value))])  # type: ignore[arg-type]


def bind(store: EventSource, time: TimeRange, where: tuple[Expr, ...], node: _NodeT) -> _NodeT:
    """``node`` with each unbound ``pattern(F)`` bound to the templates of the selection
    (``time`` and the conditions of ``where`` that do not use ``pattern()``)."""
    if not any(is_pattern_call(n) and len(n.args) == 1 for n in walk(node)):  # type: ignore[attr-defined]
        return node
    plain = tuple(c for c in _conjuncts(where) if not uses_pattern(c))
    return _rebuild(node, lambda call: _index_key(store, time, plain, call))


def bind_all(
    store: EventSource, time: TimeRange, where: tuple[Expr, ...], nodes: Sequence[_NodeT]
) -> tuple[_NodeT, ...]:
    """:func:`bind` over several nodes."""
    return tuple(bind(store, time, where, n) for n in nodes)


def bind_named(
    store: EventSource, time: TimeRange, where: tuple[Expr, ...], named: Sequence[NamedValue]
) -> tuple[NamedValue, ...]:
    """:func:`bind` over named values (derived columns)."""
    return tuple(n.model_copy(update={"expr": bind(store, time, where, n.expr)}) for n in named)


def bind_aggregates(
    store: EventSource, time: TimeRange, where: tuple[Expr, ...], named: Sequence[NamedAggregate]
) -> tuple[NamedAggregate, ...]:
    """:func:`bind` over the filters of ``count(EXPR)`` and ``ratio(EXPR)``."""
    bound = []
    for item in named:
        arg = item.aggregate.arg
        if arg is not None and uses_pattern(arg):
            aggregate = item.aggregate.model_copy(update={"arg": bind(store, time, where, arg)})
            bound.append(item.model_copy(update={"aggregate": aggregate}))
        else:
            bound.append(item)
    return tuple(bound)


def bind_spec(store: EventSource, spec: QuerySpec) -> QuerySpec:
    """``spec`` with every ``pattern(F)`` (filters, derived columns, ``count(EXPR)``)
    bound to its selection."""
    used = [*spec.where, *spec.aggregates, *(d.expr for d in spec.derived)]
    if not any(uses_pattern(item) for item in used):
        return spec
    return spec.model_copy(
        update={
            "where": bind_all(store, spec.time, spec.where, spec.where),
            "aggregates": bind_aggregates(store, spec.time, spec.where, spec.aggregates),
            "derived": bind_named(store, spec.time, spec.where, spec.derived),
        }
    )


def refuse_on_dask(spec: QuerySpec) -> None:
    """The Dask engine cannot compute ``pattern()`` (its workers do not hold the mined
    templates): a usage error naming the way out."""
    used = [*spec.where, *spec.aggregates, *(d.expr for d in spec.derived)]
    if any(uses_pattern(item) for item in used):
        raise UsageError("pattern() is not supported on the dask engine; use --engine local")


def _rebuild(node: _NodeT, key_of: Callable[[Call], int]) -> _NodeT:
    rebuilt = with_children(node, lambda child: _rebuild(child, key_of))
    if isinstance(rebuilt, Call) and is_pattern_call(rebuilt) and len(rebuilt.args) == 1:
        key = Literal.of(key_of(rebuilt), rebuilt.span)
        rebuilt = rebuilt.model_copy(update={"args": (rebuilt.args[0], key)})
    return rebuilt


def _conjuncts(where: tuple[Expr, ...]) -> Iterator[Expr]:
    for expr in where:
        if isinstance(expr, And):
            yield from _conjuncts(tuple(expr.items))
        else:
            yield expr


def _index_key(store: EventSource, time: TimeRange, where: tuple[Expr, ...], call: Call) -> int:
    """The key of the index of ``call``'s templates over the selection (mined once)."""
    from mfq.query.expr import Field

    arg = call.args[0]
    if not isinstance(arg, Field):
        raise UsageError(f"{call.func}() takes a field name, e.g. {call.func}(message)")
    new = call.func == "new_pattern"
    if new and time.since is None:
        raise UsageError(
            "new_pattern() needs the start of the period (--since or --last): "
            "new means no message before it"
        )
    files = tuple(r.path for r in store.catalog.files("events")) if store.exists() else ()
    known = tuple(sorted(store.catalog.templates(arg.name).items())) if store.exists() else ()
    wheres = tuple(w.model_dump_json() for w in where)
    selection = (str(store.root), files, known, time.since, time.until, wheres, arg.name, new)
    key = _BY_SELECTION.get(selection)
    if key is not None and key in _INDEXES:
        _INDEXES.move_to_end(key)
        return key
    index = mine_index(store, time, where, arg.name, new=new)
    key = next(_KEYS)
    _INDEXES[key] = index
    _BY_SELECTION[selection] = key
    while len(_INDEXES) > KEPT_INDEXES:
        dropped, _ = _INDEXES.popitem(last=False)
        for name, value in list(_BY_SELECTION.items()):
            if value == dropped:
                del _BY_SELECTION[name]
    return key


def mine_index(
    store: EventSource, time: TimeRange, where: tuple[Expr, ...], name: str, *, new: bool = False
) -> PatternIndex:
    """The templates of ``name`` over the selection, mined as ``mfq patterns`` mines;
    with ``new``, then over everything before its start, as ``mfq patterns`` mines a
    baseline (so "new" is its ``change = new`` against all earlier events)."""
    from mfq.query.templates import DEFAULT_MINER_SETTINGS, TemplateMiner

    miner = TemplateMiner(DEFAULT_MINER_SETTINGS)
    known = store.catalog.templates(name) if store.exists() else {}
    seeded = {miner.seed(text): ident for ident, text in known.items()}
    with_service = "service" in store.field_types()
    for distinct in file_texts(store, where, time, name, with_service, weighted=True):
        for masked in distinct.column("masked").to_pylist():
            miner.add(masked)
    earlier: set[int] | None = None
    if new:
        before = TimeRange.model_construct(until=time.since)
        earlier = set()
        for distinct in file_texts(store, where, before, name, with_service, weighted=True):
            earlier.update(miner.add(m) for m in distinct.column("masked").to_pylist())
    index = PatternIndex(miner, seeded, earlier)
    index.finish()
    return index


def file_texts(
    store: EventSource,
    where: tuple[Expr, ...],
    time: TimeRange,
    name: str,
    with_service: bool,
    *,
    weighted: bool,
) -> Iterator[pa.Table]:
    """The selection's distinct masked texts of ``name``, a file at a time, in the order
    the miner is fed (see :func:`distinct_texts`)."""
    from mfq.query.scan import prune, scan

    with_service = with_service and name != "service"
    columns = [name, "timestamp"]
    if with_service:
        columns.append("service")
    if weighted:
        columns.append("sample_rate")
    for record in prune(store.files("events"), time):
        table = scan(store, columns, where, time, files=[record]).table
        if table.num_rows:
            yield distinct_texts(table, name, with_service, weighted)


def distinct_texts(table: pa.Table, name: str, with_service: bool, weighted: bool) -> pa.Table:
    """One row per distinct masked text of one file, in order of first appearance:
    weight, first and last time, services and one message."""
    from mfq.query.templates import mask_messages

    messages = table.column(name)
    if not pa.types.is_string(messages.type):
        messages = messages.cast(pa.string())
    present = pc.is_valid(messages)
    table = table.filter(present)
    messages = messages.filter(present)
    weights = (
        pc.coalesce(table.column("sample_rate").cast(pa.float64()), 1.0)
        if weighted
        else pa.repeat(1.0, table.num_rows)
    )
    columns = {
        "masked": mask_messages(messages),
        "message": messages,
        "weight": weights,
        "ns": table.column("timestamp").cast(pa.int64()),
    }
    aggregates = [
        ("weight", "sum"),
        ("ns", "min"),
        ("ns", "max"),
        ("message", "first"),
    ]
    if with_service:
        columns["service"] = table.column("service").cast(pa.string())
        aggregates.append(("service", "distinct"))
    return pa.table(columns).group_by("masked", use_threads=False).aggregate(aggregates)


def _pattern_udf(_context: Any, messages: pa.Array, key: pa.Array | pa.Scalar) -> pa.Array:
    found = key.as_py() if isinstance(key, pa.Scalar) else key[0].as_py()
    index = _INDEXES.get(found)
    if index is None:
        raise AssertionError(f"pattern index {found} was dropped while in use")
    return index.ids(messages)  # F is a field (bind checks): always an array


@functools.cache
def _register() -> None:
    """Register the two pyarrow functions once per process."""
    for name, result in ((UDF_NAME, pa.string()), (NEW_UDF_NAME, pa.bool_())):
        with contextlib.suppress(pa.ArrowKeyError):  # registered already (a reloaded module)
            pc.register_scalar_function(
                _pattern_udf,
                name,
                {"summary": name, "description": "mfq's pattern(F) and new_pattern(F)"},
                {"messages": pa.string(), "key": pa.int64()},
                result,
            )
