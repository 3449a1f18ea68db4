"""Importing ``pyarrow.compute`` without its help texts: a policy the command line chooses.

``import pyarrow.compute`` wraps each of Arrow's ~290 compute functions in a Python
function and writes, for each, a docstring (parsing its options class's docstring with
numpydoc's parser, which imports ``pydoc``) and an ``inspect`` signature. That is about a
tenth of a short command's instructions, spent on help texts no command shows.
:func:`import_pyarrow_compute` imports the module with those two steps made trivial: the
wrappers call the same kernels with the same arguments; their ``__doc__`` lacks the options'
descriptions and their ``__signature__`` the options' keywords. The library never calls
it itself (a Python user may read ``help(pc.round)``); only a command does, before it opens
the store, so the library's own ``import pyarrow.compute`` finds the module made. (It sits
in the query layer, which owns the use of pyarrow, so that the CLI imports no pyarrow.)

This rests on what ``pyarrow/compute.py`` does at import, which pyarrow does not promise:
it parses options docstrings with ``pyarrow.vendored.docscrape.NumpyDocString`` and reads
option keywords with ``inspect.signature``. ``tests/query/test_arrow_import.py`` pins that the
wrappers so made compute what pyarrow's own do, and ``pyproject.toml`` bounds pyarrow's
major version. Should the import fail this way, the module is imported as usual.
"""

from __future__ import annotations

import inspect
import sys
from types import ModuleType
from typing import Any

__all__ = ["import_pyarrow_compute"]

_DOCSCRAPE = "pyarrow.vendored.docscrape"
_NO_PARAMETERS = inspect.Signature()


class _NoDocs(ModuleType):
    """Stands in for ``pyarrow.vendored.docscrape`` while ``pyarrow.compute`` is imported:
    every docstring parses to no parameters."""

    @staticmethod
    def NumpyDocString(doc: str) -> dict[str, Any]:
        return {"Parameters": ()}


def _no_signature(obj: object, **kwargs: object) -> inspect.Signature:
    return _NO_PARAMETERS


def import_pyarrow_compute() -> None:
    """Import ``pyarrow.compute`` (once per process) without writing its help texts."""
    if "pyarrow.compute" in sys.modules:
        return
    import pyarrow

    saved = sys.modules.get(_DOCSCRAPE)
    real_signature = inspect.signature
    sys.modules[_DOCSCRAPE] = _NoDocs(_DOCSCRAPE)
    inspect.signature = _no_signature
    try:
        import pyarrow.compute
    except Exception:
        sys.modules.pop("pyarrow.compute", None)
    finally:
        inspect.signature = real_signature
        if saved is None:
            sys.modules.pop(_DOCSCRAPE, None)
        else:
            sys.modules[_DOCSCRAPE] = saved
    import pyarrow.compute  # noqa: F401 (made above, or now as usual)
