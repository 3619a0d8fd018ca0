"""The ``crosses`` blueprint: Cross planner (placeholder until it is built)."""

from __future__ import annotations

from flask import Blueprint, render_template

bp = Blueprint("crosses", __name__)


@bp.get("/crosses")
def planner() -> str:
    return render_template("placeholder.html", title="Cross planner")
