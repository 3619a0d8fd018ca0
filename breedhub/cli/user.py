"""``breedhub user``: accounts and API tokens."""

from __future__ import annotations

import click

from breedhub.cli.common import emit_json, engine, json_option, user_errors
from breedhub.germplasm.models import ROLES


@click.group()
def user() -> None:
    """Users, roles and API tokens."""


@user.command()
@click.argument("username")
@click.option("--role", type=click.Choice(ROLES), required=True)
@click.option("--email", default="")
@click.option("--name", "full_name", default="")
@click.option("--institute", help="WIEWS code; required for uploaders.")
@click.option("--password", help="Portal password (omit for token-only accounts).")
@json_option
@user_errors
def add(
    username: str,
    role: str,
    email: str,
    full_name: str,
    institute: str | None,
    password: str | None,
    as_json: bool,
) -> None:
    """Add a user with a role."""
    from breedhub.germplasm.db import transaction
    from breedhub.germplasm.users import add_user

    with transaction(engine()) as s:
        u = add_user(
            s, username, role=role, email=email, full_name=full_name,
            institute=institute, password=password,
        )  # fmt: skip
        out = {"id": u.id, "username": u.username, "role": u.role}
    if as_json:
        emit_json(out)
    else:
        click.echo(f"user {username} ({role}) added")


@user.command()
@click.argument("username")
@click.option("--name", default="", help="What the token is for.")
@click.option("--days", type=int, help="Expire after this many days.")
@json_option
@user_errors
def token(username: str, name: str, days: int | None, as_json: bool) -> None:
    """Create an API token; it is shown once and only its hash is stored."""
    from breedhub.germplasm.db import transaction
    from breedhub.germplasm.users import create_token

    with transaction(engine()) as s:
        tok, rec = create_token(s, username, name=name, days=days)
        expires = rec.expires_at
    if as_json:
        emit_json({"username": username, "token": tok, "expires_at": expires})
    else:
        click.echo(tok)
        click.secho("store it now: it cannot be shown again", fg="yellow", err=True)
