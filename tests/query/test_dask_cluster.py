"""The Dask engine on real processes: a ``dask scheduler`` and two ``dask worker``
processes on localhost, started as docs/dask.md tells users to, with mfq pointed at them
by ``--scheduler``; and the local cluster ``mfq --engine dask`` starts for one command
when no scheduler is named."""

from __future__ import annotations

import fcntl
import json
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import IO

import pytest
from click.testing import CliRunner

import mfq
from mfq.cli.main import cli
from mfq.demo import DemoConfig, write_export

pytestmark = pytest.mark.slow
#: Seconds a process may take to start, or a command to answer: processes importing pandas
#: and Dask while the machine is busy take many times their idle time (a bound, not a test).
START_TIMEOUT = 300

QUERIES = [
    [
        "query",
        "--group-by",
        "service,status",
        "--agg",
        "count",
        "--agg",
        "p95(duration_ms)",
        "--agg",
        "count_distinct(actor_profile_id)",
        "--limit",
        "4",
        "--totals",
    ],
    ["timeseries", "--every", "6h", "--by", "type", "--top", "3", "--agg", "count"],
    ["events", "--where", "status = 'error'", "--sort", "-duration_ms", "--limit", "5"],
]


@pytest.fixture(scope="module")
def store_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("real")
    export = root / "demo.ndjson"
    write_export(export, DemoConfig(events=1200, seed=3))
    with mfq.open_store(root / "store") as store:
        store.ingest([export])
    return root / "store"


def _wait_for_address(scheduler_file: Path, scheduler: subprocess.Popen[bytes]) -> str:
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        if scheduler.poll() is not None:
            raise RuntimeError(f"dask scheduler exited with status {scheduler.returncode}")
        if scheduler_file.exists():
            try:
                return str(json.loads(scheduler_file.read_text())["address"])
            except (json.JSONDecodeError, KeyError):
                pass  # written but not complete yet
        time.sleep(0.1)
    raise RuntimeError(f"dask scheduler did not start within {START_TIMEOUT} s")


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """``dask scheduler`` and two ``dask worker`` processes (no nannies, so the processes
    started here are the workers themselves); the scheduler's address."""
    work = tmp_path_factory.mktemp("cluster")
    dask = str(Path(sys.executable).with_name("dask"))
    scheduler_file = work / "scheduler.json"
    processes: list[subprocess.Popen[bytes]] = []
    logs: list[IO[str]] = []

    def start(name: str, *args: str) -> subprocess.Popen[bytes]:
        log = (work / f"{name}.log").open("w")
        logs.append(log)
        process = subprocess.Popen([dask, *args], stdout=log, stderr=subprocess.STDOUT, cwd=work)
        processes.append(process)
        return process

    try:
        scheduler = start(
            "scheduler",
            "scheduler",
            "--host",
            "127.0.0.1",
            "--port",
            "0",
            "--no-dashboard",
            "--scheduler-file",
            str(scheduler_file),
        )
        address = _wait_for_address(scheduler_file, scheduler)
        for index in range(2):
            start(
                f"worker{index}",
                "worker",
                address,
                "--host",
                "127.0.0.1",
                "--nthreads",
                "1",
                "--no-nanny",
                "--no-dashboard",
                "--name",
                f"worker{index}",
            )
        from distributed import Client

        with Client(address, set_as_default=False) as client:
            client.wait_for_workers(2, timeout=START_TIMEOUT)
        yield address
    finally:
        # Workers first: a worker whose scheduler is gone waits for it before exiting.
        for process in reversed(processes):
            process.terminate()
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        for log in logs:
            log.close()


def invoke(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(cli, list(args))
    return result.exit_code, result.stdout, result.stderr


def test_queries_through_scheduler_give_the_pandas_answers(store_root: Path, cluster: str) -> None:
    for args in QUERIES:
        common = [*args, "--store", str(store_root), "--format", "json"]
        expected = invoke(*common)
        assert expected[0] == 0 and len(json.loads(expected[1])) >= 5, expected
        assert invoke(*common, "--engine", "dask", "--scheduler", cluster) == expected
    from distributed import Client

    with Client(cluster, set_as_default=False) as client:
        executed = client.run(lambda dask_worker: dask_worker.state.executed_count)
    assert len(executed) == 2 and all(count > 0 for count in executed.values()), executed


def test_without_a_scheduler_a_local_cluster_serves_one_command(
    store_root: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The installed ``mfq``, through pipes: its local cluster (worker processes) gives
    the pandas engine's answer, prints nothing else, and is gone when the command ends."""
    monkeypatch.delenv("MFQ_DASK_SCHEDULER", raising=False)
    monkeypatch.delenv("MFQ_ENGINE", raising=False)
    mfq_command = str(Path(sys.executable).with_name("mfq"))
    args = [*QUERIES[0], "--store", str(store_root), "--format", "json"]
    expected = invoke(*args)
    answer = subprocess.run(
        [mfq_command, *args, "--engine", "dask"],
        capture_output=True,
        text=True,
        check=False,
        timeout=START_TIMEOUT,
    )
    assert (answer.returncode, answer.stderr) == (0, "")
    assert (0, answer.stdout, "") == expected


def _until_found(folder: Path, pattern: str, process: subprocess.Popen[str]) -> None:
    deadline = time.monotonic() + START_TIMEOUT
    while not any(folder.glob(pattern)):
        if process.poll() is not None or time.monotonic() > deadline:
            process.kill()
            raise AssertionError(f"no {pattern} in {folder}: {process.communicate()}")
        time.sleep(0.05)


def test_a_slow_scratch_directory_prints_nothing(
    store_root: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """On a busy machine making a scratch directory can take over a second, and Dask then
    warns on stderr (blaming a network file system). Here the scheduler and a worker process
    each wait over a second for the scratch space's lock, as they would on a busy machine:
    the command still prints its answer and nothing else."""
    monkeypatch.delenv("MFQ_DASK_SCHEDULER", raising=False)
    monkeypatch.delenv("MFQ_ENGINE", raising=False)
    monkeypatch.setenv("DASK_TEMPORARY_DIRECTORY", str(tmp_path))
    scratch = tmp_path / "dask-scratch-space"
    scratch.mkdir()
    args = [*QUERIES[0], "--store", str(store_root), "--format", "json"]
    expected = invoke(*args)
    mfq_command = str(Path(sys.executable).with_name("mfq"))
    with (scratch / "global.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # as Dask's own lock (locket) takes it
        process = subprocess.Popen(
            [mfq_command, *args, "--engine", "dask"],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for server in ("scheduler", "worker"):
            # Its directory is made before it waits for the lock to claim it.
            _until_found(scratch, f"{server}-*", process)
            time.sleep(1.2)  # past the second after which Dask warns
            fcntl.flock(lock, fcntl.LOCK_UN)
            _until_found(scratch, f"{server}-*.dirlock", process)  # it took the lock
            fcntl.flock(lock, fcntl.LOCK_EX)
        fcntl.flock(lock, fcntl.LOCK_UN)
        output, errors = process.communicate(timeout=START_TIMEOUT)
    assert (process.returncode, output, errors) == expected
