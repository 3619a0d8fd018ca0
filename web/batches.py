"""The ``batches`` blueprint: upload batches (sample sheet + files), API and portal pages.

Routes
------
``POST /api/v1/batches``
    A new batch (bearer token of an uploader or admin): multipart ``sheet``
    (CSV, TSV or XLSX), ``name``, ``call_variants`` (``1``/``true``/``on``).
    201 ``{"id", "state", "problems", "files": [{"filename", "sha256", "row"}]}``,
    or 422 with every problem ``{"row", "column", "message"}`` (nothing kept).
    The files are then sent to ``/api/v1/uploads`` (tus) with the metadata
    ``batch`` (the id), ``filename`` and ``sha256``.
``GET /api/v1/batches``, ``GET /api/v1/batches/<id>``
    The viewer's institute's batches; one batch with its files (upload
    state and message) and its job. Another institute's batch is 403.
``GET /uploads``, ``GET /uploads/<id>``
    The same as pages (another institute's batch: 404), with the upload
    form for uploaders; viewing works without JavaScript.
``POST /uploads``
    The form: creates the batch; a browser with JavaScript
    (``static/uploads.js``, ``Accept: application/json``) gets the batch and
    a one-day token for the tus upload of its files (tus-js-client), others
    the batch's page.
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

from flask import (
    Blueprint,
    abort,
    current_app,
    flash,
    jsonify,
    redirect,
    render_template,
    request,
    url_for,
)
from flask.typing import ResponseReturnValue

from breedhub.germplasm.access import Viewer
from breedhub.germplasm.batches import (
    batch_files,
    batch_job,
    batch_summary,
    create_batch,
    list_batches,
    visible_batch,
)
from breedhub.germplasm.models_uploads import UploadBatch
from breedhub.germplasm.sample_sheets import SheetProblem, check_sheet, read_sheet
from breedhub.pipelines.batches import adopt_genotypes, variants_problems
from breedhub.web.auth import current_viewer, require
from breedhub.web.db import get_engine, get_session
from breedhub.web.exceptions import InvalidParameterError
from breedhub.web.search import check_text

bp = Blueprint("batches", __name__)

PAGE_SIZE = 25
#: The largest sample sheet accepted (bytes).
MAX_SHEET_BYTES = 20 * 1024 * 1024
SHEET_SUFFIXES = (".csv", ".tsv", ".txt", ".xlsx")
_TRUE, _FALSE = ("1", "true", "on", "yes"), ("", "0", "false", "off", "no")


def _page() -> int:
    raw = request.args.get("page", "1")
    if not raw.isascii() or not raw.isdigit() or len(raw) > 6 or int(raw) < 1:
        raise InvalidParameterError("page", "must be a whole number from 1 to 999999", raw[:40])
    return int(raw)


def _flag(name: str) -> bool:
    raw = check_text(name, request.form.get(name, ""), max_length=10).strip().lower()
    if raw not in _TRUE + _FALSE:
        raise InvalidParameterError(name, "must be 1/true/on or 0/false/off", raw[:40])
    return raw in _TRUE


def _new_batch(viewer: Viewer) -> tuple[UploadBatch | None, list[SheetProblem]]:
    """Read the form's sheet, check it, and record the batch if it has no problem."""
    name = check_text("name", request.form.get("name", ""), max_length=200).strip()
    call_variants = _flag("call_variants")
    upload = request.files.get("sheet")
    if upload is None or not upload.filename:
        return None, [
            SheetProblem(None, "sheet", "send the sample sheet as the file field 'sheet'")
        ]
    filename = check_text("sheet", upload.filename, max_length=300)
    suffix = Path(filename).suffix.lower()
    if suffix not in SHEET_SUFFIXES:
        return None, [
            SheetProblem(
                None,
                "sheet",
                f"a sample sheet is a .csv, .tsv or .xlsx file, not {suffix or 'this'}",
            )
        ]
    if viewer.institute_id is None:
        return None, [
            SheetProblem(
                None, "", "your account belongs to no institute: a batch is an institute's"
            )
        ]
    data = upload.stream.read(MAX_SHEET_BYTES + 1)
    if len(data) > MAX_SHEET_BYTES:
        return None, [
            SheetProblem(None, "sheet", f"the sheet is over {MAX_SHEET_BYTES // 2**20} MiB")
        ]
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / f"sheet{suffix}"
        path.write_bytes(data)
        sheet = read_sheet(path)
    sheet.name = Path(filename.replace("\\", "/")).name
    session = get_session()
    problems = check_sheet(session, sheet, viewer.institute_id)
    if call_variants and not problems:
        problems = variants_problems(current_app.config["BREEDHUB_HOME"], sheet.rows)
    if problems:
        session.rollback()
        return None, problems
    batch = create_batch(
        session, name=name or sheet.name, institute_id=viewer.institute_id, user_id=viewer.user_id,
        sheet=sheet, call_variants=call_variants,
    )  # fmt: skip
    session.commit()
    return batch, []


def _created(batch: UploadBatch) -> dict[str, Any]:
    return {
        "id": batch.id, "state": batch.state, "problems": list(batch.problems or []),
        "files": [{"filename": r["file"], "sha256": r["sha256"], "row": r["row"]} for r in batch.sheet],
    }  # fmt: skip


def _refused(problems: list[SheetProblem]) -> ResponseReturnValue:
    listed = [p.to_dict() for p in problems]
    n = len(listed)
    message = f"the batch was refused: {n} problem{'s' if n != 1 else ''}, nothing was kept"
    return jsonify({"error": {"type": "SheetError", "message": message, "details": listed},
                    "problems": listed}), 422  # fmt: skip


@bp.post("/api/v1/batches")
@require("upload")
def api_create() -> ResponseReturnValue:
    batch, problems = _new_batch(current_viewer())
    if batch is None:
        return _refused(problems)
    return jsonify(_created(batch)), 201


def _detail(batch: UploadBatch) -> dict[str, Any]:
    session = get_session()
    out = batch_summary(batch, batch_job(session, batch))
    out["files"] = batch_files(session, batch)
    return out


def _sync(batch: UploadBatch | None = None) -> None:
    """Adopt the genotypes of batch jobs that finished (the worker may not have yet)."""
    if batch is not None and not (batch.job_id and batch.genotype_dataset_id is None):
        return
    if adopt_genotypes(get_engine(), job_id=batch.job_id if batch is not None else None):
        get_session().expire_all()


@bp.get("/api/v1/batches")
@require("read")
def api_list() -> ResponseReturnValue:
    page = _page()
    _sync()
    rows, total = list_batches(get_session(), current_viewer(), limit=PAGE_SIZE,
                               offset=(page - 1) * PAGE_SIZE)  # fmt: skip
    return jsonify({"batches": rows, "total": total, "page": page, "page_size": PAGE_SIZE})


@bp.get("/api/v1/batches/<id:batch_id>")
@require("read")
def api_show(batch_id: int) -> ResponseReturnValue:
    session, viewer = get_session(), current_viewer()
    batch = visible_batch(session, batch_id, viewer)
    if batch is None:
        if session.get(UploadBatch, batch_id) is not None:
            abort(403, description="This batch belongs to another institute.")
        abort(404, description=f"There is no upload batch with id {batch_id}.")
    _sync(batch)
    return jsonify(_detail(batch))


@bp.get("/uploads")
@require("read")
def uploads() -> ResponseReturnValue:
    page = _page()
    _sync()
    rows, total = list_batches(get_session(), current_viewer(), limit=PAGE_SIZE,
                               offset=(page - 1) * PAGE_SIZE)  # fmt: skip
    return render_template(
        "uploads.html", rows=rows, total=total, page=page,
        pages=max(1, -(-total // PAGE_SIZE)), problems=[],
    )  # fmt: skip


@bp.post("/uploads")
@require("upload")
def uploads_create() -> ResponseReturnValue:
    viewer = current_viewer()
    wants_json = request.accept_mimetypes.best == "application/json"
    batch, problems = _new_batch(viewer)
    if batch is None:
        if wants_json:
            return _refused(problems)
        rows, total = list_batches(get_session(), viewer, limit=PAGE_SIZE)
        return render_template(
            "uploads.html", rows=rows, total=total, page=1,
            pages=max(1, -(-total // PAGE_SIZE)), problems=problems,
        ), 422  # fmt: skip
    if wants_json:
        from flask_login import current_user

        from breedhub.germplasm.users import create_token

        session = get_session()
        token, _ = create_token(
            session, current_user.username, name=f"upload batch {batch.id}", days=1
        )
        session.commit()
        body = _created(batch)
        body.update(token=token, endpoint="/api/v1/uploads",
                    page=url_for("batches.batch_page", batch_id=batch.id))  # fmt: skip
        return jsonify(body), 201
    flash(
        f"Batch {batch.id} created: send its files with `breedhub upload`, or with this page's form."
    )
    return redirect(url_for("batches.batch_page", batch_id=batch.id))


@bp.get("/uploads/<id:batch_id>")
@require("read")
def batch_page(batch_id: int) -> ResponseReturnValue:
    batch = visible_batch(get_session(), batch_id, current_viewer())
    if batch is None:
        abort(404, description=f"There is no upload batch with id {batch_id}.")
    _sync(batch)
    return render_template("upload_batch.html", batch=_detail(batch))
