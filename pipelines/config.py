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
The checks live in one module each: :mod:`pipelines.config_schema` (the JSON
schemas), :mod:`pipelines.samplesheet` (the sample sheet),
:mod:`pipelines.config_variants` and :mod:`pipelines.config_predict` (each
workflow's files and database records).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml
from sqlalchemy import Engine

from breedhub.pipelines.config_predict import check_predict_config, predict_db_problems
from breedhub.pipelines.config_schema import (
    SCHEMA_DIR,
    WORKFLOWS,
    load_schema,
    schema_problems,
    shown,
    with_defaults,
)
from breedhub.pipelines.config_variants import check_variants_config, variants_db_problems
from breedhub.pipelines.exceptions import ConfigError, Problem
from breedhub.pipelines.samplesheet import SHEET_COLUMNS, read_sample_sheet

__all__ = [
    "SCHEMA_DIR",
    "SHEET_COLUMNS",
    "WORKFLOWS",
    "check_config",
    "load_config",
    "load_schema",
    "prepare_config",
    "read_sample_sheet",
    "schema_problems",
]


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
        return config, [Problem(source, 0, "workflow", shown(kind), reason)]
    if config.get("workflow") != kind:
        reason = f"the config is for the {config.get('workflow')!r} workflow, not {kind!r}"
        return config, [Problem(source, 0, "workflow", shown(config.get("workflow")), reason)]
    schema = load_schema(kind)
    problems = schema_problems(config, schema, file=source)
    config = with_defaults(config, schema)
    base = Path(base_dir) if base_dir is not None else Path.cwd()
    if kind == "variants":
        resolved, more = check_variants_config(config, source, base)
    else:
        resolved, more = check_predict_config(config, source)
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
            problems += variants_db_problems(resolved, engine)
        else:
            problems += predict_db_problems(resolved, engine)
    elif resolved["workflow"] == "predict":
        reason = "the predict workflow needs the database to find its genotype dataset"
        problems.append(Problem(source, 0, "genotype_dataset", "", reason))
    if problems:
        raise ConfigError(problems)
    return resolved
