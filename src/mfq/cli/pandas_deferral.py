"""Keeping pandas out of a command that does not need it: a policy of the command line.

pyarrow imports pandas (about 0.2 s, a third of a short command) the first time it turns
any Python value into Arrow, only to check whether the value is a pandas object. A command
that answers from Arrow tables alone (``mfq query``, ``events``, ``timeseries``: the
engines answer in Arrow, and nothing in the library asks for pandas there) runs its query
inside :func:`pandas_deferred`: while it runs, an import hook answers that probe with "not
installed" (pyarrow then skips its pandas checks). Once pandas is imported after a
deferral, pyarrow's probe is reset, so pandas objects are recognised again.

This rests on two things pyarrow does not promise (``pyarrow.lib._pandas_api`` is
private): that its probe imports ``pandas`` lazily and remembers a failure, and that
reading ``_pandas_api.compat`` retries the import. ``tests/cli/test_pandas_deferral.py``
pins both, so a pyarrow upgrade that changes them fails there, and ``pyproject.toml``
bounds pyarrow's major version.
"""

from __future__ import annotations

import importlib.machinery
import sys
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from importlib.machinery import ModuleSpec
from types import ModuleType
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    # At run time the finders and the loader are plain classes (``sys.meta_path`` takes any
    # object with ``find_spec``): importing ``importlib.abc`` imports importlib.resources,
    # tempfile and random, which a query has no other use for.
    from importlib.abc import Loader


class _RefusePandas:
    """Answers every import of pandas with ModuleNotFoundError."""

    def find_spec(
        self, fullname: str, path: Sequence[str] | None, target: ModuleType | None = None
    ) -> ModuleSpec | None:
        if fullname == "pandas" or fullname.startswith("pandas."):
            raise ModuleNotFoundError(f"{fullname} is deferred", name=fullname)
        return None


class _ResetAfterImport:
    """On the next import of pandas (by anyone): import it as usual, then reset pyarrow's
    probe, which still remembers pandas as missing from the deferred block."""

    def find_spec(
        self, fullname: str, path: Sequence[str] | None, target: ModuleType | None = None
    ) -> ModuleSpec | None:
        if fullname != "pandas":
            return None
        sys.meta_path.remove(self)
        spec = importlib.machinery.PathFinder.find_spec(fullname, path)
        if spec is not None and spec.loader is not None:
            spec.loader = _ThenResetProbe(spec.loader)  # type: ignore[assignment]
        return spec


class _ThenResetProbe:
    """A module loader that resets pyarrow's pandas probe once the module has run."""

    def __init__(self, loader: Loader) -> None:
        self._loader = loader

    def create_module(self, spec: ModuleSpec) -> ModuleType | None:
        return self._loader.create_module(spec)

    def exec_module(self, module: ModuleType) -> None:
        self._loader.exec_module(module)
        _reset_pyarrow_probe()

    def __getattr__(self, name: str) -> object:
        return getattr(self._loader, name)  # resources, source, ... from the real loader


_REFUSER = _RefusePandas()


def pandas_loaded() -> bool:
    """True when pandas is imported in this process (nothing left to save)."""
    return "pandas" in sys.modules


@contextmanager
def pandas_deferred() -> Iterator[None]:
    """Run a block without importing pandas (a no-op when pandas is loaded already)."""
    if pandas_loaded() or _REFUSER in sys.meta_path:
        yield
        return
    sys.meta_path.insert(0, _REFUSER)
    try:
        yield
    finally:
        _remove_refuser()
        if not pandas_loaded():
            sys.meta_path.insert(0, _ResetAfterImport())


def _remove_refuser() -> None:
    while _REFUSER in sys.meta_path:
        sys.meta_path.remove(_REFUSER)


def _reset_pyarrow_probe() -> None:
    """pyarrow remembers a failed pandas import; a strict lookup retries and succeeds.
    When the probe itself is importing pandas (its first look came after the deferral),
    it holds its lock and records the result itself: a lookup then would wait for that
    lock forever."""
    arrow = sys.modules.get("pyarrow.lib")
    probe = getattr(arrow, "_pandas_api", None)
    lock = getattr(probe, "_lock", None)
    if probe is not None and not (lock is not None and lock.locked()):
        probe.compat  # noqa: B018 - the property retries the import when it failed before
