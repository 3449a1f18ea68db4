"""Worker threads kept for the process, and made again in a forked child.

A ``ThreadPoolExecutor`` held by a module is inherited by a child made with ``os.fork``
(``multiprocessing``'s default on Linux) without its threads: the child's executor believes
its idle workers are there, starts none, and the child's first ingest waits forever for
work no thread takes. :class:`WorkerThreads` makes its executor again after a fork.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import ParamSpec, TypeVar

P = ParamSpec("P")
R = TypeVar("R")


class WorkerThreads:
    """A fixed number of worker threads for the process (``submit`` as an executor's)."""

    def __init__(self, workers: int, name: str) -> None:
        self._workers = workers
        self._name = name
        self._pool = self._new_pool()
        if hasattr(os, "register_at_fork"):  # (POSIX; elsewhere there is no fork)
            os.register_at_fork(after_in_child=self._renew)

    def _new_pool(self) -> ThreadPoolExecutor:
        return ThreadPoolExecutor(max_workers=self._workers, thread_name_prefix=self._name)

    def _renew(self) -> None:
        self._pool = self._new_pool()

    def submit(self, task: Callable[P, R], *args: P.args, **kwargs: P.kwargs) -> Future[R]:
        """Run ``task(*args, **kwargs)`` on one of the threads."""
        return self._pool.submit(task, *args, **kwargs)
