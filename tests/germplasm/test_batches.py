"""Upload batches in the database: created open, registered whole in one transaction, or refused.

The helpers here (:func:`stock`, :func:`make_reads`, :func:`good_rows`,
:func:`write_sheet`, :func:`receive`) are shared by the sheet, pipeline and
web tests of batches. :func:`receive` does what the tus server does with a
verified file: it stores it under ``objects/`` and records the Upload and
its DataFile.
"""

from __future__ import annotations

import datetime as dt
import gzip
import hashlib
import secrets
from pathlib import Path
from typing import Any

import polars as pl
import pytest
from sqlalchemy import func, select
from sqlalchemy.engine import Engine

from breedhub.germplasm import transaction
from breedhub.germplasm.access import Viewer
from breedhub.germplasm.batches import (
    batch_files,
    batch_ready,
    create_batch,
    list_batches,
    register_batch,
    visible_batch,
)
from breedhub.germplasm.models import Accession, DataFile, Institute, Sample, SpeciesRow
from breedhub.germplasm.models_uploads import Upload, UploadBatch
from breedhub.germplasm.sample_sheets import check_sheet, read_sheet
from breedhub.germplasm.tabular import write_table

READS = ("S1_R1.fastq.gz", "S1_R2.fastq.gz", "S2_R1.fastq.gz", "S2_R2.fastq.gz")


def stock(engine: Engine) -> dict[str, int]:
    """Institutes PHL001 and CHN999; rice PHL001:R1, PHL001:R2, pepper PHL001:P1; sample OLD-SAMPLE."""
    with transaction(engine) as s:
        ids = {}
        for code in ("PHL001", "CHN999"):
            inst = s.scalars(select(Institute).where(Institute.code == code)).first()
            if inst is None:
                inst = Institute(code=code, country=code[:3])
                s.add(inst)
                s.flush()
            ids[code] = inst.id
        for number, key in (("R1", "rice"), ("R2", "rice"), ("P1", "pepper")):
            sp = s.scalars(select(SpeciesRow).where(SpeciesRow.key == key)).one()
            acc = Accession(
                institute_id=ids["PHL001"], species_id=sp.id, accenumb=number,
                puid=f"PHL001:{number}", genus=sp.genus, species_epithet=sp.species,
            )  # fmt: skip
            s.add(acc)
            s.flush()
            ids[number] = acc.id
        s.add(Sample(name="OLD-SAMPLE", accession_id=ids["R1"]))
    return ids


def _fastq(name: str, n: int = 20) -> bytes:
    rng = secrets.SystemRandom()
    lines = []
    for i in range(n):
        seq = "".join(rng.choice("ACGT") for _ in range(50))
        lines += [f"@{name}.{i}", seq, "+", "I" * 50]
    return gzip.compress(("\n".join(lines) + "\n").encode())


def make_reads(folder: Path) -> dict[str, Path]:
    """Four small gzipped FASTQ files, two samples' read pairs (random content)."""
    folder.mkdir(parents=True, exist_ok=True)
    out = {}
    for name in READS:
        (folder / name).write_bytes(_fastq(name))
        out[name] = folder / name
    return out


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def good_rows(files: dict[str, Path]) -> list[dict[str, str]]:
    """A sheet of S1 (PHL001:R1) and S2 (PHL001:R2), rice, each a read pair."""
    rows = []
    for name, path in files.items():
        sample = name.split("_")[0]
        rows.append(
            {
                "file": name, "sha256": sha256(path), "sample": sample,
                "accession": "PHL001:R1" if sample == "S1" else "PHL001:R2", "species": "rice",
                "library": f"lib-{sample}", "platform": "ILLUMINA", "read": name[-10],
            }
        )  # fmt: skip
    return rows


def write_sheet(path: Path, rows: list[dict[str, str]]) -> Path:
    """Write ``rows`` as a CSV, TSV or XLSX sheet (by suffix); every cell text."""
    columns = list(dict.fromkeys(k for r in rows for k in r)) or ["file", "sha256"]
    df = pl.DataFrame(
        {c: [r.get(c, "") for r in rows] for c in columns}, schema={c: pl.String for c in columns}
    )
    write_table(df, path)
    return path


def receive(
    engine: Engine, home: Path, batch_id: int | None, path: Path, *, institute: str = "PHL001",
    filename: str | None = None,
) -> str:  # fmt: skip
    """What the tus server does with a verified file: objects/<sha>, an Upload and its DataFile."""
    data = path.read_bytes()
    digest = hashlib.sha256(data).hexdigest()
    target = home / "objects" / digest[:2] / digest
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_bytes(data)
    upload_id = secrets.token_urlsafe(16)
    with transaction(engine) as s:
        inst = s.scalars(select(Institute.id).where(Institute.code == institute)).one()
        f = s.scalars(select(DataFile).where(DataFile.sha256 == digest)).first()
        if f is None:
            f = DataFile(sha256=digest, size=len(data), format="fastq.gz", path=str(target),
                         original_name=path.name, institute_id=inst)  # fmt: skip
            s.add(f)
            s.flush()
        s.add(
            Upload(
                id=upload_id, institute_id=inst, batch_id=batch_id,
                filename=filename or path.name, length=len(data), offset=len(data),
                sha256=digest, state="verified", format="fastq.gz", data_file_id=f.id,
                expires_at=dt.datetime(2100, 1, 1),
            )
        )  # fmt: skip
    return upload_id


def new_batch(engine: Engine, sheet_path: Path, institute_id: int, **kw: Any) -> int:
    sheet = read_sheet(sheet_path)
    with transaction(engine) as s:
        assert check_sheet(s, sheet, institute_id) == []
        return create_batch(s, name="run 1", institute_id=institute_id, user_id=None, sheet=sheet,
                            **kw).id  # fmt: skip


def _counts(engine: Engine) -> tuple[int, int, int]:
    with transaction(engine) as s:
        return (
            s.scalar(select(func.count()).select_from(Accession)),
            s.scalar(select(func.count()).select_from(Sample)),
            s.scalar(
                select(func.count()).select_from(DataFile).where(DataFile.sample_id.is_not(None))
            ),
        )  # type: ignore[return-value]


def test_register_batch__writes_samples_files_and_new_accessions_in_one_go(engine, tmp_path):
    ids = stock(engine)
    files = make_reads(tmp_path / "reads")
    rows = good_rows(files)
    for r in rows[2:]:
        r.update(accession="NEW-7", ACCENAME="Line seven", SAMPSTAT="414")
    batch_id = new_batch(engine, write_sheet(tmp_path / "s.csv", rows), ids["PHL001"])
    home = tmp_path / "home"
    before = _counts(engine)
    for name in READS[:3]:
        receive(engine, home, batch_id, files[name])
        with transaction(engine) as s:
            assert not batch_ready(s, batch_id)
    receive(engine, home, batch_id, files[READS[3]])
    with transaction(engine) as s:
        assert batch_ready(s, batch_id)
        batch = register_batch(s, batch_id)
        assert (batch.state, batch.problems) == ("registered", [])
    with transaction(engine) as s:
        new = s.scalars(select(Accession).where(Accession.accenumb == "NEW-7")).one()
        assert (new.institute_id, new.name, new.sampstat, new.genus) == (
            ids["PHL001"],
            "Line seven",
            414,
            "Oryza",
        )
        samples = {
            x.name: x for x in s.scalars(select(Sample).where(Sample.name.in_(["S1", "S2"])))
        }
        assert samples["S1"].accession_id == ids["R1"] and samples["S2"].accession_id == new.id
        got = {
            (f.original_name, f.sample_id, f.read_number, f.library, f.platform, f.batch_id)
            for f in s.scalars(select(DataFile))
        }
        assert got == {
            ("S1_R1.fastq.gz", samples["S1"].id, 1, "lib-S1", "ILLUMINA", batch_id),
            ("S1_R2.fastq.gz", samples["S1"].id, 2, "lib-S1", "ILLUMINA", batch_id),
            ("S2_R1.fastq.gz", samples["S2"].id, 1, "lib-S2", "ILLUMINA", batch_id),
            ("S2_R2.fastq.gz", samples["S2"].id, 2, "lib-S2", "ILLUMINA", batch_id),
        }
        files_shown = batch_files(s, s.get(UploadBatch, batch_id))
        assert [(f["row"], f["upload"]["state"]) for f in files_shown] == [
            (2, "verified"),
            (3, "verified"),
            (4, "verified"),
            (5, "verified"),
        ]
    assert _counts(engine) == (before[0] + 1, before[1] + 2, 4)


def test_register_batch__a_sha256_that_does_not_match_refuses_everything(engine, tmp_path):
    ids = stock(engine)
    files = make_reads(tmp_path / "reads")
    rows = good_rows(files)
    for r in rows[2:]:
        r.update(accession="NEW-8", ACCENAME="Line eight")
    batch_id = new_batch(engine, write_sheet(tmp_path / "s.csv", rows), ids["PHL001"])
    home = tmp_path / "home"
    before = _counts(engine)
    other = tmp_path / "other" / "S2_R1.fastq.gz"  # the file sent is not the one the sheet names
    other.parent.mkdir()
    other.write_bytes(_fastq("other"))
    for name in (READS[0], READS[1], READS[3]):
        receive(engine, home, batch_id, files[name])
    receive(engine, home, batch_id, other)
    with transaction(engine) as s:
        batch = register_batch(s, batch_id)
        assert batch.state == "failed"
        assert [(p["row"], p["column"]) for p in batch.problems] == [(4, "sha256")]
        assert "does not match" in batch.problems[0]["message"]
    assert _counts(engine) == before
    with transaction(engine) as s:
        assert s.scalars(select(Accession).where(Accession.accenumb == "NEW-8")).first() is None


def test_register_batch__a_problem_arising_after_creation_refuses_everything(engine, tmp_path):
    ids = stock(engine)
    files = make_reads(tmp_path / "reads")
    batch_id = new_batch(engine, write_sheet(tmp_path / "s.csv", good_rows(files)), ids["PHL001"])
    with transaction(engine) as s:  # meanwhile another batch registered a sample S2
        s.add(Sample(name="S2", accession_id=ids["R2"]))
    before = _counts(engine)
    for name in READS:
        receive(engine, tmp_path / "home", batch_id, files[name])
    with transaction(engine) as s:
        batch = register_batch(s, batch_id)
        assert batch.state == "failed" and [(p["row"], p["column"]) for p in batch.problems] == [
            (4, "sample")
        ]
    assert _counts(engine) == before


def test_visible_batch__its_institute_and_admins_only(engine, tmp_path):
    ids = stock(engine)
    files = make_reads(tmp_path / "reads")
    batch_id = new_batch(engine, write_sheet(tmp_path / "s.csv", good_rows(files)), ids["PHL001"])
    member = Viewer(user_id=1, role="breeder", institute_id=ids["PHL001"])
    other = Viewer(user_id=2, role="uploader", institute_id=ids["CHN999"])
    admin = Viewer(user_id=3, role="admin")
    with transaction(engine) as s:
        assert visible_batch(s, batch_id, member) is not None
        assert visible_batch(s, batch_id, admin) is not None
        assert visible_batch(s, batch_id, other) is None
        assert visible_batch(s, batch_id + 1, admin) is None
        rows, total = list_batches(s, member)
        assert total == 1 and rows[0]["id"] == batch_id and rows[0]["state"] == "open"
        assert list_batches(s, other) == ([], 0)
        assert list_batches(s, Viewer(user_id=4, role="breeder")) == ([], 0)


@pytest.mark.parametrize("missing", [0, 3])
def test_batch_ready__not_before_every_file_is_verified(engine, tmp_path, missing):
    ids = stock(engine)
    files = make_reads(tmp_path / "reads")
    batch_id = new_batch(engine, write_sheet(tmp_path / "s.csv", good_rows(files)), ids["PHL001"])
    for i, name in enumerate(READS):
        if i != missing:
            receive(engine, tmp_path / "home", batch_id, files[name])
    with transaction(engine) as s:
        assert not batch_ready(s, batch_id)
        shown = batch_files(s, s.get(UploadBatch, batch_id))
        assert shown[missing]["upload"] is None
