"""Helpers shared by ``bench/ingest.py`` and ``bench/query.py``.

Both scripts import this module as ``common`` (Python puts a script's own directory on
``sys.path``, so ``python bench/ingest.py`` finds it). It holds the command-line arguments
both take, the progress line, running one child process for its wall time and peak RSS, the
NDJSON export (generated once, reused while its ``.meta.json`` sidecar matches), and the
pieces of the results both report (statistics, environment, acceptance targets, PASS/FAIL).

``bench/query.py`` also runs :func:`serve` in a small launcher process, so this module
imports nothing heavy at the top: ``mfq`` is imported only where it is needed.
"""

from __future__ import annotations

import argparse
import compileall
import importlib.util
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from mfq.demo import DemoConfig

BENCH_DIR = Path(__file__).resolve().parent
DEFAULT_EVENTS = 1_000_000
DEFAULT_RUNS = 5
DEFAULT_SEED = 7
HELP_RUNS = 10
MAX_HELP_SECONDS = 0.2


class BenchError(Exception):
    """A command failed, produced a wrong result or cannot be set up; the benchmark stops."""


@dataclass(frozen=True, slots=True)
class Sample:
    """One finished child process: its wall time, peak RSS, CPU time and output."""

    wall: float
    peak_mib: float
    cpu: float
    returncode: int
    stdout: str
    stderr: str


@dataclass(frozen=True, slots=True)
class Target:
    """An acceptance target: ``value <= limit`` (``value < limit`` when strict)."""

    name: str
    value: float
    limit: float
    unit: str
    strict: bool = False

    @property
    def passed(self) -> bool:
        return self.value < self.limit if self.strict else self.value <= self.limit


#: Runs ``cmd`` in ``cwd`` to completion and returns its :class:`Sample`.
Runner = Callable[[Sequence[str], Path], Sample]
#: Adds script-specific arguments to the parser at a given place in the option list.
ArgumentAdder = Callable[[argparse.ArgumentParser], object]


# --- command line -------------------------------------------------------------------------


def positive_int(text: str) -> int:
    """An argparse type: an integer >= 1 (underscores allowed, as in 5_000_000)."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not an integer: {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1: {value}")
    return value


def build_parser(
    description: str,
    *,
    events_help: str,
    runs_help: str,
    out_help: str,
    json_help: str,
    after_runs: ArgumentAdder | None = None,
    after_out: ArgumentAdder | None = None,
) -> argparse.ArgumentParser:
    """The parser both scripts share: ``--events --runs [after_runs] --seed --out [after_out]
    --json``, with each script's help texts and its own options in those places."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--events", type=positive_int, default=DEFAULT_EVENTS, help=events_help)
    parser.add_argument("--runs", type=positive_int, default=DEFAULT_RUNS, help=runs_help)
    if after_runs is not None:
        after_runs(parser)
    parser.add_argument(
        "--seed",
        type=int,
        default=DEFAULT_SEED,
        help=f"demo generator seed (default {DEFAULT_SEED})",
    )
    parser.add_argument("--out", type=Path, default=BENCH_DIR / "out", help=out_help)
    if after_out is not None:
        after_out(parser)
    parser.add_argument("--json", action="store_true", help=json_help)
    return parser


def common_options(args: argparse.Namespace) -> dict[str, Any]:
    """The parsed shared options (``events runs seed out json``, ``out`` made absolute), as
    keyword arguments for a script's ``Options``."""
    return {
        "events": args.events,
        "runs": args.runs,
        "seed": args.seed,
        "out": args.out.resolve(),
        "json": args.json,
    }


def progress(message: str) -> None:
    """A progress line on stderr (stdout carries only the results)."""
    print(message, file=sys.stderr, flush=True)


# --- running one child --------------------------------------------------------------------


def maxrss_mib(maxrss: int) -> float:
    """``ru_maxrss`` in MiB: it is KiB on Linux, bytes on macOS."""
    return maxrss / 2**20 if sys.platform == "darwin" else maxrss / 2**10


def run_child(cmd: Sequence[str], cwd: Path | str) -> dict[str, Any]:
    """Run ``cmd`` to completion: its wall time, raw ``ru_maxrss`` of that child alone (from
    ``os.wait4`` on its pid), CPU time, exit status and output, as a JSON-ready dict."""
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        start = time.perf_counter()
        with subprocess.Popen(
            list(cmd), cwd=cwd, stdin=subprocess.DEVNULL, stdout=out, stderr=err
        ) as proc:
            _, status, usage = os.wait4(proc.pid, 0)
            wall = time.perf_counter() - start
            # Reaped here, so Popen must not wait for it again.
            proc.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        return {
            "wall": wall,
            "maxrss": usage.ru_maxrss,
            "cpu": usage.ru_utime + usage.ru_stime,
            "returncode": proc.returncode,
            "stdout": out.read().decode(errors="replace"),
            "stderr": err.read().decode(errors="replace"),
        }


def sample_of(reply: Mapping[str, Any]) -> Sample:
    """The :class:`Sample` of a :func:`run_child` result."""
    return Sample(
        wall=reply["wall"],
        peak_mib=maxrss_mib(reply["maxrss"]),
        cpu=reply["cpu"],
        returncode=reply["returncode"],
        stdout=reply["stdout"],
        stderr=reply["stderr"],
    )


def measure(cmd: Sequence[str], cwd: Path) -> Sample:
    """Run ``cmd`` to completion; its wall time and the peak RSS of that child alone."""
    return sample_of(run_child(cmd, cwd))


def serve() -> None:
    """The launcher loop: one JSON request per input line (``cmd``, ``cwd``), each run with
    :func:`run_child` and answered with one JSON line."""
    for line in sys.stdin:
        request = json.loads(line)
        reply = run_child(request["cmd"], request["cwd"])
        sys.stdout.write(json.dumps(reply) + "\n")
        sys.stdout.flush()


def require_success(sample: Sample, cmd: Sequence[str], shown_chars: int | None = None) -> Sample:
    """``sample``, or :class:`BenchError` (with the command, cut to ``shown_chars``, and the
    end of its stderr) unless the command exited with status 0."""
    if sample.returncode != 0:
        tail = "\n".join(sample.stderr.strip().splitlines()[-20:])
        shown = " ".join(cmd)
        if shown_chars is not None:
            shown = shown[:shown_chars]
        raise BenchError(f"exit status {sample.returncode}: {shown}\n{tail}")
    return sample


def mfq_executable() -> Path:
    """The ``mfq`` console script of the running interpreter's environment, with mfq's
    modules compiled to bytecode first.

    pip compiles a package's modules when it installs it, so an installed ``mfq`` starts
    from bytecode. An editable checkout is compiled on every start instead, when Python
    may not cache bytecode (``PYTHONDONTWRITEBYTECODE``, set on some machines): about
    0.05 s of every command that a user's install does not pay.
    """
    path = Path(sys.executable).with_name("mfq")
    if not path.exists():
        raise BenchError(f"no mfq executable next to {sys.executable} (pip install -e .)")
    spec = importlib.util.find_spec("mfq")
    if spec is not None and spec.origin is not None:
        compileall.compile_dir(Path(spec.origin).parent, quiet=1)
    return path


def run_help(checked: Runner, runs: int = HELP_RUNS) -> list[float]:
    """Wall seconds of ``mfq --help``, ``runs`` times after one warm-up, each run by
    ``checked`` (which raises :class:`BenchError` when the command fails)."""
    mfq = mfq_executable()
    cmd = [str(mfq), "--help"]
    cwd = Path(tempfile.gettempdir())
    checked(cmd, cwd)
    walls = [checked(cmd, cwd).wall for _ in range(runs)]
    progress(f"mfq --help: median {statistics.median(walls):.3f} s over {runs} runs")
    return walls


def run_line(i: int, runs: int, a: Sample, b: Sample) -> str:
    """The progress line of one timed pair: mfq (``a``) and DuckDB (``b``)."""
    return (
        f"run {i}/{runs}: mfq {a.wall:.3f} s {a.peak_mib:,.0f} MiB | "
        f"duckdb {b.wall:.3f} s {b.peak_mib:,.0f} MiB | ratio {a.wall / b.wall:.2f}"
    )


def sql_string(value: str) -> str:
    """A SQL string literal."""
    return "'" + value.replace("'", "''") + "'"


# --- a Dask cluster -----------------------------------------------------------------------


class DaskCluster:
    """A Dask cluster on this machine for the benchmark, started as docs/dask.md tells
    users to: one ``dask scheduler`` and ``workers`` ``dask worker`` processes (no nannies,
    ``threads`` threads each), from the ``dask`` executable next to ``sys.executable``.

    The processes are started from this process and are not measured; an mfq client
    pointed at the cluster (``--scheduler``) is measured alone. Used as a context manager,
    it gives the scheduler's address and stops the workers, then the scheduler.
    """

    def __init__(self, workers: int, threads: int, directory: Path) -> None:
        self.workers = workers
        self.threads = threads
        self.directory = directory
        self._processes: list[subprocess.Popen[bytes]] = []

    def __enter__(self) -> str:
        dask = Path(sys.executable).with_name("dask")
        if not dask.exists():
            raise BenchError(
                f"no dask executable next to {sys.executable} (pip install -e '.[dask]')"
            )
        self.directory.mkdir(parents=True, exist_ok=True)
        scheduler_file = self.directory / "scheduler.json"
        scheduler_file.unlink(missing_ok=True)
        try:
            self._start(
                dask, "scheduler", "--host", "127.0.0.1", "--port", "0", "--no-dashboard",
                "--scheduler-file", str(scheduler_file),
            )  # fmt: skip
            address = self._address(scheduler_file)
            for index in range(self.workers):
                self._start(
                    dask, "worker", address, "--host", "127.0.0.1", "--no-nanny",
                    "--no-dashboard", "--nthreads", str(self.threads), "--name", f"bench-{index}",
                )  # fmt: skip
            self._wait_for_workers(address)
        except BaseException:
            self.__exit__()
            raise
        progress(f"dask cluster at {address}: {self.workers} workers x {self.threads} threads")
        return address

    def __exit__(self, *exc: object) -> None:
        # Workers first: a worker whose scheduler is gone waits for it before exiting.
        for process in reversed(self._processes):
            process.terminate()
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        self._processes.clear()

    def _start(self, *cmd: object) -> None:
        name = f"{cmd[1]}-{len(self._processes)}.log"
        with (self.directory / name).open("wb") as log:
            self._processes.append(
                subprocess.Popen(
                    [str(c) for c in cmd],
                    stdin=subprocess.DEVNULL,
                    stdout=log,
                    stderr=subprocess.STDOUT,
                    cwd=self.directory,
                )
            )

    def _address(self, scheduler_file: Path) -> str:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self._processes[0].poll() is not None:
                raise BenchError(f"dask scheduler exited; see {self.directory}")
            if scheduler_file.exists():
                try:
                    return str(json.loads(scheduler_file.read_text())["address"])
                except (json.JSONDecodeError, KeyError):
                    pass  # being written
            time.sleep(0.1)
        raise BenchError(f"dask scheduler did not start in 60 s; see {self.directory}")

    def _wait_for_workers(self, address: str) -> None:
        import importlib

        distributed: Any = importlib.import_module("distributed")  # untyped
        with distributed.Client(address, set_as_default=False) as client:
            client.wait_for_workers(self.workers, timeout=120)


# --- the export ---------------------------------------------------------------------------


def name_suffix(events: int, seed: int) -> str:
    """``N``, or ``N-sS`` for a seed other than the default: names the export and the store."""
    return f"{events}" if seed == DEFAULT_SEED else f"{events}-s{seed}"


def export_path(out: Path, events: int, seed: int) -> Path:
    """The NDJSON export ``OUT/events-N.ndjson``, shared by both benchmarks."""
    return out / f"events-{name_suffix(events, seed)}.ndjson"


def export_meta(path: Path) -> Path:
    """The export's sidecar, ``<export>.meta.json``."""
    return path.with_name(path.name + ".meta.json")


def export_is_current(path: Path, config: DemoConfig) -> bool:
    """True when ``path`` holds exactly the export ``config`` generates (per its sidecar)."""
    meta_path = export_meta(path)
    if not (path.exists() and meta_path.exists()):
        return False
    meta = json.loads(meta_path.read_text())
    return bool(meta.get("config") == repr(config) and meta.get("bytes") == path.stat().st_size)


def ensure_generated(
    path: Path, config: Mapping[str, object], write: Callable[[Path], None]
) -> bool:
    """Run ``write(path)`` unless the file's sidecar records the same ``config`` and the
    file's size; True when it was written."""
    meta = path.with_name(path.name + ".meta.json")
    if path.exists() and meta.exists():
        recorded = json.loads(meta.read_text())
        if recorded.get("config") == dict(config) and recorded.get("bytes") == path.stat().st_size:
            return False
    path.parent.mkdir(parents=True, exist_ok=True)
    meta.unlink(missing_ok=True)
    write(path)
    meta.write_text(json.dumps({"config": dict(config), "bytes": path.stat().st_size}) + "\n")
    return True


def ensure_export(path: Path, config: DemoConfig) -> None:
    """Generate the NDJSON export unless an identical one exists; record it in the sidecar."""
    from mfq.demo import write_export

    if export_is_current(path, config):
        progress(f"reusing {path} ({path.stat().st_size / 2**20:,.1f} MiB)")
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    progress(f"generating {config.events:,} events (seed {config.seed}) into {path} ...")
    start = time.perf_counter()
    export_meta(path).unlink(missing_ok=True)
    write_export(path, config)
    size = path.stat().st_size
    export_meta(path).write_text(
        json.dumps({"config": repr(config), "bytes": size}, indent=2) + "\n"
    )
    progress(f"  {size / 2**20:,.1f} MiB in {time.perf_counter() - start:.1f} s")


def ensure_demo_store(out: Path, events: int = DEFAULT_EVENTS, seed: int = DEFAULT_SEED) -> Path:
    """The demo store ``OUT/store-N`` (the name ``bench/query.py`` uses), ingested from the
    shared export with the installed ``mfq`` when it is missing."""
    from mfq.demo import DemoConfig

    store = out / f"store-{name_suffix(events, seed)}"
    if (store / "catalog.sqlite").exists():
        progress(f"reusing {store}")
        return store
    export = export_path(out, events, seed)
    ensure_export(export, DemoConfig(events=events, seed=seed))
    progress(f"ingesting into {store} ...")
    ingest = [str(mfq_executable()), "ingest", str(export), "--store", str(store)]
    require_success(measure(ingest, out), ingest)
    return store


# --- results ------------------------------------------------------------------------------


def pair_ratios(a_walls: Iterable[float], b_walls: Iterable[float]) -> list[float]:
    """Run i of A over run i of B."""
    return [a / b for a, b in zip(a_walls, b_walls, strict=True)]


def wall_summary(walls: Sequence[float]) -> dict[str, float]:
    """Median / min / max of the wall times."""
    return {
        "wall_median": round(statistics.median(walls), 4),
        "wall_min": round(min(walls), 4),
        "wall_max": round(max(walls), 4),
    }


def peak_summary(peaks: Sequence[float]) -> dict[str, float]:
    """Median / max of the peak RSS values."""
    return {
        "peak_mib_median": round(statistics.median(peaks), 1),
        "peak_mib_max": round(max(peaks), 1),
    }


def ratio_summary(ratios: Sequence[float], digits: int) -> dict[str, Any]:
    """The pairwise ratios and their median (rounded to ``digits``)."""
    return {
        "pairs": [round(r, 3) for r in ratios],
        "median": round(statistics.median(ratios), digits),
    }


def environment() -> dict[str, Any]:
    """Versions of mfq, DuckDB and Python, the platform and the CPU count."""
    return {
        "mfq": metadata.version("mfq"),
        "duckdb": metadata.version("duckdb"),
        "python": platform.python_version(),
        "platform": platform.platform(),
        "cpus": os.cpu_count(),
    }


def help_summary(walls: Sequence[float]) -> dict[str, Any]:
    """The ``mfq --help`` runs and their median."""
    return {
        "runs": len(walls),
        "wall_seconds": [round(w, 4) for w in walls],
        "median": round(statistics.median(walls), 4),
    }


def target_rows(targets: Iterable[Target], with_strict: bool) -> list[dict[str, Any]]:
    """The targets as JSON-ready objects (with their ``strict`` flag when ``with_strict``)."""
    rows: list[dict[str, Any]] = []
    for t in targets:
        row: dict[str, Any] = {
            "name": t.name,
            "value": round(t.value, 4),
            "limit": t.limit,
            "unit": t.unit,
        }
        if with_strict:
            row["strict"] = t.strict
        row["passed"] = t.passed
        rows.append(row)
    return rows


def help_line(result: Mapping[str, Any]) -> str:
    """The ``mfq --help`` line of the report."""
    return f"mfq --help: median {result['help']['median']:.3f} s over {result['help']['runs']} runs"


def target_lines(rows: Iterable[Mapping[str, Any]]) -> list[str]:
    """One PASS/FAIL line per target row of :func:`target_rows`."""
    lines = []
    for t in rows:
        verdict = "PASS" if t["passed"] else "FAIL"
        digits = {"s": 3, "MiB": 1}.get(t["unit"], 2)
        unit = f" {t['unit']}" if t["unit"] else ""
        op = "<" if t.get("strict") else "<="
        value, limit = f"{t['value']:,.{digits}f}", f"{t['limit']:,.{digits}f}"
        lines.append(f"{verdict}  {t['name']}: {value}{unit} {op} {limit}{unit}")
    return lines
