"""The ``mfq`` command group and the one place errors become exit codes."""

from __future__ import annotations

import atexit
import errno
import gc
import os
import signal
import sys
import threading
from typing import NoReturn

import click

from mfq.errors import ExitCode, MfqError

# name -> (module, function, one-line help shown by `mfq --help` without importing it)
_COMMANDS = {
    "ingest": ("mfq.cli.ingest", "ingest", "Validate exports and add them to the store."),
    "info": ("mfq.cli.inspect", "info", "Events, time range, sources, size, projects, types."),
    "schema": ("mfq.cli.inspect", "schema", "Every field: type, presence, distinct, top values."),
    "rejects": ("mfq.cli.inspect", "rejects", "Records ingest rejected, with source and reason."),
    "events": ("mfq.cli.query", "events", "Raw matching events (a tail of the store)."),
    "query": ("mfq.cli.query", "query", "Aggregate events by group: count, p95, ratio, ..."),
    "timeseries": ("mfq.cli.query", "timeseries", "Aggregates per time bucket, gaps filled."),
    "correlate": (
        "mfq.cli.correlate",
        "correlate",
        "What distinguishes a selection: field values ranked.",
    ),
    "anomalies": ("mfq.cli.anomalies", "anomalies", "Time buckets that depart from the usual."),
    "patterns": ("mfq.cli.patterns", "patterns", "Messages grouped into templates; new ones."),
    "changes": (
        "mfq.cli.patterns",
        "changes",
        "Releases inferred from versions: rollouts, rollbacks.",
    ),
    "trace": ("mfq.cli.trace", "trace", "One trace as a span tree (waterfall)."),
    "timeline": (
        "mfq.cli.trace",
        "timeline",
        "Incident reconstruction: first error, peak, recovery.",
    ),
    "slo": ("mfq.cli.slo", "slo", "Objective compliance, error budget, burn rate, MTTR."),
    "sessions": (
        "mfq.cli.journeys",
        "sessions",
        "Operations by a key: duration, outcome, the stuck ones.",
    ),
    "funnel": ("mfq.cli.journeys", "funnel", "Conversion through steps by a key, time between."),
    "paths": ("mfq.cli.journeys", "paths", "The common sequences of types after or before a step."),
    "report": ("mfq.cli.report", "report", "A period's report as Markdown or self-contained HTML."),
    "check": ("mfq.cli.check", "check", "CI gate: assertions over aggregates, exit 1 on failure."),
    "doctor": ("mfq.cli.doctor", "doctor", "Check a store end to end; --repair drops damage."),
    "demo": ("mfq.cli.demo", "demo", "Write a realistic sample export, ingest it, show it."),
    "questions": ("mfq.cli.project", "questions", "The saved questions of mfq.toml."),
    "run": ("mfq.cli.project", "run", "Run a saved question of mfq.toml (options override)."),
    "compact": ("mfq.cli.upkeep", "compact", "Rewrite each day's small files as few large ones."),
    "prune": ("mfq.cli.upkeep", "prune", "Remove events before a date (retention)."),
}


class LazyGroup(click.Group):
    """Imports a command's module only when that command runs (keeps --help fast)."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return list(_COMMANDS)

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        rows = [(name, help_text) for name, (_m, _f, help_text) in _COMMANDS.items()]
        with formatter.section("Commands"):
            formatter.write_dl(rows)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        target = _COMMANDS.get(cmd_name)
        if target is None:
            return None
        import importlib

        module = importlib.import_module(target[0])
        command: click.Command = getattr(module, target[1])
        return command


class MfqGroup(LazyGroup):
    """The root group: maps every error to one stderr line and SPEC's exit code."""

    #: The command this process ran, once click has resolved it (``main`` reads it).
    ran: str | None = None

    def resolve_command(
        self, ctx: click.Context, args: list[str]
    ) -> tuple[str | None, click.Command | None, list[str]]:
        name, command, rest = super().resolve_command(ctx, args)
        self.ran = name
        return name, command, rest

    def invoke(self, ctx: click.Context) -> object:
        try:
            return super().invoke(ctx)
        except KeyboardInterrupt as stop:
            # click would answer an interrupt with an empty line on stderr, whatever stopped
            # the process and wherever stderr goes; `_run` writes it only after a terminal's ^C.
            raise _Interrupted from stop

    def main(  # type: ignore[override]
        self,
        args: list[str] | None = None,
        prog_name: str | None = None,
        complete_var: str | None = None,
        standalone_mode: bool = True,
        **extra: object,
    ) -> int:
        argv = sys.argv[1:] if args is None else list(args)
        code = _run(self, argv, prog_name or "mfq", debug="--debug" in argv)
        if standalone_mode:
            sys.exit(code)
        return code


@click.group(cls=MfqGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="mfq", prog_name="mfq")
@click.option("--debug", is_flag=True, help="Show tracebacks for errors.")
@click.option(
    "--config",
    "config",
    default=None,
    metavar="FILE",
    help="Project file (default: $MFQ_CONFIG, else mfq.toml here or in a parent directory).",
)
@click.pass_context
def cli(ctx: click.Context, debug: bool, config: str | None) -> None:
    """mfq: answers from Tallyfy Manufactory event exports.

    Ingest JSON/NDJSON exports into a Parquet store, then inspect and query them.
    """
    if ctx.resilient_parsing:
        return
    from mfq.cli.project import apply_project

    apply_project(ctx, config)


def _interrupt(signum: int, _frame: object) -> None:
    """Ctrl-C (SIGINT) and SIGTERM (``kill``, ``timeout``, a container stopping): raised
    wherever the process is, both unwind the same way: an ingest's batch is discarded (or
    was committed whole), its lock released, threads waiting on input let go."""
    from mfq.stopping import stop

    stop(signum)
    raise KeyboardInterrupt


#: Allocations between two collections of the youngest generation (CPython's default: 700).
#: A query allocates some 100,000 objects that live as long as the process (modules,
#: classes, pydantic schemas, pyarrow's wrappers); at the default, the collector runs
#: about 130 times over them and once over everything, freeing nothing: 40-80 ms, a
#: sixth of a short query. At this threshold a short command is never collected, and a
#: long one (an ingest) collects every 200,000 allocations, its cycles freed as before.
GC_YOUNG_THRESHOLD = 200_000


#: Commands that, once returned, leave the process nothing to finish but its atexit
#: functions and the standard streams (no file or store open for writing, no thread of
#: their own): the questions, which read and print, and ``ingest``, whose batch is
#: committed (or discarded), its files closed, its write threads joined and its catalog
#: connection closed before it returns. The interpreter's teardown after them (a full
#: garbage collection over start-up's 100,000 objects, then every module's objects freed
#: one by one) is a sixth of a short query's own instructions, and 40-60 ms at the end
#: of an ingest, on one core.
QUICK_EXIT = frozenset({"events", "ingest", "query", "timeseries"})


#: numpy's BLAS (OpenBLAS) starts, when numpy is imported, a thread for every further
#: core, which spins while it waits for work: on two cores it holds one of them, from
#: Arrow's readers, for most of a short command. mfq multiplies no matrices large enough
#: to gain from threads. Set for this process (and its children) unless the user has.
BLAS_THREADS = ("OPENBLAS_NUM_THREADS", "1")


def main() -> None:
    """Console entry point."""
    os.environ.setdefault(*BLAS_THREADS)
    _, older, oldest = gc.get_threshold()
    gc.set_threshold(GC_YOUNG_THRESHOLD, older, oldest)
    if hasattr(signal, "SIGPIPE"):
        # `mfq events | head` ends quietly, as other Unix tools do.
        signal.signal(signal.SIGPIPE, signal.SIG_DFL)
    for stopping in (signal.SIGINT, signal.SIGTERM):
        # A signal the parent made us ignore (a script's background job, ``trap '' INT``: Ctrl-C
        # at the terminal is not for it) stays ignored, as in other Unix tools.
        if signal.getsignal(stopping) is not signal.SIG_IGN:
            signal.signal(stopping, _interrupt)
    try:
        code = cli.main(standalone_mode=False)
    finally:
        # The interpreter's exit collects once more over every object left, which the end
        # of the process frees anyway: 60-90 ms after the answer of a question on a file
        # (file handles and temporary folders were closed by their owners already).
        gc.freeze()
    if cli.ran in QUICK_EXIT:
        _exit_without_teardown(code)
    sys.exit(code)


def _exit_without_teardown(code: int) -> NoReturn:
    """Exit with ``code`` as ``sys.exit`` would, without the interpreter's teardown: the
    atexit functions run and the standard streams are flushed, then the process ends. A
    thread that is not a daemon, or a stream that cannot be flushed, takes the usual way
    out (which waits for the thread, or reports the stream)."""
    main_thread = threading.main_thread()
    if any(t is not main_thread and not t.daemon for t in threading.enumerate()):
        sys.exit(code)
    atexit._run_exitfuncs()
    try:
        sys.stdout.flush()
        sys.stderr.flush()
    except (OSError, ValueError):
        sys.exit(code)
    os._exit(code)


#: Errors of the place written to or read from, with what to do about each.
_PLACE_ERRORS = {
    errno.ENOSPC: "free some space, or write elsewhere",
    errno.EDQUOT: "free some space, or write elsewhere",
    errno.EROFS: "choose a place that can be written",
    errno.EACCES: "check the permissions of the path",
    errno.EPERM: "check the permissions of the path",
    errno.EIO: "the device failed: check it, then try again",
}


class _Interrupted(BaseException):
    """A command stopped by SIGINT or SIGTERM (click does not catch this one)."""


def _run(group: click.Group, args: list[str], prog_name: str, *, debug: bool) -> int:
    from mfq.stopping import reset

    reset()  # (a command run again in this process starts unstopped)
    try:
        result = click.Group.main(group, args=args, prog_name=prog_name, standalone_mode=False)
    except click.exceptions.Exit as done:
        return int(done.exit_code)
    except _Interrupted:
        return _interrupted()
    except (click.exceptions.Abort, KeyboardInterrupt):
        # (click turns an interrupt while it parses into Abort, its empty line written.)
        return _fail("interrupted", ExitCode.INTERRUPTED)
    except click.UsageError as err:
        hint = f" (see 'mfq {err.ctx.info_name} --help')" if err.ctx and err.ctx.parent else ""
        return _fail(f"{err.format_message()}{hint}", ExitCode.USAGE)
    except click.ClickException as err:
        return _fail(err.format_message(), ExitCode.USAGE)
    except MfqError as err:
        if debug:
            raise
        return _fail(str(err), err.exit_code)
    except OSError as err:
        if debug or err.errno not in _PLACE_ERRORS:
            raise
        # The machine's, not a bug of mfq: a full disk, a read-only or failing device,
        # a path mfq may not write (the answer written to /dev/full, say).
        where = f": {err.filename}" if err.filename else ""
        return _fail(f"{err.strerror}{where} ({_PLACE_ERRORS[err.errno]})", ExitCode.DATA)
    except Exception as err:
        if debug:
            raise
        message = f"internal error: {type(err).__name__}: {err} (rerun with --debug for details)"
        return _fail(message, ExitCode.INTERNAL)
    return int(result) if isinstance(result, int) else int(ExitCode.OK)


def _interrupted() -> int:
    """One line, on a line of its own where a terminal echoed Ctrl-C (``^C``) without
    ending its line (a progress bar cleared from it has left its line empty)."""
    from mfq.env import Env
    from mfq.render.progress import cleared_a_line
    from mfq.stopping import stopped_by

    env = Env.from_process()
    if stopped_by() in (None, signal.SIGINT) and env.stderr_isatty and not cleared_a_line():
        env.stderr.write("\n")
    return _fail("interrupted", ExitCode.INTERRUPTED)


def _fail(message: str, code: ExitCode) -> int:
    from mfq.env import Env
    from mfq.render import print_message

    line = " ".join(message.split())
    print_message(Env.from_process(), f"mfq: error: {line}")
    return int(code)
