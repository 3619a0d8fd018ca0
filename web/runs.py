"""The ``runs`` blueprint: Model runs (placeholder until it is built)."""

from __future__ import annotations

from flask import Blueprint, render_template

bp = Blueprint("runs", __name__)


@bp.get("/runs")
def runs() -> str:
    return render_template("placeholder.html", title="Model runs")
