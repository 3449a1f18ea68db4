"""What the query path imports: structure, not timings.

A query parses expressions and opens a store; it needs the standard fields' names and kinds
but never the pydantic event model that validates records at ingest (building that model
is the slowest of mfq's own imports). Each case runs in a fresh interpreter, since this
test process has long since imported everything.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

# The pydantic event model and the ingest modules that validate through it.
EVENT_MODEL = ("mfq.model.event", "mfq.ingest.record", "mfq.ingest.validate")
# Libraries the expression parser and the store catalog have no use for.
DATA_AND_UI = ("pandas", "pyarrow", "numpy", "click", "rich")
STORE = ("mfq.store", "mfq.store.store")

PROBE = """
import json, sys
{statement}
models = []
if "pydantic" in sys.modules:
    from pydantic import BaseModel
    todo = [BaseModel]
    while todo:
        cls = todo.pop()
        todo.extend(cls.__subclasses__())
        models.append(cls.__module__ + "." + cls.__qualname__)
print(json.dumps({{"modules": sorted(sys.modules), "models": sorted(models)}}))
"""


def fresh_import(statement: str) -> tuple[set[str], set[str]]:
    """The modules, and the pydantic model classes, loaded after ``statement`` in a new
    interpreter."""
    loaded = _probe(PROBE.format(statement=statement))
    return set(loaded["modules"]), set(loaded["models"])


def _probe(script: str) -> dict[str, list[str]]:
    """What a probe script printed (one JSON object), run in a new interpreter."""
    result = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=True
    )
    report: dict[str, list[str]] = json.loads(result.stdout)
    return report


def event_models(models: set[str]) -> set[str]:
    return {m for m in models if m.startswith(("mfq.model.", "mfq.ingest."))}


@pytest.mark.slow
def test_building_a_query_loads_neither_the_event_model_nor_data_libraries() -> None:
    modules, models = fresh_import("import mfq.query.build")
    assert "mfq.query.build" in modules
    # The field table the expression checker reads is there, the model built from it is not.
    assert "mfq.model.fields" in modules
    assert modules & {*EVENT_MODEL, *DATA_AND_UI} == set()
    assert event_models(models) == set()
    # The expression tree and the query description are pydantic models, and they are here:
    # the probe does see pydantic models when there are some.
    assert {"mfq.query.expr.ast.Compare", "mfq.query.spec.QuerySpec"} <= models


@pytest.mark.slow
def test_opening_the_store_package_loads_no_pydantic_and_no_event_model() -> None:
    modules, models = fresh_import("import mfq.store")
    assert "mfq.store.store" in modules
    assert modules & {*EVENT_MODEL, *DATA_AND_UI, "pydantic"} == set()
    assert models == set()


@pytest.mark.slow
def test_the_catalog_loads_when_a_store_is_read(store_dir: Path) -> None:
    # The SQLite catalog is a store's, not the storage layer's: events held in memory
    # (a question on a file) have none, and sqlite3 loads when a store's catalog is read.
    modules, _ = fresh_import("import mfq.store")
    assert loaded(modules, ("mfq.store.catalog", "sqlite3")) == set()
    path = str(store_dir / "store")
    modules, _ = fresh_import(f"import mfq.store\nmfq.store.open_storage({path!r}).catalog")
    assert {"mfq.store.catalog", "sqlite3"} <= modules


@pytest.mark.slow
def test_the_store_package_loads_no_layer_above_it() -> None:
    # Storage knows no queries: the query layer, analyses, report and public API are
    # above it (tests/test_layers.py holds the rule for every import; this holds it
    # for what actually loads).
    modules, _ = fresh_import("import mfq.store, mfq.store.stats, mfq.store.doctor")
    above = ("mfq.query", "mfq.analysis", "mfq.report", "mfq.api", "mfq.render", "mfq.cli")
    assert sorted(m for m in modules if m.startswith(above)) == []


#: What the facade imports in the method that runs it, not at import: a query from the
#: command line needs none of it (about 40 ms of a short command, with the collections
#: their objects cost). The defaults the facade's signatures show come from
#: ``mfq.analysis.defaults``, so the analyses that own them do not load either.
RUN_BY_METHODS = (
    "mfq.analysis.anomalies",
    "mfq.analysis.burn",
    "mfq.analysis.slo",
    "mfq.analysis.timeline",
    "mfq.analysis.changes",
    "mfq.analysis.check",
    "mfq.analysis.correlate",
    "mfq.analysis.funnel",
    "mfq.analysis.journeys",
    "mfq.analysis.paths",
    "mfq.analysis.patterns",
    "mfq.analysis.sessions",
    "mfq.analysis.trace",
    "mfq.report.build",
    "mfq.report.model",
    "mfq.report.output",
    "mfq.report.settings",
    # Ingest's options and profiles load when the store ingests.
    "mfq.ingest.options",
    "mfq.ingest.profiles",
)


@pytest.mark.slow
def test_the_public_api_loads_its_layers_but_no_analysis_until_it_runs() -> None:
    modules, _ = fresh_import("import mfq.api")
    assert {"mfq.store.store", "mfq.query.source", "mfq.query.build"} <= modules
    assert "mfq.analysis.defaults" in modules  # what the signatures show
    assert loaded(modules, RUN_BY_METHODS) == set()
    # pandas loads when a first answer is made into a DataFrame, not before.
    assert modules & {"pandas", "click", "rich"} == set()
    # The report's names still resolve from the package, each loading its module then.
    modules, _ = fresh_import(
        "import mfq.report\n"
        "from mfq.report import Report, ReportFormat, SavedQuestion\n"
        "assert Report.__module__ == 'mfq.report.model'\n"
        "assert SavedQuestion.__module__ == 'mfq.report.questions'"
    )
    assert {"mfq.report.model", "mfq.report.output", "mfq.report.questions"} <= modules


@pytest.mark.slow
def test_the_package_root_loads_the_store_only_when_a_store_name_is_used() -> None:
    modules, _ = fresh_import("import mfq, mfq.errors")
    assert modules & {*STORE, "sqlite3", *EVENT_MODEL} == set()

    modules, _ = fresh_import(
        "import mfq, mfq.api\n"
        "assert mfq.Store is mfq.api.Store and mfq.open_store is mfq.api.open_store\n"
        "from mfq import IngestSummary\n"
        "assert IngestSummary is mfq.api.IngestSummary"
    )
    assert set(STORE) <= modules


@pytest.mark.slow
def test_the_event_model_loads_on_first_use_and_agrees_with_the_field_table() -> None:
    # Ingest still gets the model at its first record validated one by one; the probe
    # would notice it (the other tests' negative results are not a probe that sees nothing).
    modules, models = fresh_import("import mfq.ingest.record")
    assert "mfq.model.event" not in modules  # a file read whole by the fast path needs none
    modules, models = fresh_import(
        "from mfq.ingest.options import NormalizeOptions\n"
        "from mfq.ingest.record import normalize_record\n"
        'normalize_record(\'{"id": 1, "type": "a", "timestamp": 1}\', NormalizeOptions())'
    )
    assert "mfq.model.event" in modules
    assert event_models(models) == {"mfq.model.event.Event"}

    modules, _ = fresh_import(
        "from mfq.model import STANDARD_FIELDS, Event\n"
        "import mfq.model.event\n"
        "assert Event is mfq.model.event.Event\n"
        "for spec in STANDARD_FIELDS:\n"
        "    info = Event.model_fields[spec.name]\n"
        "    assert list(info.validation_alias.choices) == list(spec.aliases), spec\n"
        "    assert info.is_required() == spec.required, spec\n"
        "assert list(Event.model_fields) == [f.name for f in STANDARD_FIELDS]"
    )
    assert "mfq.model.event" in modules


#: What building a pydantic validator loads (the plugin loader reads every installed
#: package's entry points): a query builds no validator, so it loads none of this.
VALIDATOR_BUILDING = ("pydantic.plugin._loader", "importlib.metadata")

BUILT_MODELS = """
import json, sys
{statement}
from pydantic import BaseModel
todo, built = [BaseModel], []
while todo:
    cls = todo.pop()
    todo.extend(cls.__subclasses__())
    if cls.__dict__.get("__pydantic_complete__"):
        built.append(cls.__module__ + "." + cls.__qualname__)
print(json.dumps({{"modules": sorted(sys.modules), "built": sorted(built)}}))
"""


def fresh_built(statement: str) -> tuple[set[str], set[str]]:
    """The modules loaded, and the pydantic models whose validators are built, after
    ``statement`` in a new interpreter."""
    report = _probe(BUILT_MODELS.format(statement=statement))
    return set(report["modules"]), set(report["built"])


A_QUESTION_PARSED_AND_DESCRIBED = """
from mfq.query.build import build_spec
from mfq.query.expr import STANDARD_FIELD_TYPES, parse_column, parse_condition, parse_filter
from mfq.query.expr import parse_value
from mfq.query.spec import QueryKind

parse_filter("a = 'x' and not (b > 2 or c in (1, 2)) and d contains 'y'")
parse_filter("exists(e) and f is not null and g ~ 'h.*' and timestamp > '2026-11-03'")
parse_column("sum(duration_ms) / count as mean")
parse_condition("ratio(status = 'error') > 0.1 and p95(duration_ms) < 300")
parse_value("bucket(duration_ms, 100) + 1")


class Source:
    def field_types(self):
        return dict(STANDARD_FIELD_TYPES)


build_spec(
    Source(), QueryKind.TIMESERIES, where="status = 'error'", by="service",
    aggs=["count", "p95(duration_ms)"], order_by="-count", limit=5, top=3,
    since="2026-11-01", until="2026-11-02", every="1h", let="slow = duration_ms > 9",
)
"""


@pytest.mark.slow
def test_parsing_and_describing_a_query_builds_no_pydantic_validator() -> None:
    # Nodes and the description build their validators on first validation; the parser
    # and build_spec make theirs from checked parts (model_construct), so a question
    # parsed and described builds none, and never reads the installed packages' metadata.
    modules, built = fresh_built(A_QUESTION_PARSED_AND_DESCRIBED)
    assert "mfq.query.expr.ast" in modules
    assert built == set()
    assert loaded(modules, VALIDATOR_BUILDING) == set()
    # The probe does see a built validator: one node made by hand builds its own.
    modules, built = fresh_built("from mfq.query.expr import Field\nField(name='a')")
    assert built == {"mfq.query.expr.ast.Field"}
    assert loaded(modules, VALIDATOR_BUILDING) == set(VALIDATOR_BUILDING)


def test_nodes_made_by_hand_are_still_validated() -> None:
    import pydantic

    from mfq.query.expr import Aggregate, Field, InList, Literal
    from mfq.query.spec import QuerySpec

    with pytest.raises(pydantic.ValidationError):
        Field(name="")
    with pytest.raises(pydantic.ValidationError):
        Aggregate(func="p95")  # p95 takes a field
    with pytest.raises(pydantic.ValidationError):
        InList(operand=Field(name="a"), values=())
    with pytest.raises(pydantic.ValidationError):
        Literal.of(float("inf"))
    with pytest.raises(pydantic.ValidationError):
        QuerySpec(limit=0)


def test_a_parsed_tree_equals_the_same_tree_validated() -> None:
    from datetime import UTC, datetime, timedelta, timezone

    from mfq.query.expr import EXPR_ADAPTER, Literal, parse_condition, parse_filter

    for expr in (
        parse_filter("a = 'x' and not (b > 2.5 or c in (1, 2)) and d is null"),
        parse_filter("exists(e) or f startswith 'g' or -h * 2 >= lower(i)"),
        parse_condition("count(status = 'error') / count > 0.1"),
    ):
        assert EXPR_ADAPTER.validate_json(EXPR_ADAPTER.dump_json(expr)) == expr
    # A time literal is kept in UTC, as validation keeps it.
    moment = datetime(2026, 11, 3, 12, tzinfo=timezone(timedelta(hours=2)))
    literal = Literal.of(moment)
    assert literal.value == moment and literal.value.tzinfo is UTC
    assert literal == Literal(type=literal.type, value=moment)


def test_field_table_is_unchanged_by_the_move_out_of_the_model() -> None:
    from mfq.model import STANDARD_FIELDS, FieldKind

    # The documented table (docs/guide.md, "The event model"): order is the storage order.
    assert [(f.name, f.kind, f.required) for f in STANDARD_FIELDS][:4] == [
        ("id", FieldKind.TEXT, False),
        ("type", FieldKind.TEXT, True),
        ("timestamp", FieldKind.TIME, True),
        ("received_at", FieldKind.TIME, False),
    ]
    by_name = {f.name: f for f in STANDARD_FIELDS}
    assert len(by_name) == 20
    assert by_name["type"].aliases == ("type", "event_name", "event_type", "event", "name")
    assert by_name["duration_ms"].aliases == (
        "duration_ms",
        "duration_s",
        "duration_us",
        "duration_ns",
    )
    assert by_name["correlation_id"].aliases == (
        "correlation_id",
        "workflow_id",
        "workflow_instance_id",
        "case_id",
    )
    assert {name for name, f in by_name.items() if f.kind is not FieldKind.TEXT} == {
        "timestamp",
        "received_at",
        "severity",
        "duration_ms",
        "sample_rate",
        "http_status",
    }


# -- what each command loads ------------------------------------------------------------------
#
# A command runs in a fresh interpreter, as `mfq ...` would, and the modules loaded by its end
# are held to a budget: what a short command pays at start-up is mostly imports (pyarrow and
# numpy, pydantic for the expression models, click), so anything more is start-up time lost.

#: Never on the path of the commands below: they are for other commands (the Dask engine,
#: report charts and templates) or for tests and benchmarks only.
NEVER = ("pandas", "dask", "distributed", "matplotlib", "jinja2", "hypothesis", "duckdb", "scipy")
#: What answering a question needs, and a command's --help or a usage error does not.
LIBRARY = ("pyarrow", "numpy", "pydantic", "sqlite3", "mfq.store", "mfq.query.expr")
#: The event model ingest validates with: not on a query's path (the analyses and the report
#: are: the facade, mfq.api, imports them at module level).
BEYOND_QUERIES = ("mfq.model.event", "mfq.ingest.record")

COMMAND_PROBE = """
import json, sys
from mfq.cli.main import cli
code = cli.main({args!r}, prog_name="mfq", standalone_mode=False)
built = []
if "pydantic" in sys.modules:
    from pydantic import BaseModel
    todo = [BaseModel]
    while todo:
        cls = todo.pop()
        todo.extend(cls.__subclasses__())
        if cls.__dict__.get("__pydantic_complete__"):
            built.append(cls.__module__ + "." + cls.__qualname__)
report = {{"code": code, "modules": sorted(sys.modules), "built": built}}
sys.stderr.write("\\n" + json.dumps(report) + "\\n")
"""


def command_modules(args: list[str], cwd: Path) -> set[str]:
    """The modules loaded by the end of ``mfq ARGS`` (which must succeed), run in ``cwd`` in
    a new interpreter."""
    return command_report(args, cwd)[0]


def command_report(args: list[str], cwd: Path) -> tuple[set[str], set[str]]:
    """The modules loaded, and the pydantic models whose validators were built, by the end
    of ``mfq ARGS`` (which must succeed), run in ``cwd`` in a new interpreter."""
    result = subprocess.run(
        [sys.executable, "-c", COMMAND_PROBE.format(args=args)],
        capture_output=True,
        text=True,
        check=True,
        cwd=cwd,
        env={**os.environ, "COLUMNS": "100", "NO_COLOR": "1"},
    )
    report = json.loads(result.stderr.strip().splitlines()[-1])
    assert report["code"] == 0, result.stderr
    return set(report["modules"]), set(report["built"])


def loaded(modules: set[str], names: tuple[str, ...]) -> set[str]:
    """Which of ``names`` (packages, with their submodules) are among ``modules``."""
    return {n for n in names if any(m == n or m.startswith(n + ".") for m in modules)}


def command_modules_by_name() -> dict[str, str]:
    """Each command of ``mfq --help`` and the module that defines it."""
    from mfq.cli.main import _COMMANDS

    return {name: module for name, (module, _function, _help) in _COMMANDS.items()}


@pytest.fixture(scope="module")
def store_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A small store (services, statuses, durations) in a directory with no project file."""
    import mfq

    root = tmp_path_factory.mktemp("import-cost")
    export = root / "export.ndjson"
    rows = [
        {
            "id": f"ev-{i}",
            "type": ("order.created", "payment.failed")[i % 2],
            "timestamp": f"2026-11-03T10:{i:02d}:00Z",
            "service": ("api", "web")[i % 2],
            "status": ("ok", "error")[i % 3 == 0],
            "duration_ms": 10 * i,
            # (every fifth with a severity: the fast path's severity mapping is on the path)
            **({"severity": ("warn", "info")[i % 2]} if i % 5 == 0 else {}),
        }
        for i in range(30)
    ]
    export.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    with mfq.open_store(root / "store", create=True) as store:
        store.ingest([str(export)])
    return root


@pytest.mark.slow
@pytest.mark.parametrize(("name", "module"), command_modules_by_name().items())
def test_a_commands_help_loads_no_data_library(name: str, module: str, tmp_path: Path) -> None:
    modules = command_modules([name, "--help"], tmp_path)
    assert module in modules
    allowed: set[str] = set()
    if name == "demo":
        allowed = set(LIBRARY)  # it imports the facade (mfq.api) at module level
    if name in ("ingest", "info", "schema", "rejects", "doctor", "compact", "prune"):
        # Storage commands open the storage layer (sqlite3, no pyarrow or pydantic).
        allowed = {"sqlite3", "mfq.store"}
    assert loaded(modules, (*NEVER, *LIBRARY)) - allowed == set()


@pytest.mark.slow
def test_the_group_help_and_a_usage_error_load_no_library(tmp_path: Path) -> None:
    modules = command_modules(["--help"], tmp_path)
    assert "click" in modules
    assert loaded(modules, (*NEVER, *LIBRARY, "rich", "mfq.cli.query")) == set()
    # A usage error is printed (rich, one line) and nothing of the library is loaded for it.
    result = subprocess.run(
        [sys.executable, "-c", COMMAND_PROBE.format(args=["query", "--nope"])],
        capture_output=True,
        text=True,
        check=True,
        cwd=tmp_path,
    )
    report = json.loads(result.stderr.strip().splitlines()[-1])
    assert report["code"] == 2
    assert "mfq: error: No such option '--nope'." in result.stderr
    assert loaded(set(report["modules"]), (*NEVER, *LIBRARY)) == set()


#: What writing pyarrow.compute's help texts imports (numpydoc's parser and pydoc).
HELP_TEXTS = ("pyarrow.vendored.docscrape", "pydoc")


@pytest.mark.slow
@pytest.mark.parametrize(
    ("args", "extra"),
    [
        (["query", "--group-by", "type", "--format", "json"], ("rich",)),
        (["query", "--group-by", "type"], ()),
        (
            ["query", "--where", "status = 'error'", "--group-by", "service", "--format", "csv"],
            ("rich",),
        ),
        (["query", "--group-by", "service", "--agg", "p95(duration_ms)", "--format", "ndjson"], ()),
        (["events", "--limit", "3", "--format", "json"], ("rich",)),
        (["timeseries", "--every", "1h", "--by", "service", "--format", "json"], ("rich",)),
        (
            ["timeseries", "--every", "1h", "--agg", "ratio(status = 'error')", "--format", "json"],
            ("rich",),
        ),
        (
            ["query", "--let", "slow = duration_ms > 100", "--where", "slow", "--group-by", "type"],
            (),
        ),
        (
            [
                *("query", "--group-by", "bucket(duration_ms, 100)", "--agg", "count"),
                *("--agg", "sum(duration_ms) / count as mean", "--format", "json"),
            ],
            ("rich",),
        ),
    ],
)
def test_a_query_loads_arrow_and_the_expression_models_and_nothing_more(
    store_dir: Path, args: list[str], extra: tuple[str, ...]
) -> None:
    modules, built = command_report([*args, "--store", "store"], store_dir)
    # What the answer needs is there (the probe sees what a command loads) ...
    assert {"pyarrow", "mfq.query.expr.ast", "mfq.store.catalog"} <= modules
    # ... and nothing for other commands; machine formats draw no tables.
    assert loaded(modules, (*NEVER, *BEYOND_QUERIES, *extra)) == set()
    # No analysis or report, and no pydantic validator: the question is parsed into
    # nodes and a description made from checked parts (see test_parsing_and_describing...).
    assert loaded(modules, (*RUN_BY_METHODS, *VALIDATOR_BUILDING, "importlib.abc")) == set()
    assert built == set()
    # pyarrow.compute is made without its help texts (mfq.query.arrow_import).
    assert "pyarrow.compute" in modules
    assert loaded(modules, HELP_TEXTS) == set()


@pytest.mark.slow
@pytest.mark.parametrize(
    "args",
    [
        ["events", "--where", "trace_id = 'abc'", "--format", "json"],
        ["query", "--where", "status = 'error'", "--group-by", "service", "--format", "json"],
        [
            *("timeseries", "--every", "1h", "--by", "service", "--agg", "p50(duration_ms)"),
            *("--agg", "p99(duration_ms)", "--format", "json"),
        ],
        ["timeseries", "--every", "1d", "--by", "type", "--top", "1", "--format", "json"],
        ["timeseries", "--every", "1d", "--tz", "Europe/Paris", "--format", "json"],
        [
            *("timeseries", "--every", "5m", "--by", "service", "--agg"),
            *("ratio(status = 'error')", "--since", "2026-11-03T10:00:00Z"),
            *("--until", "2026-11-03T11:00:00Z", "--format", "json"),
        ],
        [
            *("query", "--group-by", "type", "--agg", "count_distinct(service)"),
            *("--now", "2026-11-04T00:00:00Z", "--last", "7d", "--format", "json"),
        ],
        ["query", "--group-by", "service", "--limit", "1", "--totals", "--format", "json"],
        ["query", "--group-by", "bucket(duration_ms, 100)", "--agg", "max(duration_ms)"],
    ],
)
def test_a_question_loads_no_masked_arrays(store_dir: Path, args: list[str]) -> None:
    # numpy.ma loads when np.unique takes its hashing path or pyarrow converts a numpy
    # array (both ask it whether the array is masked): counts from the summaries, trace
    # lookups, percentiles, time series (top, ratios, ranges) and distinct counts do
    # neither (the engines hand numpy arrays to Arrow as buffers).
    modules = command_modules([*args, "--store", "store"], store_dir)
    assert "numpy" in modules
    assert "numpy.ma" not in modules


def stderr_report(script: str, cwd: Path, env: dict[str, str] | None = None) -> dict[str, object]:
    """The JSON object a probe script wrote last on stderr, run (it must succeed) in ``cwd``
    in a new interpreter (by default with this environment, 100 columns and no colour)."""
    result = subprocess.run(
        [sys.executable, "-c", script],
        capture_output=True,
        text=True,
        check=True,
        cwd=cwd,
        env={**os.environ, "COLUMNS": "100", "NO_COLOR": "1"} if env is None else env,
    )
    report: dict[str, object] = json.loads(result.stderr.strip().splitlines()[-1])
    return report


GC_PROBE = """
import atexit, gc, json, sys
from mfq.cli.main import main
passes = []

def count(phase, info):
    if phase == "start":
        passes.append(info["generation"])


def report():
    # At exit, which these commands reach without the interpreter's teardown.
    sys.stderr.write("\\n" + json.dumps({{"passes": passes}}) + "\\n")


gc.callbacks.append(count)
atexit.register(report)
sys.argv = ["mfq", *{args!r}]
main()
"""


@pytest.mark.slow
@pytest.mark.parametrize(
    "args",
    [
        ["query", "--where", "status = 'error'", "--group-by", "service", "--format", "json"],
        ["events", "--limit", "3"],
        ["timeseries", "--every", "1h", "--by", "service", "--agg", "p95(duration_ms)"],
    ],
)
def test_a_short_command_runs_no_garbage_collection(store_dir: Path, args: list[str]) -> None:
    # Start-up makes some 100,000 objects that live as long as the process; at CPython's
    # threshold the collector would pass over them some 130 times (once over everything)
    # and free nothing. `mfq` (the console entry point) collects every 200,000
    # allocations: a short command, from its options to its output, runs no pass.
    report = stderr_report(GC_PROBE.format(args=[*args, "--store", "store"]), store_dir)
    assert report["passes"] == []


EXIT_PROBE = """
import atexit, os, sys, threading
from mfq.cli.main import main


def say(line):
    os.write(2, line.encode() + b"\\n")  # unbuffered, in the order things happen




def waits_for_the_main_thread():
    threading.main_thread().join()
    say("thread ended")


# Called by the interpreter's own way out (its threads' shutdown, then atexit, then the
# teardown), which a question's exit skips.
threading._register_atexit(say, "usual exit")
atexit.register(say, "atexit")
if {thread!r}:
    threading.Thread(target=waits_for_the_main_thread).start()
sys.argv = ["mfq", *{args!r}]
main()
"""


def run_exit_probe(
    args: list[str], cwd: Path, *, thread: bool = False
) -> subprocess.CompletedProcess[str]:
    """``mfq ARGS`` through the console entry point, in a new interpreter that says on stderr
    when it leaves the usual way (threads shut down, then teardown), when its atexit
    functions run and (with ``thread``) when a thread that is no daemon ends."""
    return subprocess.run(
        [sys.executable, "-c", EXIT_PROBE.format(args=[*args, "--store", "store"], thread=thread)],
        capture_output=True,
        text=True,
        cwd=cwd,
        env={**os.environ, "COLUMNS": "100", "NO_COLOR": "1"},
        check=False,
    )


@pytest.mark.slow
@pytest.mark.parametrize(
    "args",
    [
        ["query", "--where", "status = 'error'", "--group-by", "service", "--format", "json"],
        ["events", "--limit", "3", "--format", "json"],
        ["timeseries", "--every", "1h", "--by", "service", "--format", "json"],
    ],
)
def test_a_question_leaves_without_the_interpreters_teardown(
    store_dir: Path, args: list[str]
) -> None:
    # After a question is answered, the teardown (a full collection over start-up's
    # objects, every module freed) only costs time: the atexit functions run and the
    # answer is flushed whole, and the process ends there.
    done = run_exit_probe(args, store_dir)
    assert (done.returncode, done.stderr) == (0, "atexit\n")
    assert len(json.loads(done.stdout)) > 0
    # An error's exit code and message are as before.
    done = run_exit_probe(["query", "--where", "status =", "--format", "json"], store_dir)
    assert done.returncode == 2
    assert done.stderr.endswith("found the end\natexit\n"), done.stderr


@pytest.mark.slow
def test_an_ingest_leaves_without_the_teardown_its_batch_committed(
    store_dir: Path, tmp_path: Path
) -> None:
    # An ingest returns with its batch committed, its files and catalog closed and its
    # write threads joined: the teardown (40-60 ms on one core at the end of every
    # ingest) is skipped, and the store reads whole afterwards.
    (tmp_path / "export.ndjson").write_bytes((store_dir / "export.ndjson").read_bytes())
    done = run_exit_probe(["ingest", "export.ndjson", "--format", "json"], tmp_path)
    assert (done.returncode, done.stderr) == (0, "atexit\n")
    assert json.loads(done.stdout)["ingested"] == 30
    assert not (tmp_path / "store" / "tmp").exists()
    done = run_exit_probe(["info", "--format", "json"], tmp_path)
    assert (done.returncode, json.loads(done.stdout)["events"]) == (0, 30)


@pytest.mark.slow
def test_other_commands_and_live_threads_leave_the_usual_way(store_dir: Path) -> None:
    # A command that may write (here one that does not, but is not on the list) ends with
    # the interpreter's teardown, as does a question that leaves a thread running: the
    # process waits for the thread, as Python does.
    done = run_exit_probe(["info", "--format", "json"], store_dir)
    assert (done.returncode, done.stderr) == (0, "usual exit\natexit\n")
    assert json.loads(done.stdout)["events"] == 30
    args = ["query", "--group-by", "service", "--format", "json"]
    done = run_exit_probe(args, store_dir, thread=True)
    assert (done.returncode, done.stderr) == (0, "usual exit\nthread ended\natexit\n")
    assert {row["service"] for row in json.loads(done.stdout)} == {"api", "web"}


BLAS_PROBE = """
import atexit, json, os, sys
from mfq.cli.main import main


def report():
    found = {{"setting": os.environ.get("OPENBLAS_NUM_THREADS"), "numpy": "numpy" in sys.modules}}
    sys.stderr.write("\\n" + json.dumps(found) + "\\n")


atexit.register(report)
sys.argv = ["mfq", *{args!r}]
main()
"""


@pytest.mark.slow
@pytest.mark.parametrize(("preset", "expected"), [(None, "1"), ("2", "2")])
def test_numpys_blas_starts_no_thread_unless_the_user_says(
    store_dir: Path, preset: str | None, expected: str
) -> None:
    # OpenBLAS starts a spinning thread per further core when numpy is imported; `mfq`
    # asks it for none (a user's own setting stands).
    env = {k: v for k, v in os.environ.items() if k != "OPENBLAS_NUM_THREADS"}
    if preset is not None:
        env["OPENBLAS_NUM_THREADS"] = preset
    args = ["query", "--group-by", "service", "--agg", "p95(duration_ms)", "--store", "store"]
    report = stderr_report(BLAS_PROBE.format(args=[*args, "--format", "json"]), store_dir, env)
    assert report == {"setting": expected, "numpy": True}


def test_numpy_under_one_blas_thread_starts_no_thread() -> None:
    # What the setting buys, on this platform: numpy's import starts no thread.
    code = (
        "import os; before = len(os.listdir('/proc/self/task')); import numpy; "
        "print(before, len(os.listdir('/proc/self/task')))"
    )
    env = {**os.environ, "OPENBLAS_NUM_THREADS": "1"}
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, env=env
    )
    before, after = done.stdout.split()
    assert before == after


@pytest.mark.slow
def test_info_reads_the_catalog_without_the_expression_models(store_dir: Path) -> None:
    modules = command_modules(["info", "--store", "store", "--format", "json"], store_dir)
    assert "mfq.store.catalog" in modules
    assert loaded(modules, (*NEVER, *BEYOND_QUERIES, "pydantic", "mfq.query.expr", "rich")) == set()


#: What a question on a file has no use for: a store's SQLite catalog (it reads none),
#: masked arrays (the fast path hands its numpy arrays to Arrow as buffers), importlib's
#: resource readers with zipfile and tempfile (the built-in profiles are files beside
#: their module), and what only a mistake's suggestion (difflib) or a terminal's width
#: (shutil, with bz2 and lzma) needs. About 25 ms of a question on a small file.
NOT_FOR_FILE_QUESTIONS = (
    "mfq.store.catalog",
    "sqlite3",
    "numpy.ma",
    "importlib.resources",
    "zipfile",
    "tempfile",
    "difflib",
    "shutil",
)


@pytest.mark.slow
@pytest.mark.parametrize(
    "args",
    [
        ["query", "export.ndjson", "--group-by", "type", "--format", "csv"],
        ["query", "export.ndjson", "--where", "status = 'error'", "--agg", "p95(duration_ms)"],
        ["query", "export.ndjson", "--where", "severity = 'warn'", "--group-by", "service"],
        ["events", "export.ndjson", "--fields", "type,service", "--format", "json"],
        ["timeseries", "export.ndjson", "--every", "1h", "--by", "service", "--format", "json"],
    ],
)
def test_a_question_on_a_file_loads_no_catalog_masked_arrays_or_resource_readers(
    store_dir: Path, args: list[str]
) -> None:
    modules = command_modules(args, store_dir)
    assert {"pyarrow.json", "mfq.ingest.fastpath", "mfq.ingest.profiles"} <= modules
    assert loaded(modules, NOT_FOR_FILE_QUESTIONS) == set()


@pytest.mark.slow
def test_an_ingest_loads_no_masked_arrays_or_resource_readers(store_dir: Path) -> None:
    modules = command_modules(
        ["ingest", "export.ndjson", "--store", "fresh-store", "--format", "json"], store_dir
    )
    assert {"mfq.store.catalog", "sqlite3", "mfq.ingest.fastpath"} <= modules
    assert loaded(modules, ("numpy.ma", "importlib.resources", "zipfile", "difflib")) == set()


@pytest.mark.slow
@pytest.mark.parametrize(
    "module", ["mfq.query.direct.reader", "mfq.ingest.pipeline", "mfq.query.compile"]
)
def test_the_reading_and_the_filter_compiler_import_no_pandas(module: str) -> None:
    # pyarrow imports pandas at its first conversion of a Python value (pa.array of a
    # list, pa.scalar): a module that made one at import loaded pandas for every library
    # user, and made the command line defer it around the import.
    modules, _ = fresh_import(f"import {module}")
    assert {module, "pyarrow"} <= modules
    assert "pandas" not in modules


@pytest.mark.slow
@pytest.mark.parametrize(
    "args",
    [
        ["ingest", "export.ndjson", "--store", "fresh", "--format", "json"],
        ["query", "export.ndjson", "--group-by", "type", "--format", "json"],
        ["query", "export.ndjson", "--where", "status = 'error'", "--agg", "p95(duration_ms)"],
        ["events", "export.ndjson", "--fields", "type,service", "--format", "json"],
        ["timeseries", "export.ndjson", "--every", "1h", "--format", "json"],
    ],
)
def test_reading_files_loads_no_pandas_and_no_help_texts(store_dir: Path, args: list[str]) -> None:
    # pyarrow imports pandas (0.2-0.3 s) at its first conversion of a Python value unless
    # the command defers it; ingest and a question on files read, validate and answer in
    # Arrow alone. pyarrow.compute comes without its help texts (mfq.query.arrow_import):
    # 90 ms of CPU of every ingest.
    modules = command_modules(args, store_dir)
    assert {"pyarrow", "pyarrow.compute", "mfq.ingest.fastpath"} <= modules
    assert loaded(modules, (*NEVER, *HELP_TEXTS)) == set()


def test_an_ingest_loads_the_parquet_writer_only_once_its_blocks_are_parsed(
    tmp_path: Path,
) -> None:
    """The batch's writer (the Parquet writer, statistics, summaries) is made when the
    first chunk comes, so it loads while the parse workers parse: none of it before the
    first block is handed to a worker. (The stored id hashes are read before any input,
    so that a damaged store is reported at once: tests/store/test_damage.py.) The store
    holds the events all the same."""
    export = tmp_path / "export.ndjson"
    export.write_text(
        "".join(
            f'{{"id": "e{i}", "type": "t", "timestamp": {1_700_000_000 + i}}}\n' for i in range(50)
        )
    )
    script = f"""
import json, sys
import mfq
from mfq.ingest import pipeline
submit = pipeline.submit_chunk
seen = []
def first(*args, **kwargs):
    if not seen:
        seen.extend(m for m in ("pyarrow.parquet", "mfq.store.writer") if m in sys.modules)
        seen.append("first block")
    return submit(*args, **kwargs)
pipeline.submit_chunk = first
store = mfq.open_store({str(tmp_path / "store")!r}, create=True)
ingested = store.ingest([{str(export)!r}]).ingested
print(json.dumps({{"modules": seen, "ingested": [str(ingested)]}}))
"""
    report = _probe(script)
    assert report["modules"] == ["first block"]
    assert report["ingested"] == ["50"]
