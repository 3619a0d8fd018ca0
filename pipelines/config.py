"""Workflow configs and sample sheets: read, validate, resolve, check against the database.

Everything a workflow needs is checked before any job starts, and every
problem is reported at once (:class:`~pipelines.exceptions.ConfigError`),
each naming its file, row and column:

1. the config against its JSON schema (``pipelines/schemas/<workflow>.schema.json``),
   with the schema's defaults filled in;
2. files: the reference (its contigs, and that the configured regions lie on
   them), the sample sheet, every FASTQ and BAM it names;
3. the sample sheet, row by row, against ``samples.schema.json``, then as a
   whole: lanes of one sample agree, no file or sample twice;
4. the database: every accession exists and is of the config's species, no
   sample name belongs to another accession, no other dataset has the name;
   for ``predict``: the genotype dataset, traits and trials exist, and each
   trait has enough phenotyped, genotyped accessions to cross-validate.

The result is the *resolved* config: the user's config with defaults and
absolute paths, plus a ``_resolved`` section (the sample table, the calling
regions, the ploidy, the genotype store...) that the Snakefile reads, so no
rule has to parse a sheet or reach the database to know what to do.
"""

from __future__ import annotations

import copy
import csv
import gzip
import json
import os
import re
from collections.abc import Callable, Mapping
from functools import cache
from pathlib import Path
from typing import Any, cast

import yaml
from sqlalchemy import Engine, func, select

from breedhub.pipelines.exceptions import ConfigError, Problem

__all__ = [
    "SCHEMA_DIR",
    "WORKFLOWS",
    "check_config",
    "load_config",
    "load_schema",
    "prepare_config",
    "read_sample_sheet",
    "reference_contigs",
]

WORKFLOWS = ("variants", "predict")
SCHEMA_DIR = Path(__file__).parent / "schemas"
SHEET_COLUMNS = ("sample", "accession", "species", "fastq1", "fastq2", "bam", "library", "platform")
_REGION_RE = re.compile(r"^(?P<contig>[^:\s]+)(?::(?P<start>[\d,]+)-(?P<end>[\d,]+))?$")


@cache
def _schema_text(name: str) -> str:
    return (SCHEMA_DIR / f"{name}.schema.json").read_text(encoding="utf-8")


def load_schema(name: str) -> dict[str, Any]:
    """The JSON schema ``name`` (``variants``, ``predict`` or ``samples``).

    Examples
    --------
    >>> load_schema("variants")["properties"]["workflow"]["const"]
    'variants'
    """
    if name not in (*WORKFLOWS, "samples"):
        raise ValueError(f"no schema {name!r}; schemas: variants, predict, samples")
    return json.loads(_schema_text(name))


# --------------------------------------------------------------------------
# Schema validation with every error, named by row and column
# --------------------------------------------------------------------------


def _key(path: list[Any]) -> str:
    out = ""
    for part in path:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def _shown(value: Any) -> str:
    if isinstance(value, (dict, list)):
        return ""
    return "" if value is None else str(value)


_ROW_RULES = {
    "anyOf": ("fastq1", "give fastq1 (and fastq2 for paired reads) or bam"),
    "not": ("bam", "give FASTQ files or a BAM, not both"),
    "dependentRequired": ("fastq1", "fastq2 is given but fastq1 is empty"),
}


def schema_problems(
    instance: Any, schema: Mapping[str, Any], *, file: str, row: int = 0
) -> list[Problem]:
    """Every violation of ``schema`` by ``instance``, as problems naming the key or column.

    A schema may carry an ``x-message`` beside a constraint: it replaces
    jsonschema's message for violations of that (sub)schema.

    Examples
    --------
    >>> schema = {"type": "object", "properties": {"n": {"type": "integer", "minimum": 1}},
    ...           "required": ["n", "name"], "additionalProperties": False}
    >>> for p in schema_problems({"n": 0, "nmae": "x"}, schema, file="c.yaml"):
    ...     print(p)
    c.yaml, n ('0'): 0 is less than the minimum of 1
    c.yaml, name: is required
    c.yaml, nmae: unknown key; known keys: n
    """
    from jsonschema import Draft202012Validator

    validator = Draft202012Validator(schema)
    out: list[Problem] = []
    noun = "column" if row else "key"
    errors = list(validator.iter_errors(instance))
    if any(e.validator == "dependentRequired" and not e.absolute_path for e in errors):
        # "fastq2 without fastq1" says more than "give fastq1 or bam"
        errors = [e for e in errors if e.validator != "anyOf" or e.absolute_path]
    reason: str | None
    for err in errors:
        path = list(err.absolute_path)
        kind = err.validator
        if kind == "required":
            for name in err.validator_value:
                if isinstance(err.instance, dict) and name not in err.instance:
                    out.append(Problem(file, row, _key([*path, name]), "", "is required"))
        elif kind == "additionalProperties":
            known = list(err.schema.get("properties", {}))
            for name in err.instance:
                if name not in known:
                    hint = f"; known {noun}s: {', '.join(known)}" if known else ""
                    out.append(Problem(file, row, _key([*path, name]), "", f"unknown {noun}{hint}"))
        elif not path and row and kind in _ROW_RULES:
            column, reason = _ROW_RULES[str(kind)]
            out.append(Problem(file, row, column, "", reason))
        else:
            reason = err.schema.get("x-message") if isinstance(err.schema, dict) else None
            out.append(Problem(file, row, _key(path), _shown(err.instance), reason or err.message))
    return out


def _with_defaults(config: Mapping[str, Any], schema: Mapping[str, Any]) -> dict[str, Any]:
    out = dict(config)
    for name, sub in schema.get("properties", {}).items():
        if name not in out and isinstance(sub, dict) and "default" in sub:
            out[name] = copy.deepcopy(sub["default"])
    return out


# --------------------------------------------------------------------------
# Files
# --------------------------------------------------------------------------


def load_config(path: str | os.PathLike[str]) -> dict[str, Any]:
    """Read a workflow config (YAML or JSON).

    Raises
    ------
    ConfigError
        If the file is missing, not YAML, or not a mapping.
    """
    p = Path(path)
    if not p.is_file():
        raise ConfigError([Problem(str(p), 0, "", "", "no such config file")])
    try:
        data = yaml.safe_load(p.read_text(encoding="utf-8"))
    except (yaml.YAMLError, UnicodeDecodeError) as exc:
        reason = f"not valid YAML: {str(exc).splitlines()[0]}"
        raise ConfigError([Problem(str(p), 0, "", "", reason)]) from None
    if not isinstance(data, dict):
        reason = "must be a mapping of keys (workflow: ..., name: ...)"
        raise ConfigError([Problem(str(p), 0, "", "", reason)])
    return data


def _resolve_path(value: str, base_dir: Path) -> Path:
    p = Path(os.path.expandvars(os.path.expanduser(value)))
    return p if p.is_absolute() else (base_dir / p).absolute()


def read_sample_sheet(
    path: str | os.PathLike[str],
) -> tuple[list[str], list[tuple[int, dict[str, str]]], list[Problem]]:
    """Read a sample sheet: its header, its rows and the problems of its layout.

    The separator is a tab for ``.tsv``/``.txt`` and a comma for ``.csv``
    (otherwise a tab if the header has one). Cells are stripped; empty cells
    are left out of a row's mapping; blank lines and lines starting with ``#``
    are skipped. Rows are numbered from 1 for the first line under the header.

    Returns
    -------
    tuple
        The column names, ``(row number, {column: value})`` for each row, and
        the problems of the header (unknown, missing or repeated columns).
    """
    p = Path(path)
    file = str(p)
    text = p.read_text(encoding="utf-8-sig")
    lines = text.splitlines()
    header_line = next((ln for ln in lines if ln.strip() and not ln.startswith("#")), "")
    if p.suffix.lower() in (".tsv", ".txt"):
        sep = "\t"
    elif p.suffix.lower() == ".csv":
        sep = ","
    else:
        sep = "\t" if "\t" in header_line else ","
    reader = csv.reader(lines, delimiter=sep)
    header: list[str] = []
    rows: list[tuple[int, dict[str, str]]] = []
    problems: list[Problem] = []
    data_row = 0
    for cells in reader:
        if not any(c.strip() for c in cells) or cells[0].startswith("#"):
            if header:
                data_row += 1
            continue
        if not header:
            header = [c.strip() for c in cells]
            continue
        data_row += 1
        if len(cells) > len(header):
            problems.append(
                Problem(file, data_row, "", "", f"{len(cells)} cells but {len(header)} columns")
            )
        row = {h: c.strip() for h, c in zip(header, cells, strict=False) if h and c.strip()}
        rows.append((data_row, row))
    if not header:
        return [], [], [Problem(file, 0, "", "", "the sample sheet is empty")]
    known = set(SHEET_COLUMNS)
    seen: set[str] = set()
    for name in header:
        if name in seen:
            problems.append(Problem(file, 0, name, "", "the column appears twice"))
        seen.add(name)
        if name not in known:
            problems.append(
                Problem(file, 0, name, "", f"unknown column; columns: {', '.join(SHEET_COLUMNS)}")
            )
    for name in ("sample", "accession", "species"):
        if name not in header:
            problems.append(Problem(file, 0, name, "", "required column is missing"))
    if not rows:
        problems.append(Problem(file, 0, "", "", "the sample sheet has no rows"))
    return header, rows, problems


def reference_contigs(path: str | os.PathLike[str]) -> dict[str, int]:
    """Contig names and lengths of a FASTA, in order: from its ``.fai`` when up to date.

    Plain or gzip/bgzip FASTA. Raises ``ValueError`` for a file that is not FASTA.

    Examples
    --------
    >>> import tempfile
    >>> fa = Path(tempfile.mkdtemp()) / "ref.fa"
    >>> _ = fa.write_text(">chr1 first\\nACGT\\nAC\\n>chr2\\nGG\\n")
    >>> reference_contigs(fa)
    {'chr1': 6, 'chr2': 2}
    """
    p = Path(path)
    fai = Path(f"{p}.fai")
    if fai.is_file() and fai.stat().st_mtime >= p.stat().st_mtime:
        out: dict[str, int] = {}
        with open(fai, encoding="utf-8") as fh:
            for line in fh:
                parts = line.rstrip("\n").split("\t")
                if len(parts) >= 2 and parts[1].isdigit():
                    out[parts[0]] = int(parts[1])
        if out:
            return out
    with open(p, "rb") as raw:
        gz = raw.read(2) == b"\x1f\x8b"
    opener: Callable[..., Any] = gzip.open if gz else open
    contigs: dict[str, int] = {}
    name = None
    with opener(p, "rb") as fh:
        for n, line in enumerate(fh, 1):
            if line.startswith(b">"):
                name = line[1:].split()[0].decode() if line[1:].split() else ""
                if not name:
                    raise ValueError(f"line {n}: a '>' header without a name")
                if name in contigs:
                    raise ValueError(f"line {n}: contig {name} appears twice")
                contigs[name] = 0
            elif name is None:
                if line.strip():
                    raise ValueError(f"line {n}: not FASTA (no '>' header before the sequence)")
            else:
                contigs[name] += len(line.strip())
    if not contigs:
        raise ValueError("no sequences (not a FASTA file?)")
    return contigs


def _parse_region(text: str, contigs: dict[str, int]) -> tuple[str, int, int] | str:
    """(contig, start, end) of a region string, or the reason it is bad."""
    m = _REGION_RE.match(text.strip())
    if not m:
        return "must be 'contig' or 'contig:start-end'"
    contig = m.group("contig")
    if contig not in contigs:
        some = ", ".join(list(contigs)[:8]) + (", ..." if len(contigs) > 8 else "")
        return f"the reference has no contig {contig} (its contigs: {some})"
    length = contigs[contig]
    if m.group("start") is None:
        return contig, 1, length
    start, end = (int(m.group(g).replace(",", "")) for g in ("start", "end"))
    if not 1 <= start <= end <= length:
        return f"outside {contig} (1-{length}) or start > end; regions are 1-based and inclusive"
    return contig, start, end


# --------------------------------------------------------------------------
# variants
# --------------------------------------------------------------------------


def _bam_problems(
    bam: Path, sample: str, contigs: dict[str, int] | None, file: str, row: int
) -> list[Problem]:
    import pysam

    out = []
    if not any(
        Path(s).is_file()
        for s in (f"{bam}.bai", f"{bam}.csi", bam.with_suffix(".bai"), f"{bam}.crai")
    ):
        out.append(
            Problem(file, row, "bam", str(bam), "no index beside it; run `samtools index` on it")
        )
    try:
        with pysam.AlignmentFile(str(bam), "rb", check_sq=False) as fh:
            header = fh.header.to_dict()
    except (OSError, ValueError) as exc:
        return [Problem(file, row, "bam", str(bam), f"not a readable BAM ({exc})")]
    names = {g.get("SM", "") for g in header.get("RG", [])}
    if names != {sample}:
        out.append(
            Problem(
                file, row, "bam", str(bam),
                f"its read groups name the samples {sorted(names) or 'none'}, not {sample}; "
                "give the BAM of this sample, or fix its @RG SM",
            )
        )  # fmt: skip
    if contigs is not None:
        sq = {s["SN"]: s["LN"] for s in header.get("SQ", [])}
        if sq != contigs:
            out.append(
                Problem(
                    file, row, "bam", str(bam),
                    "aligned to another reference: its @SQ contigs differ from the reference's",
                )
            )  # fmt: skip
    return out


def _check_variants(
    config: dict[str, Any], file: str, base_dir: Path
) -> tuple[dict[str, Any], list[Problem]]:
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
        ref = _resolve_path(config["reference"], base_dir)
        resolved["reference"] = str(ref)
        if not ref.is_file():
            problems.append(Problem(file, 0, "reference", str(ref), "no such file"))
        else:
            try:
                contigs = reference_contigs(ref)
            except (OSError, ValueError, UnicodeDecodeError) as exc:
                problems.append(Problem(file, 0, "reference", str(ref), f"not a FASTA: {exc}"))
    if contigs is not None:
        info["regions"] = _regions(config, contigs, file, problems)
    # the sample sheet
    if isinstance(config.get("samples"), str):
        sheet = _resolve_path(config["samples"], base_dir)
        resolved["samples"] = str(sheet)
        if not sheet.is_file():
            problems.append(Problem(file, 0, "samples", str(sheet), "no such sample sheet"))
        else:
            table, sheet_problems = _check_sheet(sheet, resolved.get("species"), contigs)
            problems += sheet_problems
            info["samples"] = table
    resolved["_resolved"] = info
    return resolved, problems


def _regions(
    config: dict[str, Any], contigs: dict[str, int], file: str, problems: list[Problem]
) -> list[str]:
    from breedhub.genomics.reference import split_regions

    if not config.get("regions"):
        size = config.get("region_size", 1_000_000)
        return split_regions(contigs, size=size if isinstance(size, int) and size > 0 else 10**6)
    parsed = []
    for i, text in enumerate(config["regions"]):
        if not isinstance(text, str):
            continue  # the schema reported it
        got = _parse_region(text, contigs)
        if isinstance(got, str):
            problems.append(Problem(file, 0, f"regions[{i}]", text, got))
        else:
            parsed.append((list(contigs).index(got[0]), got[1], got[2], i, text))
    parsed.sort()
    for a, b in zip(parsed, parsed[1:], strict=False):
        if a[0] == b[0] and b[1] <= a[2]:
            problems.append(
                Problem(
                    file, 0, f"regions[{b[3]}]", b[4],
                    f"overlaps regions[{a[3]}] ({a[4]}): variants there would be called twice",
                )
            )  # fmt: skip
    return [f"{list(contigs)[c]}:{s}-{e}" for c, s, e, _, _ in parsed]


def _check_sheet(
    sheet: Path, species: str | None, contigs: dict[str, int] | None
) -> tuple[list[dict[str, Any]], list[Problem]]:
    """The sample table of a sheet (one entry per sample, lanes gathered) and its problems."""
    from breedhub.germplasm import default_registry

    file = str(sheet)
    header, rows, problems = read_sample_sheet(sheet)
    if any(p.row == 0 and p.reason == "required column is missing" for p in problems) or not rows:
        return [], problems
    schema = load_schema("samples")
    base = sheet.parent
    registry = default_registry()
    samples: dict[str, dict[str, Any]] = {}
    file_rows: dict[Path, tuple[int, str]] = {}
    for row_no, row in rows:
        row = {k: v for k, v in row.items() if k in SHEET_COLUMNS}
        bad = schema_problems(row, schema, file=file, row=row_no)
        problems += bad
        sample = row.get("sample", "")
        if row.get("species"):
            if row["species"] not in registry:
                known = ", ".join(sp.key for sp in registry)
                problems.append(
                    Problem(file, row_no, "species", row["species"], f"unknown species; known: {known}")
                )  # fmt: skip
            elif species and row["species"] != species:
                problems.append(
                    Problem(
                        file, row_no, "species", row["species"],
                        f"the config's species is {species}: a dataset holds one species",
                    )
                )  # fmt: skip
        files: dict[str, Path] = {}
        for column in ("fastq1", "fastq2", "bam"):
            if row.get(column):
                path = _resolve_path(row[column], base)
                files[column] = path
                if not path.is_file():
                    problems.append(Problem(file, row_no, column, row[column], "no such file"))
                    continue
                first = file_rows.setdefault(path, (row_no, sample))
                if first[0] != row_no:
                    reason = (
                        f"duplicated sample: row {first[0]} has the same sample and reads"
                        if first[1] == sample
                        else f"the same file as row {first[0]} (sample {first[1]})"
                    )
                    problems.append(Problem(file, row_no, column, row[column], reason))
                elif column == "bam" and sample:
                    problems += _bam_problems(path, sample, contigs, file, row_no)
        if not sample or any(p.row == row_no and p.column == "sample" for p in bad):
            continue
        entry = samples.get(sample)
        unit = {"fastq1": str(files.get("fastq1", "")), "fastq2": str(files.get("fastq2", ""))}
        if entry is None:
            samples[sample] = {
                "name": sample,
                "accession": row.get("accession", ""),
                "species": row.get("species", ""),
                "library": row.get("library", sample),
                "platform": row.get("platform", "ILLUMINA"),
                "units": [unit] if "fastq1" in files else [],
                "bam": str(files.get("bam", "")),
                "rows": [row_no],
            }
            continue
        first_row = entry["rows"][0]
        if entry["bam"] or "bam" in files:
            problems.append(
                Problem(
                    file, row_no, "sample", sample,
                    f"duplicated sample: also in row {first_row}; a sample with a BAM has one row",
                )
            )  # fmt: skip
        for column, default in (("accession", ""), ("species", ""), ("library", sample),
                                ("platform", "ILLUMINA")):  # fmt: skip
            value = row.get(column, default)
            if value != entry[column]:
                problems.append(
                    Problem(
                        file, row_no, column, value,
                        f"duplicated sample: {sample} is in row {first_row} with {column} "
                        f"{entry[column]!r}; lanes of one sample must agree (or rename the sample)",
                    )
                )  # fmt: skip
        if "fastq1" in files:
            entry["units"].append(unit)
        entry["rows"].append(row_no)
    return list(samples.values()), problems


# --------------------------------------------------------------------------
# predict
# --------------------------------------------------------------------------


def _check_predict(config: dict[str, Any], file: str) -> tuple[dict[str, Any], list[Problem]]:
    problems: list[Problem] = []
    resolved = dict(config)
    methods = config.get("methods") or []
    select_ = config.get("select", "best")
    if isinstance(select_, str) and select_ != "best" and select_ not in methods:
        problems.append(
            Problem(
                file, 0, "select", select_,
                f"not among the methods cross-validated ({', '.join(map(str, methods))}); "
                "add it to methods or use 'best'",
            )
        )  # fmt: skip
    for method in config.get("params") or {}:
        if method not in methods:
            problems.append(
                Problem(file, 0, f"params.{method}", "", "options of a method that is not run")
            )
    resolved["_resolved"] = {"config_file": file}
    return resolved, problems


# --------------------------------------------------------------------------
# The database
# --------------------------------------------------------------------------


def _variants_db_problems(resolved: dict[str, Any], engine: Engine) -> list[Problem]:
    from breedhub.germplasm.db import transaction
    from breedhub.germplasm.models import Accession, GenotypeDataset, Institute, Sample, SpeciesRow

    info = resolved["_resolved"]
    file = info["config_file"]
    sheet = resolved.get("samples", "")
    table = info.get("samples", [])
    problems: list[Problem] = []
    with transaction(engine) as s:
        species = resolved.get("species")
        if isinstance(species, str) and not s.scalar(
            select(SpeciesRow.id).where(SpeciesRow.key == species)
        ):
            problems.append(
                Problem(
                    file, 0, "species", species,
                    "not in the database: run `breedhub init` to load the registry",
                )
            )  # fmt: skip
        wanted = {e["accession"] for e in table if ":" in e["accession"]}
        numbers = sorted({a.split(":", 1)[1] for a in wanted})
        found: dict[str, tuple[int, str, str]] = {}
        for i in range(0, len(numbers), 500):
            rows = s.execute(
                select(
                    Institute.code, Accession.accenumb, Accession.id, SpeciesRow.key,
                    SpeciesRow.scientific_name,
                )
                .join(Institute, Institute.id == Accession.institute_id)
                .join(SpeciesRow, SpeciesRow.id == Accession.species_id)
                .where(Accession.accenumb.in_(numbers[i : i + 500]))
            ).all()  # fmt: skip
            for code, number, acc_id, key, scientific in rows:
                found[f"{code}:{number}"] = (acc_id, key, scientific)
        names = [e["name"] for e in table]
        existing: dict[str, int] = {}
        for i in range(0, len(names), 500):
            existing.update(
                s.execute(
                    select(Sample.name, Sample.accession_id).where(
                        Sample.name.in_(names[i : i + 500])
                    )
                )
                .tuples()
                .all()
            )
        name = resolved.get("name")
        dataset = None
        if isinstance(name, str):
            ds = s.scalars(select(GenotypeDataset).where(GenotypeDataset.name == name))
            dataset = ds.first()
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


def phenotyped_accessions(
    session: Any, accession_ids: list[int], variable_ids: list[int], trial_ids: list[int] | None
) -> dict[int, dict[int, tuple[float, int]]]:
    """Per variable, per accession: the mean and count of its numeric observations.

    Only observations of ``accession_ids``, and of ``trial_ids`` when given.
    """
    from breedhub.germplasm.models import Observation, ObservationUnit, Study

    out: dict[int, dict[int, tuple[float, int]]] = {}
    for i in range(0, len(accession_ids), 500):
        q = (
            select(
                Observation.variable_id,
                Observation.accession_id,
                func.avg(Observation.numeric_value),
                func.count(Observation.numeric_value),
            )
            .where(
                Observation.accession_id.in_(accession_ids[i : i + 500]),
                Observation.variable_id.in_(variable_ids),
                Observation.numeric_value.is_not(None),
            )
            .group_by(Observation.variable_id, Observation.accession_id)
        )
        if trial_ids is not None:
            q = (
                q.join(ObservationUnit, ObservationUnit.id == Observation.observation_unit_id)
                .join(Study, Study.id == ObservationUnit.study_id)
                .where(Study.trial_id.in_(trial_ids))
            )
        for var, acc, mean, n in session.execute(q).all():
            out.setdefault(var, {})[acc] = (float(mean), int(n))
    return out


def _predict_db_problems(resolved: dict[str, Any], engine: Engine) -> list[Problem]:
    from breedhub.germplasm.db import transaction
    from breedhub.germplasm.models import (
        GenotypeDataset,
        GenotypeDatasetSample,
        ObservationVariable,
        Sample,
        SpeciesRow,
        Trial,
    )

    info = resolved["_resolved"]
    file = info["config_file"]
    problems: list[Problem] = []

    def strings(key: str) -> list[str]:
        value = resolved.get(key)
        return [v if isinstance(v, str) else "" for v in value] if isinstance(value, list) else []

    traits, trial_names = strings("traits"), strings("trials")
    folds = cast(int, resolved.get("folds")) if isinstance(resolved.get("folds"), int) else 5
    name = resolved.get("genotype_dataset")
    if not isinstance(name, str):
        return problems
    with transaction(engine) as s:
        ds = s.scalars(select(GenotypeDataset).where(GenotypeDataset.name == name)).first()
        if ds is None:
            known = s.scalars(select(GenotypeDataset.name).order_by(GenotypeDataset.name)).all()
            shown = ", ".join(known[:10]) + (", ..." if len(known) > 10 else "") or "none"
            problems.append(
                Problem(file, 0, "genotype_dataset", str(name),
                        f"no genotype dataset of that name (registered: {shown})")
            )  # fmt: skip
            return problems
        species = s.scalar(select(SpeciesRow.key).where(SpeciesRow.id == ds.species_id))
        info.update(
            dataset_id=ds.id, genotypes=ds.path, species=species, ploidy=ds.ploidy,
            n_genotyped=ds.n_samples,
        )  # fmt: skip
        if not Path(ds.path).is_file():
            problems.append(
                Problem(file, 0, "genotype_dataset", str(name),
                        f"its genotype store {ds.path} is missing")
            )  # fmt: skip
        acc_ids = sorted(
            set(
                s.scalars(
                    select(Sample.accession_id)
                    .join(GenotypeDatasetSample, GenotypeDatasetSample.sample_id == Sample.id)
                    .where(GenotypeDatasetSample.dataset_id == ds.id)
                ).all()
            )
        )
        variables = {
            v.name: v
            for v in s.scalars(
                select(ObservationVariable).where(ObservationVariable.name.in_(traits))
            )
        }
        var_ids: dict[str, int] = {}
        for i, trait in enumerate(traits):
            var = variables.get(trait)
            if var is None:
                problems.append(Problem(file, 0, f"traits[{i}]", trait, "no observation variable of that name"))  # fmt: skip
            elif var.data_type != "numerical":
                problems.append(Problem(file, 0, f"traits[{i}]", trait, f"is {var.data_type}; only numerical traits are predicted"))  # fmt: skip
            elif var.species_id is not None and var.species_id != ds.species_id:
                problems.append(Problem(file, 0, f"traits[{i}]", trait, f"is a trait of another species than the dataset's ({species})"))  # fmt: skip
            else:
                var_ids[trait] = var.id
        trial_ids = None
        if trial_names:
            trials = {
                t.name: t for t in s.scalars(select(Trial).where(Trial.name.in_(trial_names)))
            }
            trial_ids = []
            for i, trial in enumerate(trial_names):
                t = trials.get(trial)
                if t is None:
                    problems.append(Problem(file, 0, f"trials[{i}]", trial, "no trial of that name"))  # fmt: skip
                elif t.species_id != ds.species_id:
                    problems.append(Problem(file, 0, f"trials[{i}]", trial, f"is a trial of another species than the dataset's ({species})"))  # fmt: skip
                else:
                    trial_ids.append(t.id)
        trials_ok = trial_ids is None or len(trial_ids) == len(trial_names)
        if var_ids and acc_ids and trials_ok:
            means = phenotyped_accessions(s, acc_ids, list(var_ids.values()), trial_ids)
            for i, trait in enumerate(traits):
                if trait not in var_ids:
                    continue
                n = len(means.get(var_ids[trait], {}))
                if n < max(folds, 3):
                    where = " in the trials given" if trial_ids is not None else ""
                    problems.append(
                        Problem(
                            file, 0, f"traits[{i}]", trait,
                            f"only {n} of the dataset's {len(acc_ids)} accessions have "
                            f"observations of it{where}: {folds}-fold cross-validation needs "
                            f"at least {max(folds, 3)}",
                        )
                    )  # fmt: skip
    return problems


# --------------------------------------------------------------------------
# Entry points
# --------------------------------------------------------------------------


def check_config(
    config: Mapping[str, Any],
    kind: str | None = None,
    *,
    source: str = "config",
    base_dir: str | os.PathLike[str] | None = None,
) -> tuple[dict[str, Any], list[Problem]]:
    """Validate a config and its files without the database; return it resolved and the problems.

    Parameters
    ----------
    config
        The config as read (:func:`load_config`).
    kind
        ``variants`` or ``predict``; default: the config's ``workflow``.
    source
        The config file's name, for the problems.
    base_dir
        Where relative paths start (the config file's folder); default: the
        working directory.
    """
    config = dict(config)
    config.pop("_resolved", None)
    kind = kind or config.get("workflow")
    if kind not in WORKFLOWS:
        reason = f"must be one of {', '.join(WORKFLOWS)}"
        return config, [Problem(source, 0, "workflow", _shown(kind), reason)]
    if config.get("workflow") != kind:
        reason = f"the config is for the {config.get('workflow')!r} workflow, not {kind!r}"
        return config, [Problem(source, 0, "workflow", _shown(config.get("workflow")), reason)]
    schema = load_schema(kind)
    problems = schema_problems(config, schema, file=source)
    config = _with_defaults(config, schema)
    base = Path(base_dir) if base_dir is not None else Path.cwd()
    if kind == "variants":
        resolved, more = _check_variants(config, source, base)
    else:
        resolved, more = _check_predict(config, source)
    return resolved, problems + more


def prepare_config(
    config: str | os.PathLike[str] | Mapping[str, Any],
    kind: str | None = None,
    *,
    engine: Engine | None = None,
    home: str | os.PathLike[str] | None = None,
    run_dir: str | os.PathLike[str] | None = None,
) -> dict[str, Any]:
    """Everything checked, the config resolved: what a workflow runs on.

    Parameters
    ----------
    config
        A config file, or a config mapping (relative paths then start in the
        working directory).
    kind
        ``variants`` or ``predict``; default: the config's ``workflow``.
    engine
        The database to check the samples, accessions, datasets, traits and
        trials against; None skips those checks (``predict`` needs it to
        find its genotype store).
    home
        The data directory, recorded for the rules that register results.
    run_dir
        The working directory the workflow will run in (a dataset that this
        run registered earlier is not a name clash).

    Returns
    -------
    dict
        The config with defaults, absolute paths and a ``_resolved`` section.

    Raises
    ------
    ConfigError
        Listing every problem of the config, its sample sheet and their
        records in the database.
    """
    if isinstance(config, (str, os.PathLike)):
        source = str(config)
        data = load_config(config)
        base_dir: Path | None = Path(config).absolute().parent
    else:
        source, data, base_dir = "config", dict(config), None
    resolved, problems = check_config(data, kind, source=source, base_dir=base_dir)
    if resolved.get("workflow") not in WORKFLOWS or "_resolved" not in resolved:
        raise ConfigError(problems)
    info = resolved["_resolved"]
    if home is not None:
        info["home"] = str(Path(home).absolute())
    if run_dir is not None:
        info["run_dir"] = str(Path(run_dir).absolute())
    if engine is not None:
        # the database checks run beside the others, so that one pass lists every problem
        if resolved["workflow"] == "variants":
            problems += _variants_db_problems(resolved, engine)
        else:
            problems += _predict_db_problems(resolved, engine)
    elif resolved["workflow"] == "predict":
        reason = "the predict workflow needs the database to find its genotype dataset"
        problems.append(Problem(source, 0, "genotype_dataset", "", reason))
    if problems:
        raise ConfigError(problems)
    return resolved
