"""predict: genomic prediction for breeding, arrays in and arrays out.

Relationship matrices (genomic, pedigree, single-step), GBLUP with REML,
Bayesian regressions, RKHS and neural networks behind one interface
(:class:`GenomicModel`: ``fit`` / ``predict`` / save / load), cross-validation,
selection indices and cross prediction. No database, no files required:
usable from a notebook or on a compute node. Importing ``predict`` does not
import torch; the neural networks live in :mod:`predict.nn`.
"""

from breedhub.predict.base import (
    GenomicModel,
    check_fixed,
    check_genotypes,
    check_phenotypes,
    load_model,
    save_model,
)
from breedhub.predict.exceptions import ConvergenceError, InputError, ModelFileError, PredictError

__all__ = [
    "ConvergenceError",
    "GenomicModel",
    "InputError",
    "ModelFileError",
    "PredictError",
    "check_fixed",
    "check_genotypes",
    "check_phenotypes",
    "load_model",
    "save_model",
]
