"""Model files: a fitted model saved as one ``.npz`` with its arrays, parameters and provenance record, and read back.

The file holds the model's :meth:`~predict.base.GenomicModel.state` arrays and
a ``__meta__`` JSON entry: the format version, the method (a name of
:data:`predict.methods.METHODS`), its parameters, the ploidy, the fit's
figures and the shared provenance record (:mod:`breedhub.base.provenance`).
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import numpy as np

from breedhub.base.files import atomic_output
from breedhub.base.provenance import provenance
from breedhub.predict.base import GenomicModel
from breedhub.predict.exceptions import InputError, ModelFileError
from breedhub.predict.methods import BY_NAME, model_class

FORMAT_VERSION = 1


def data_checksum(*arrays: np.ndarray) -> str:
    """sha256 of arrays' bytes and shapes, for provenance.

    Examples
    --------
    >>> data_checksum(np.zeros(3))[:12]
    '8519c5d7823a'
    """
    h = hashlib.sha256()
    for a in arrays:
        a = np.ascontiguousarray(a)
        h.update(str((a.shape, a.dtype.str)).encode())
        h.update(a.tobytes())
    return h.hexdigest()


def save_model(
    model: GenomicModel,
    path: str | os.PathLike[str],
    *,
    command: str = "breedhub.predict.persist.save_model",
    inputs: Iterable[str | os.PathLike[str]] = (),
    checksums: Mapping[str, str] | None = None,
    **extra: Any,
) -> Path:
    """Write a fitted model to ``path`` (.npz): arrays, parameters and provenance.

    Written whole or not at all (:func:`breedhub.base.files.atomic_output`).

    Parameters
    ----------
    model
        A fitted model.
    path
        The file to write.
    command
        What made the model (a function, or the command line), for the record.
    inputs, checksums
        Input files (hashed unless ``checksums`` gives their sha256).
    **extra
        More for the record's ``extra`` (the trait, the genotypes' checksum,
        the marker ids...).

    Returns
    -------
    Path
    """
    if not isinstance(model, GenomicModel):
        raise TypeError(f"model must be a GenomicModel, not {type(model).__name__}")
    if not model.fitted_:
        raise InputError("only a fitted model can be saved")
    record = provenance(
        command,
        inputs=inputs,
        checksums=checksums,
        parameters={"method": model.method, "ploidy": model.ploidy, **model.params},
        method=model.method,
        **extra,
    )
    meta = {
        "format_version": FORMAT_VERSION,
        "method": model.method,
        "params": model.params,
        "ploidy": model.ploidy,
        "info": model.info_,
        "provenance": record.to_dict(),
    }
    arrays: dict[str, Any] = {"__meta__": np.array(json.dumps(meta, default=str)), **model.state()}
    with atomic_output(path) as tmp, open(tmp, "wb") as fh:
        np.savez_compressed(fh, **arrays)
    return Path(path)


def load_model(path: str | os.PathLike[str]) -> GenomicModel:
    """Read a model written by :func:`save_model`.

    Its provenance record is in ``model.info_["provenance"]``.

    Raises
    ------
    ModelFileError
        If the file is not a breedhub model, or of an unknown method or format.
    """
    try:
        with np.load(path, allow_pickle=False) as z:
            meta = json.loads(str(z["__meta__"]))
            state = {k: z[k] for k in z.files if k != "__meta__"}
    except (OSError, ValueError, KeyError) as exc:
        raise ModelFileError(f"{path}: not a breedhub model file ({exc})") from None
    if meta.get("method") not in BY_NAME or meta.get("format_version") != FORMAT_VERSION:
        raise ModelFileError(f"{path}: unknown method or format {meta.get('method')!r}")
    model = model_class(meta["method"]).from_state(meta["params"], state)
    model.ploidy = meta["ploidy"]
    model.info_ = meta["info"]
    model.info_["provenance"] = meta["provenance"]
    model.fitted_ = True
    return model
