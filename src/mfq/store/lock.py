"""An exclusive inter-process write lock (flock), so concurrent ingests never interleave."""

from __future__ import annotations

import errno
import fcntl
import os
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from mfq.errors import StoreBusy, StoreCorrupt

_POLL_SECONDS = 0.05


@contextmanager
def write_lock(path: Path, timeout: float) -> Iterator[None]:
    """Hold the store's write lock; wait up to ``timeout`` seconds for another writer."""
    try:
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    except OSError as err:
        if err.errno in (errno.ENOSPC, errno.EDQUOT):
            raise  # a full disk is said as such by the ingest
        raise StoreCorrupt(
            f"cannot open the store's lock file {path}: {err.strerror}",
            hint="the store must be writable to ingest; 'mfq doctor --repair' fixes a wrong lock",
        ) from err
    try:
        deadline = time.monotonic() + timeout
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    raise StoreBusy(
                        f"another process is writing to the store ({path.parent})",
                        hint="wait for it to finish, then retry",
                    ) from None
                time.sleep(_POLL_SECONDS)
        # The lock dies with the process (even on kill -9), so a crash never leaves it held.
        yield
    finally:
        os.close(fd)
