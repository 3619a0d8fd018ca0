"""Upload batches: register a batch once all its files are verified, then call its variants.

The tus server calls :func:`upload_verified` after each verified upload.
When the last file of a batch has arrived, the batch is registered in one
transaction (:func:`breedhub.germplasm.batches.register_batch`) and, if it
asked for it, its variants workflow is submitted as a ``pipeline:variants``
job (:func:`breedhub.pipelines.queue.submit_job`). The workflow's inputs
are written under the data directory, ``runs/batches/<INSTCODE>-batch<id>/``:
``variants.yaml``, ``samples.tsv`` and ``reads/`` (links to the batch's
files in ``objects/``, named by row, with the suffix their format needs).
The reference is the species' FASTA in ``<home>/references/<species>.fa``
(or ``.fasta``, ``.fa.gz``, ``.fna``).

The workflow registers its genotypes as the dataset ``<INSTCODE>-batch<id>``;
:func:`adopt_genotypes` then makes that dataset the institute's (restricted)
with the batch as its provenance. Call it when a batch's job has finished
(the worker, or the pages that show a batch).
"""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import Any

import yaml
from sqlalchemy.engine import Engine

from breedhub.germplasm.sample_sheets import SheetProblem, file_format

__all__ = [
    "REFERENCE_SUFFIXES",
    "adopt_genotypes",
    "batch_dataset_name",
    "reference_for",
    "start_variants",
    "upload_verified",
    "variants_problems",
    "write_variants_inputs",
]

log = logging.getLogger(__name__)

#: The names a species' reference may have in ``<home>/references/``.
REFERENCE_SUFFIXES = (".fa", ".fasta", ".fa.gz", ".fasta.gz", ".fna")


def reference_for(home: str | os.PathLike[str], species: str) -> Path | None:
    """The reference FASTA of ``species`` in ``<home>/references/``, or None."""
    folder = Path(home) / "references"
    return next(
        (
            folder / f"{species}{s}"
            for s in REFERENCE_SUFFIXES
            if (folder / f"{species}{s}").is_file()
        ),
        None,
    )


def batch_dataset_name(code: str, batch_id: int) -> str:
    """The genotype dataset (and workflow) name of a batch: ``<INSTCODE>-batch<id>``."""
    return f"{code}-batch{batch_id}"


def variants_problems(
    home: str | os.PathLike[str], rows: list[dict[str, Any]]
) -> list[SheetProblem]:
    """Why a batch's variants could not be called, before it is created.

    One species for the whole batch (a genotype dataset holds one), FASTQ
    files only (aligned files would need their index), and the species'
    reference in the data directory.

    Parameters
    ----------
    home
        The data directory.
    rows
        The sheet's rows (:func:`breedhub.germplasm.sample_sheets.read_sheet`).

    Returns
    -------
    list of SheetProblem
    """
    out: list[SheetProblem] = []
    species = sorted({r["species"] for r in rows if r["species"]})
    if len(species) > 1:
        out.append(
            SheetProblem(
                None, "species",
                f"call_variants needs one species per batch (a genotype dataset holds one), not "
                f"{', '.join(species)}: split the batch",
            )
        )  # fmt: skip
    for r in rows:
        fmt = file_format(r["file"]) or ""
        if r["file"] and fmt and not fmt.startswith("fastq"):
            out.append(
                SheetProblem(
                    r["row"], "file",
                    f"call_variants takes FASTQ reads; a {fmt} is stored but not called: "
                    "leave call_variants off, or send its reads", r["file"],
                )
            )  # fmt: skip
    if len(species) == 1 and reference_for(home, species[0]) is None:
        out.append(
            SheetProblem(
                None, "call_variants",
                f"no reference for {species[0]}: an admin puts its FASTA at "
                f"{Path(home) / 'references' / (species[0] + '.fa')}",
            )
        )  # fmt: skip
    return out


def _object_path(home: Path, path: str) -> Path:
    p = Path(path)
    return p if p.is_absolute() else home / p


def write_variants_inputs(engine: Engine, home: str | os.PathLike[str], batch_id: int) -> Path:
    """Write the variants workflow's config, sample sheet and read links of a registered batch.

    Parameters
    ----------
    engine
        The germplasm database.
    home
        The data directory (inputs go under ``runs/batches/``).
    batch_id
        A registered batch.

    Returns
    -------
    Path
        The config file (``variants.yaml``).
    """
    from breedhub.germplasm.batches import batch_accession_refs, batch_data_files, get_batch
    from breedhub.germplasm.db import transaction
    from breedhub.germplasm.sample_sheets import institute_code

    home = Path(home).absolute()
    with transaction(engine) as s:
        batch = get_batch(s, batch_id)
        if batch is None:
            raise KeyError(f"no upload batch {batch_id}")
        code = institute_code(s, batch.institute_id)
        files = [(dict(r), f.path, f.format) for r, f in batch_data_files(s, batch_id)]
        refs = batch_accession_refs(s, batch_id)
    name = batch_dataset_name(code, batch_id)
    folder = home / "runs" / "batches" / name
    reads = folder / "reads"
    reads.mkdir(parents=True, exist_ok=True)
    units: dict[tuple[str, str], dict[str, Any]] = {}
    for r, path, _ in files:
        suffix = next(s for s, _f in _suffixes() if r["file"].lower().endswith(s))
        link = reads / f"row{r['row']}{suffix}"
        target = _object_path(home, path)
        if link.is_symlink() or link.exists():
            link.unlink()
        link.symlink_to(target)
        unit = units.setdefault(
            (r["sample"], r["library"] or r["sample"]),
            {"sample": r["sample"], "accession": refs[r["sample"]], "species": r["species"],
             "fastq1": "", "fastq2": "", "library": r["library"] or r["sample"],
             "platform": r["platform"] or "ILLUMINA"},
        )  # fmt: skip
        unit["fastq2" if r["read"] == "2" else "fastq1"] = str(link)
    columns = ["sample", "accession", "species", "fastq1", "fastq2", "library", "platform"]
    lines = ["\t".join(columns)] + ["\t".join(u[c] for c in columns) for u in units.values()]
    _atomic_write(folder / "samples.tsv", "\n".join(lines) + "\n")
    species = files[0][0]["species"] if files else ""
    reference = reference_for(home, species)
    config = {
        "workflow": "variants", "name": name, "species": species,
        "reference": str(reference or home / "references" / f"{species}.fa"),
        "samples": "samples.tsv",
    }  # fmt: skip
    config_path = folder / "variants.yaml"
    _atomic_write(config_path, yaml.safe_dump(config, sort_keys=False))
    return config_path


def _suffixes() -> list[tuple[str, str]]:
    from breedhub.germplasm.sample_sheets import FORMATS

    return list(FORMATS)


def _atomic_write(path: Path, text: str) -> None:
    tmp = path.with_name(f".{path.name}.part")
    with open(tmp, "w", encoding="utf-8") as fh:
        fh.write(text)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)


def start_variants(
    engine: Engine, home: str | os.PathLike[str], batch_id: int, *, cores: int = 2
) -> int | None:
    """Check the batch's variants config and submit it as a ``pipeline:variants`` job.

    The job belongs to the batch's institute (restricted) and uploader; the
    batch records it. A config the workflow refuses, or a queue that cannot
    be reached, is recorded as a problem of the batch, and no job runs.

    Returns
    -------
    int or None
        The job's id, or None when it could not start.
    """
    from breedhub.base.config import Settings
    from breedhub.germplasm.batches import add_batch_problem, get_batch, set_batch_job
    from breedhub.germplasm.db import transaction
    from breedhub.pipelines.config import prepare_config
    from breedhub.pipelines.exceptions import ConfigError, PipelineError
    from breedhub.pipelines.queue import submit_job
    from breedhub.pipelines.runner import run_dir

    home = Path(home).absolute()
    with transaction(engine) as s:
        batch = get_batch(s, batch_id)
        if batch is None or batch.state != "registered":
            return None
        owner = {"user_id": batch.user_id, "institute_id": batch.institute_id}
    config = write_variants_inputs(engine, home, batch_id)
    name = yaml.safe_load(config.read_text())["name"]
    try:
        prepare_config(config, "variants", engine=engine, home=home,
                       run_dir=run_dir(home, "variants", name))  # fmt: skip
        job_id = submit_job(
            engine, Settings.from_env(home), kind="pipeline:variants",
            parameters={"workflow": "variants", "config": str(config), "cores": cores,
                        "batch_id": batch_id},
            visibility="restricted", **owner,
        )  # fmt: skip
    except (ConfigError, PipelineError) as exc:
        with transaction(engine) as s:
            add_batch_problem(
                s,
                batch_id,
                SheetProblem(None, "call_variants", f"the variants job could not start: {exc}"),
            )
        return None
    with transaction(engine) as s:
        set_batch_job(s, batch_id, job_id)
    return job_id


def upload_verified(engine: Engine, home: Path, upload_id: str) -> None:
    """Called by the tus server after upload ``upload_id`` is verified and committed.

    If the upload belongs to a batch whose files have now all arrived and
    passed, the batch is registered (one transaction) and, if asked, its
    variants workflow is submitted as a job. Never raises for a bad batch:
    problems are recorded on the batch.
    """
    from breedhub.germplasm.batches import (
        batch_id_of_upload,
        batch_ready,
        fail_batch,
        register_batch,
    )
    from breedhub.germplasm.db import transaction

    batch_id = None
    try:
        with transaction(engine) as s:
            batch_id = batch_id_of_upload(s, upload_id)
            if batch_id is None or not batch_ready(s, batch_id):
                return
            registered = register_batch(s, batch_id)
            start = registered.state == "registered" and registered.call_variants
        if start:
            start_variants(engine, home, batch_id)
    except Exception as exc:  # recorded on the batch: the upload itself is fine
        log.exception("upload %s: registering batch %s failed", upload_id, batch_id)
        if batch_id is None:
            return
        try:
            with transaction(engine) as s:
                from breedhub.germplasm.batches import get_batch

                batch = get_batch(s, batch_id)
                if batch is not None and batch.state == "open":
                    fail_batch(
                        s,
                        batch_id,
                        [SheetProblem(None, "", f"registration failed: {exc}").to_dict()],
                    )
        except Exception:
            log.exception("batch %s: could not record the failure", batch_id)


def adopt_genotypes(engine: Engine, *, job_id: int | None = None) -> list[int]:
    """Make the genotype datasets of finished batch jobs their institutes'; return the batch ids.

    For each registered batch whose variants job is done and whose dataset
    is not yet adopted (or only the one of ``job_id``): the dataset the
    workflow registered (``<INSTCODE>-batch<id>``) becomes the institute's,
    restricted, with the batch (id, name, sheet, files' sha256, job) in its
    provenance.
    """
    from breedhub.germplasm.batches import (
        adopt_batch_genotypes,
        batches_awaiting_genotypes,
        get_batch,
    )
    from breedhub.germplasm.db import transaction
    from breedhub.germplasm.sample_sheets import institute_code

    adopted = []
    with transaction(engine) as s:
        for batch_id in batches_awaiting_genotypes(s, job_id=job_id):
            batch = get_batch(s, batch_id)
            assert batch is not None
            provenance = {
                "batch_id": batch.id, "name": batch.name, "sheet": batch.sheet_name,
                "job_id": batch.job_id, "files": [r["sha256"] for r in batch.sheet or []],
                "registered_at": batch.registered_at.isoformat() if batch.registered_at else None,
            }  # fmt: skip
            name = batch_dataset_name(institute_code(s, batch.institute_id), batch.id)
            if adopt_batch_genotypes(s, batch_id, name, provenance) is not None:
                adopted.append(batch_id)
    return adopted
