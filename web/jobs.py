"""The ``jobs`` blueprint: Jobs (placeholder until it is built)."""

from __future__ import annotations

from flask import Blueprint, render_template

bp = Blueprint("jobs", __name__)


@bp.get("/jobs")
def jobs() -> str:
    return render_template("placeholder.html", title="Jobs")
