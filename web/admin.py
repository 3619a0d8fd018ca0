"""The ``admin`` blueprint: Administration (placeholder until it is built)."""

from __future__ import annotations

from flask import Blueprint, render_template

bp = Blueprint("admin", __name__)


@bp.get("/admin")
def admin() -> str:
    return render_template("placeholder.html", title="Administration")
