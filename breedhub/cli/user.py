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


@user.command("list")
@json_option
@user_errors
def list_(as_json: bool) -> None:
    """List users: role, institute, active, API tokens and their last use."""
    from breedhub.germplasm.db import transaction
    from breedhub.germplasm.users import list_users

    with transaction(engine()) as s:
        users = list_users(s)
    rows = [
        {
            "username": u.username,
            "role": u.role,
            "institute": u.institute_code,
            "active": u.active,
            "tokens": u.n_tokens,
            "last_token_use": u.last_token_use.isoformat(" ", "seconds")
            if u.last_token_use
            else None,
        }
        for u in users
    ]
    if as_json:
        emit_json(rows)
        return
    click.echo(f"{'username':<20} {'role':<17} {'institute':<10} {'active':<7} tokens  last use")
    for r in rows:
        active = "yes" if r["active"] else "no"
        click.echo(
            f"{r['username']:<20} {r['role']:<17} {r['institute'] or '-':<10} {active:<7} "
            f"{r['tokens']:>6}  {r['last_token_use'] or '-'}"
        )


def _change(username: str, as_json: bool, what: str, apply) -> None:  # type: ignore[no-untyped-def]
    from breedhub.germplasm.db import transaction
    from breedhub.germplasm.users import user_by_name

    with transaction(engine()) as s:
        u = apply(s, user_by_name(s, username).id)
        out = {"username": u.username, "role": u.role, "active": u.active}
    if as_json:
        emit_json(out)
    else:
        click.echo(f"user {username}: {what}")


@user.command("set-role")
@click.argument("username")
@click.argument("role", type=click.Choice(ROLES))
@json_option
@user_errors
def set_role_(username: str, role: str, as_json: bool) -> None:
    """Give a user another role (the last active admin cannot be demoted)."""
    from breedhub.germplasm.users import set_role

    _change(username, as_json, f"role {role}", lambda s, uid: set_role(s, uid, role))


@user.command()
@click.argument("username")
@json_option
@user_errors
def deactivate(username: str, as_json: bool) -> None:
    """Stop a user logging in or using API tokens; nothing of theirs is deleted."""
    from breedhub.germplasm.users import set_active

    _change(username, as_json, "deactivated", lambda s, uid: set_active(s, uid, False))


@user.command()
@click.argument("username")
@json_option
@user_errors
def activate(username: str, as_json: bool) -> None:
    """Let a deactivated user log in again."""
    from breedhub.germplasm.users import set_active

    _change(username, as_json, "active again", lambda s, uid: set_active(s, uid, True))


@user.command()
@click.argument("username")
@click.option(
    "--password",
    prompt=True,
    hide_input=True,
    confirmation_prompt=True,
    help="The new password (asked for when omitted).",
)
@json_option
@user_errors
def password(username: str, password: str, as_json: bool) -> None:
    """Set a user's portal password (the way back in when the only admin forgot theirs)."""
    from breedhub.germplasm.users import set_password

    _change(username, as_json, "password set", lambda s, uid: set_password(s, uid, password))
