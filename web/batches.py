"""The ``batches`` blueprint: upload batches (sample sheet + files), API and portal pages."""

from __future__ import annotations

from flask import Blueprint

bp = Blueprint("batches", __name__)
