"""The ``uploads`` blueprint: the tus 1.0 resumable-upload server at ``/api/v1/uploads``."""

from __future__ import annotations

from flask import Blueprint

bp = Blueprint("uploads", __name__, url_prefix="/api/v1/uploads")
