"""The ``variants`` workflow's config: species and ploidy, reference and regions, samples.

:func:`check_variants_config` checks what the files can tell (the species
registry, the reference's contigs, the regions against them, the sample
sheet) and :func:`variants_db_problems` what the database must agree with.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlalchemy import Engine

from breedhub.base.errors import ArgumentError, InputFileError
from breedhub.base.regions import Region, fasta_contigs, parse_region
from breedhub.pipelines.exceptions import Problem
from breedhub.pipelines.samplesheet import check_sample_sheet, resolve_path

__all__ = ["check_variants_config", "variants_db_problems"]


def check_variants_config(
    config: dict[str, Any], file: str, base_dir: Path
) -> tuple[dict[str, Any], list[Problem]]:
    """Check a ``variants`` config and its files (not the database); return it resolved.

    ``_resolved`` gains the ploidy, the reference's name, the calling
    regions and the sample table.
    """
    from breedhub.germplasm import default_registry
    from breedhub.germplasm.exceptions import UnknownSpeciesError

    problems: list[Problem] = []
    resolved = dict(config)
    info: dict[str, Any] = {"config_file": file}
    # species and ploidy
    species = None
    if isinstance(config.get("species"), str):
        try:
            species = default_registry().find(config["species"])
        except UnknownSpeciesError as exc:
            problems.append(Problem(file, 0, "species", config["species"], str(exc)))
    if species is not None:
        resolved["species"] = species.key
        ploidy = config.get("ploidy") or species.ploidy
        info["ploidy"] = ploidy
        info["reference_name"] = config.get("reference_name") or species.reference_assembly.name
        caller = config.get("caller", "auto")
        if caller == "bcftools" and ploidy > 2:
            problems.append(
                Problem(
                    file, 0, "caller", caller,
                    f"bcftools calls ploidy 1 and 2 only, not {ploidy}; use dosage or auto",
                )
            )  # fmt: skip
    # reference and regions
    contigs = None
    if isinstance(config.get("reference"), str):
        ref = resolve_path(config["reference"], base_dir)
        resolved["reference"] = str(ref)
        if not ref.is_file():
            problems.append(Problem(file, 0, "reference", str(ref), "no such file"))
        else:
            try:
                contigs = fasta_contigs(ref)
            except InputFileError as exc:
                where = f"{exc.record}: " if exc.record else ""
                problems.append(
                    Problem(file, 0, "reference", str(ref), f"not a FASTA: {where}{exc.problem}")
                )
    if contigs is not None:
        info["regions"] = _regions(config, contigs, file, problems)
    # the sample sheet
    if isinstance(config.get("samples"), str):
        sheet = resolve_path(config["samples"], base_dir)
        resolved["samples"] = str(sheet)
        if not sheet.is_file():
            problems.append(Problem(file, 0, "samples", str(sheet), "no such sample sheet"))
        else:
            table, sheet_problems = check_sample_sheet(sheet, resolved.get("species"), contigs)
            problems += sheet_problems
            info["samples"] = table
    resolved["_resolved"] = info
    return resolved, problems


def _regions(
    config: dict[str, Any], contigs: dict[str, int], file: str, problems: list[Problem]
) -> list[str]:
    """The calling regions: the configured ones, checked, or the genome in pieces."""
    from breedhub.genomics.reference import split_regions

    if not config.get("regions"):
        size = config.get("region_size", 1_000_000)
        return split_regions(contigs, size=size if isinstance(size, int) and size > 0 else 10**6)
    order = {c: i for i, c in enumerate(contigs)}
    parsed = []
    for i, text in enumerate(config["regions"]):
        if not isinstance(text, str):
            continue  # the schema reported it
        name = f"regions[{i}]"
        try:
            region = parse_region(text, contigs, name=name)
        except ArgumentError as exc:
            problems.append(Problem(file, 0, name, text, _reason(str(exc), name, text)))
            continue
        start, end = region.bounds(contigs[region.contig])
        parsed.append((order[region.contig], start, end, i, text))
    parsed.sort()
    for a, b in zip(parsed, parsed[1:], strict=False):
        if a[0] == b[0] and b[1] <= a[2]:
            problems.append(
                Problem(
                    file, 0, f"regions[{b[3]}]", b[4],
                    f"overlaps regions[{a[3]}] ({a[4]}): variants there would be called twice",
                )
            )  # fmt: skip
    names = list(contigs)
    return [str(Region(names[c], s, e)) for c, s, e, _, _ in parsed]


def _reason(message: str, name: str, text: str) -> str:
    """parse_region's message without its ``name 'text'`` opening (the problem row shows both)."""
    for opening in (f"{name} {text!r}: ", f"{name} {text!r} "):
        if message.startswith(opening):
            return message[len(opening) :]
    return message


def variants_db_problems(resolved: dict[str, Any], engine: Engine) -> list[Problem]:
    """The problems of a resolved ``variants`` config against the database.

    The species is loaded, every accession of the sheet exists and is of its
    species, no sample name belongs to another accession, and no dataset
    registered by another run has the config's name.
    """
    from breedhub.germplasm.db import transaction
    from breedhub.germplasm.genotype_datasets import find_genotype_dataset, sample_accession_ids
    from breedhub.germplasm.queries import accession_species_by_ref
    from breedhub.germplasm.queries_registry import species_id

    info = resolved["_resolved"]
    file = info["config_file"]
    sheet = resolved.get("samples", "")
    table = info.get("samples", [])
    problems: list[Problem] = []
    with transaction(engine) as s:
        species = resolved.get("species")
        if isinstance(species, str) and not species_id(s, species):
            problems.append(
                Problem(
                    file, 0, "species", species,
                    "not in the database: run `breedhub init` to load the registry",
                )
            )  # fmt: skip
        wanted = {e["accession"] for e in table if ":" in e["accession"]}
        found = accession_species_by_ref(s, wanted)
        existing = sample_accession_ids(s, [e["name"] for e in table])
        name = resolved.get("name")
        dataset = find_genotype_dataset(s, name) if isinstance(name, str) else None
        earlier = (dataset.provenance or {}).get("run_dir") if dataset is not None else None
        if dataset is not None and not (earlier and earlier == info.get("run_dir")):
            assert isinstance(name, str)  # a dataset is only looked up by a str name
            problems.append(
                Problem(
                    file, 0, "name", name,
                    "a genotype dataset of that name exists: choose another name",
                )
            )  # fmt: skip
    for entry in table:
        row = entry["rows"][0]
        acc = entry["accession"]
        if ":" not in acc:
            continue
        hit = found.get(acc)
        if hit is None:
            problems.append(
                Problem(
                    sheet, row, "accession", acc,
                    "unknown accession: import its passport first (`breedhub germplasm import passport`)",
                )
            )  # fmt: skip
            continue
        acc_id, key, name = hit
        if entry["species"] and key != entry["species"]:
            problems.append(
                Problem(
                    sheet, row, "accession", acc,
                    f"the accession is {name} ({key}), not {entry['species']}",
                )
            )  # fmt: skip
        owner = existing.get(entry["name"])
        if owner is not None and owner != acc_id:
            problems.append(
                Problem(
                    sheet, row, "sample", entry["name"],
                    "duplicated sample: the database has a sample of that name from another "
                    "accession; rename the sample",
                )
            )  # fmt: skip
    return problems
