"""The ``lists`` blueprint: Selection lists (placeholder until it is built)."""

from __future__ import annotations

from flask import Blueprint, render_template

bp = Blueprint("lists", __name__)


@bp.get("/lists")
def lists() -> str:
    return render_template("placeholder.html", title="Selection lists")
