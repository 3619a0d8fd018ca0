"""The workflows' JSON schemas: loading them, and every violation as a problem row.

``pipelines/schemas/<workflow>.schema.json`` describes a config, and
``samples.schema.json`` a sample sheet's row; :func:`schema_problems` turns
jsonschema's errors into :class:`~pipelines.exceptions.Problem` rows that
name the file, the row and the key or column.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Mapping
from functools import cache
from pathlib import Path
from typing import Any

from breedhub.pipelines.exceptions import Problem

__all__ = ["SCHEMA_DIR", "WORKFLOWS", "load_schema", "schema_problems", "shown", "with_defaults"]

WORKFLOWS = ("variants", "predict")
SCHEMA_DIR = Path(__file__).parent / "schemas"


@cache
def _schema_text(name: str) -> str:
    return (SCHEMA_DIR / f"{name}.schema.json").read_text(encoding="utf-8")


def load_schema(name: str) -> dict[str, Any]:
    """The JSON schema ``name`` (``variants``, ``predict`` or ``samples``).

    Examples
    --------
    >>> load_schema("variants")["properties"]["workflow"]["const"]
    'variants'
    >>> load_schema("predict")["properties"]["methods"]["items"]["enum"][:2]
    ['gblup', 'rrblup']
    """
    if name not in (*WORKFLOWS, "samples"):
        raise ValueError(f"no schema {name!r}; schemas: variants, predict, samples")
    return _with_enums(json.loads(_schema_text(name)))


def _with_enums(node: Any) -> Any:
    """``{"x-enum": "methods"}`` replaced by the method registry's names.

    The schema files do not list the prediction methods: they come from
    :func:`breedhub.predict.methods.method_names`, the one place they are kept.
    """
    if isinstance(node, dict):
        if node.get("x-enum") == "methods":
            from breedhub.predict.methods import method_names

            rest = {k: v for k, v in node.items() if k != "x-enum"}
            return {**rest, "enum": method_names()}
        return {k: _with_enums(v) for k, v in node.items()}
    if isinstance(node, list):
        return [_with_enums(v) for v in node]
    return node


def _key(path: list[Any]) -> str:
    out = ""
    for part in path:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def shown(value: Any) -> str:
    """A value as a problem row shows it: text for scalars, empty for lists and mappings."""
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
            out.append(Problem(file, row, _key(path), shown(err.instance), reason or err.message))
    return out


def with_defaults(config: Mapping[str, Any], schema: Mapping[str, Any]) -> dict[str, Any]:
    """``config`` with the top-level defaults of ``schema`` filled in (copied)."""
    out = dict(config)
    for name, sub in schema.get("properties", {}).items():
        if name not in out and isinstance(sub, dict) and "default" in sub:
            out[name] = copy.deepcopy(sub["default"])
    return out
