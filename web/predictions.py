"""The ``predictions`` blueprint: Predictions (placeholder until it is built)."""

from __future__ import annotations

from flask import Blueprint, render_template

bp = Blueprint("predictions", __name__)


@bp.get("/predictions")
def ranking() -> str:
    return render_template("placeholder.html", title="Predictions")
