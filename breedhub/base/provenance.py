"""One provenance record for every output: tool, version, command, inputs with sha256, parameters, time.

Every stage of genomics, every model run and every workflow step writes the
same shape (as msprime's provenance does), as an HDF5 attribute, a JSON
sidecar or a column of a model run, so any output can say how it was made.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import math
import os
import platform
import sys
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from breedhub.base.version import __version__

#: Bump when the record's fields change.
SCHEMA_VERSION = 1


def sha256_file(path: str | os.PathLike[str], *, chunk: int = 1 << 20) -> str:
    """The hex sha256 of a file's bytes, read in chunks.

    Examples
    --------
    >>> import tempfile
    >>> p = Path(tempfile.mkdtemp()) / "x"
    >>> _ = p.write_bytes(b"abc")
    >>> sha256_file(p)[:16]
    'ba7816bf8f01cfea'
    """
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        while block := fh.read(chunk):
            h.update(block)
    return h.hexdigest()


def jsonable(value: Any) -> Any:
    """``value`` with numpy scalars and arrays, paths and sets made JSON-friendly.

    NaN and infinities become ``None`` (JSON has neither).

    Examples
    --------
    >>> jsonable({"a": Path("x"), "b": {1, 2}, "c": float("nan")})
    {'a': 'x', 'b': [1, 2], 'c': None}
    """
    if isinstance(value, Mapping):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        items = sorted(value, key=str) if isinstance(value, set | frozenset) else value
        return [jsonable(v) for v in items]
    if isinstance(value, os.PathLike):
        return os.fspath(value)
    if hasattr(value, "tolist") and callable(value.tolist):  # numpy scalars and arrays
        return jsonable(value.tolist())
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if value is None or isinstance(value, str | int | float | bool):
        return value
    return str(value)


@dataclass(frozen=True)
class Provenance:
    """How an output was made.

    Parameters
    ----------
    command
        What made it: a function (``breedhub.genomics.call.call_variants``)
        or a command line (``breedhub predict fit ...``).
    parameters
        The options that change the result (seed included).
    inputs
        Each input file's path and sha256 (``{"path": ..., "sha256": ...}``).
    tool, version
        ``breedhub`` and its version.
    created
        UTC time, ISO 8601 to the second.
    environment
        Python and platform; numpy's version where it is loaded.
    extra
        Anything the stage adds (seed of a simulation, a model's method...).
    """

    command: str
    parameters: dict[str, Any] = field(default_factory=dict)
    inputs: list[dict[str, str]] = field(default_factory=list)
    tool: str = "breedhub"
    version: str = __version__
    created: str = ""
    environment: dict[str, str] = field(default_factory=dict)
    extra: dict[str, Any] = field(default_factory=dict)
    schema_version: int = SCHEMA_VERSION

    def to_dict(self) -> dict[str, Any]:
        """The record as a JSON-friendly dict."""
        out: dict[str, Any] = jsonable(asdict(self))
        return out

    def to_json(self) -> str:
        """The record as one line of JSON."""
        return json.dumps(self.to_dict(), sort_keys=True)


def _environment() -> dict[str, str]:
    env = {"python": platform.python_version(), "platform": sys.platform}
    numpy = sys.modules.get("numpy")
    if numpy is not None:
        env["numpy"] = str(numpy.__version__)
    return env


def provenance(
    command: str,
    *,
    inputs: Iterable[str | os.PathLike[str]] = (),
    parameters: Mapping[str, Any] | None = None,
    checksums: Mapping[str, str] | None = None,
    **extra: Any,
) -> Provenance:
    """The provenance record of an output made now by ``command``.

    Parameters
    ----------
    command
        The function or command line that made the output.
    inputs
        Input files; each is hashed (sha256) unless ``checksums`` already
        gives its digest. A missing file is recorded with ``sha256`` None.
    parameters
        Options that change the result.
    checksums
        Known digests by path, to skip re-hashing large files.
    **extra
        Anything else worth keeping (seed, method, workflow...).

    Returns
    -------
    Provenance

    Examples
    --------
    >>> p = provenance("breedhub.genomics.qc.filter_vcf", parameters={"min_maf": 0.05})
    >>> p.tool, p.parameters, p.inputs
    ('breedhub', {'min_maf': 0.05}, [])
    """
    known = dict(checksums or {})
    records = []
    for path in inputs:
        key = os.fspath(path)
        digest = known.get(key)
        if digest is None and Path(key).is_file():
            digest = sha256_file(key)
        records.append({"path": key, "sha256": digest})
    return Provenance(
        command=command,
        parameters=jsonable(dict(parameters or {})),
        inputs=records,  # type: ignore[arg-type]
        created=dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
        environment=_environment(),
        extra=jsonable(extra),
    )
