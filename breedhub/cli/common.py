"""What every ``breedhub`` command shares: settings, the database, error output."""

from __future__ import annotations

import functools
import json
import sys
from collections.abc import Callable
from typing import Any, TypeVar

import click
from sqlalchemy import Engine

from breedhub.base.config import Settings
from breedhub.base.errors import BreedhubError

F = TypeVar("F", bound=Callable[..., Any])


def settings() -> Settings:
    """The settings of this invocation (``--home`` or the environment)."""
    ctx = click.get_current_context()
    root = ctx.find_root()
    home = (root.obj or {}).get("home")
    return Settings.from_env(home)


def engine(*, check: bool = True) -> Engine:
    """An engine on the configured database; by default refuse an unmigrated one."""
    from breedhub.germplasm.db import check_schema, make_engine

    eng = make_engine(settings().database_url)
    if check:
        check_schema(eng)
    return eng


def emit_json(obj: Any) -> None:
    click.echo(json.dumps(obj, indent=2, ensure_ascii=False, default=str))


def fail(exc: BaseException, *, as_json: bool) -> None:
    """Print an error for the user (never a traceback) and exit non-zero."""
    code = getattr(exc, "exit_code", 1)
    if as_json:
        details = exc.details() if isinstance(exc, BreedhubError) else []
        message = str(exc).splitlines()[0] if details else str(exc)
        err = {"type": type(exc).__name__, "message": message, "details": details}
        click.echo(json.dumps({"error": err}, indent=2, ensure_ascii=False, default=str))
    else:
        click.secho(f"error: {exc}", fg="red", err=True)
    sys.exit(code)


def user_errors(func: F) -> F:
    """Turn breedhub errors and bad values into a message and an exit code."""

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except (BreedhubError, ValueError) as exc:
            fail(exc, as_json=bool(kwargs.get("as_json")))

    return wrapper  # type: ignore[return-value]


json_option = click.option("--json", "as_json", is_flag=True, help="Print JSON for scripts.")


def species_ploidy(species: str | None, ploidy: int | None) -> tuple[int | None, str]:
    """The ploidy that ``--species`` and ``--ploidy`` ask for, and the species key.

    ``--ploidy`` wins when both are given; a species whose registry entry has
    no ploidy is an error. With neither option the ploidy is None: the caller
    takes it from the data or stops (nothing assumes diploidy).
    """
    from breedhub.base.checks import check_ploidy, resolve_ploidy

    if ploidy is not None:
        ploidy = check_ploidy(ploidy, name="--ploidy")
    if not species:
        return ploidy, ""
    from breedhub.germplasm import default_registry

    sp = default_registry().find(species)
    return resolve_ploidy(sp.ploidy, ploidy, species=species), sp.key
