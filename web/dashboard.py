"""The ``dashboard`` blueprint: Species (placeholder until it is built)."""

from __future__ import annotations

from flask import Blueprint, render_template

bp = Blueprint("dashboard", __name__)


@bp.get("/species")
def overview() -> str:
    return render_template("placeholder.html", title="Species")
