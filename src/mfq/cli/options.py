"""Options shared by many commands, the typed values they are gathered into, and the Env
built from them.

``--where`` (repeatable, ANDed), ``--since/--until/--last/--now`` and ``--unweighted`` are
gathered into the library's own :class:`~mfq.query.requests.Selection` (a light module:
no parser, no pandas), which the command hands to the ``Store`` method as it is.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, tzinfo
from typing import Any, TypeVar

import click

from mfq.cli.command import gathered
from mfq.env import Env
from mfq.errors import UsageError
from mfq.query.engines import DEFAULT_ENGINE, ENGINE_CHOICES, SCHEDULER_ENV
from mfq.query.selection import Selection
from mfq.render import OutputFormat

F = TypeVar("F", bound=Callable[..., Any])


@dataclass(frozen=True)
class Source:
    """Where the events come from: ``--store`` or the export FILEs named, the ``--let``
    fields defined on them, and the ``--engine``/``--scheduler`` that reads them."""

    inputs: tuple[str, ...] = ()
    store_path: str | None = None
    engine: str = DEFAULT_ENGINE
    scheduler: str | None = None
    let: tuple[str, ...] = ()


@dataclass(frozen=True)
class Output:
    """How a command shows its answer: ``--format`` and ``--tz`` (``--raw`` is read by
    ``make_env``)."""

    fmt: str = OutputFormat.TABLE.value
    tz_name: str | None = None

    @property
    def format(self) -> OutputFormat:
        """``--format`` as the renderers take it."""
        return OutputFormat(self.fmt)

    def env(self) -> Env:
        """The Env of this process, showing times in ``--tz``."""
        return make_env(self.tz_name)


__all__ = ["Output", "Selection", "Source", "as_output", "as_selection", "as_source"]

#: Decorators that hand a command function its options as one typed value each.
as_selection = gathered("selection", Selection)
as_source = gathered("source", Source)
as_output = gathered("output", Output)


def store_option(func: F) -> F:
    """``--store DIR`` (else $MFQ_STORE, else ./.mfq)."""
    return click.option(
        "--store",
        "store_path",
        type=click.Path(file_okay=False),
        default=None,
        help="Store directory (default: $MFQ_STORE, else ./.mfq).",
    )(func)


#: Where ``--raw`` leaves its value for ``make_env`` (it is an output preference, like --tz).
_RAW_KEY = "mfq.raw"


def _remember_raw(ctx: click.Context, _param: click.Parameter, value: bool) -> bool:
    ctx.meta[_RAW_KEY] = value
    return value


def format_option(func: F) -> F:
    """``--format table|json|ndjson|csv|markdown``, and ``--raw`` for CSV."""
    func = click.option(
        "--raw",
        is_flag=True,
        expose_value=False,
        callback=_remember_raw,
        help="CSV: write cells starting with = + - @ as they are (not neutralised with ').",
    )(func)
    return click.option(
        "--format",
        "fmt",
        type=click.Choice([f.value for f in OutputFormat]),
        default=OutputFormat.TABLE.value,
        show_default=True,
        help="Output format.",
    )(func)


def tz_option(func: F) -> F:
    """``--tz ZONE`` for displayed times."""
    return click.option(
        "--tz",
        "tz_name",
        default=None,
        metavar="ZONE",
        help="Time zone for displayed times (storage is UTC), e.g. Europe/Paris.",
    )(func)


def engine_option(func: F) -> F:
    """``--engine local|dask`` (else $MFQ_ENGINE, else local; ``pandas`` is the local
    engine's former name, still accepted)."""
    return click.option(
        "--engine",
        type=click.Choice(ENGINE_CHOICES),
        default=DEFAULT_ENGINE,
        envvar="MFQ_ENGINE",
        show_default=True,
        help="Query engine: local (in this process) or dask (a cluster) [env: MFQ_ENGINE].",
    )(func)


def scheduler_option(func: F) -> F:
    """``--scheduler tcp://HOST:PORT``: the Dask cluster for ``--engine dask``."""
    return click.option(
        "--scheduler",
        default=None,
        metavar="ADDRESS",
        help=(
            "Dask scheduler for --engine dask, e.g. tcp://10.0.0.5:8786 (default: "
            f"${SCHEDULER_ENV}, else a local cluster for this command)."
        ),
    )(func)


def parse_zone(name: str | None, option: str) -> tzinfo | None:
    """An IANA zone name (or UTC) to a tzinfo; a bad name is a usage error."""
    if name is None:
        return None
    if name.upper() in {"UTC", "Z"}:
        return UTC
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise UsageError(f"{option}: unknown time zone {name!r}") from None


def make_env(tz_name: str | None = None) -> Env:
    """The Env of this process, with the display zone from ``--tz`` and ``--raw``."""
    ctx = click.get_current_context(silent=True)
    raw = bool(ctx.meta.get(_RAW_KEY, False)) if ctx is not None else False
    return Env.from_process(display_tz=parse_zone(tz_name, "--tz") or UTC, raw=raw)
