"""The contract every genomic-prediction model follows, and input validation.

Every model is a :class:`GenomicModel`: ``fit(genotypes, phenotypes)`` then
``predict(genotypes)``; it is saved and loaded with its parameters and
provenance by :mod:`predict.persist`. Inputs are checked the same way for
every model by :func:`check_genotypes` and :func:`check_phenotypes`:

- genotypes are a (samples x markers) matrix of allele dosages 0..ploidy,
  float or integer; a missing genotype (NaN, or -1 in integer input) is an
  error: impute first;
- phenotypes are a vector with one value per sample; missing values (NaN)
  are skipped in fitting; a trait with no values, or a constant one, is an
  error.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import Any, ClassVar

import numpy as np

from breedhub.base.checks import check_ploidy
from breedhub.predict.exceptions import InputError


def check_genotypes(genotypes: Any, *, ploidy: int, name: str = "genotypes") -> np.ndarray:
    """Validate a dosage matrix; return it as a C-contiguous float array.

    Parameters
    ----------
    genotypes
        (samples x markers) allele dosages.
    ploidy
        Required (nothing assumes diploidy); dosages above it are rejected.
    name
        The argument's name for messages.

    Returns
    -------
    numpy.ndarray
        float32 if the input is float32 or integer, else float64.

    Raises
    ------
    TypeError
        If it is not a 2-D numeric array, or ``ploidy`` is missing or not an integer.
    InputError
        If it is empty, has missing values (NaN or negative), or dosages above ploidy.

    Examples
    --------
    >>> check_genotypes([[0, 1, 2], [2, 1, 0]], ploidy=2).dtype
    dtype('float32')
    """
    ploidy = check_ploidy(ploidy)
    arr = np.asarray(genotypes)
    if arr.dtype.kind not in "iufb":
        raise TypeError(f"{name} must be a numeric array, not {arr.dtype}")
    if arr.ndim != 2:
        raise TypeError(f"{name} must be 2-D (samples x markers), not {arr.ndim}-D")
    if arr.shape[0] == 0 or arr.shape[1] == 0:
        raise InputError(f"{name} is empty: shape {arr.shape}")
    if arr.dtype.kind in "iub":
        # Integers: check on the small array, before the float copy.
        lo, hi = (int(arr.min()), int(arr.max())) if arr.size else (0, 0)
        if lo < 0:
            rows = np.unique(np.nonzero(arr < 0)[0])
            raise InputError(
                f"{name} has {int((arr < 0).sum())} missing or negative dosages in samples "
                f"{_some(rows)}: impute them first (breedhub genomics impute)"
            )
        if hi > ploidy:
            rows, cols = np.nonzero(arr > ploidy)
            raise InputError(
                f"{name} has dosages above the ploidy {ploidy} (max {hi}) in samples "
                f"{_some(np.unique(rows))}, markers {_some(np.unique(cols))}"
            )
    out: np.ndarray = np.ascontiguousarray(
        arr, dtype=np.float64 if arr.dtype == np.float64 else np.float32
    )
    bad = None if arr.dtype.kind in "iub" else ~np.isfinite(out) | (out < 0)
    if bad is not None and bad.any():
        rows = np.unique(np.nonzero(bad)[0])
        raise InputError(
            f"{name} has {int(bad.sum())} missing or negative dosages in samples "
            f"{_some(rows)}: impute them first (breedhub genomics impute)"
        )
    over = out > ploidy if arr.dtype.kind not in "iub" else np.zeros((1, 1), dtype=bool)
    if over.any():
        rows, cols = np.nonzero(over)
        raise InputError(
            f"{name} has dosages above the ploidy {ploidy} (max {out.max():g}) in samples "
            f"{_some(np.unique(rows))}, markers {_some(np.unique(cols))}"
        )
    return out


def check_phenotypes(phenotypes: Any, n_samples: int, *, name: str = "phenotypes") -> np.ndarray:
    """Validate a trait vector for ``n_samples`` samples; NaN marks a missing value.

    Raises
    ------
    TypeError
        If it is not numeric or not 1-D.
    InputError
        If its length differs from the genotypes', every value is missing,
        or the observed values are constant.
    """
    arr = np.asarray(phenotypes)
    if arr.dtype.kind not in "iuf":
        raise TypeError(f"{name} must be numeric, not {arr.dtype} (non-numeric values?)")
    arr = arr.astype(np.float64).reshape(-1) if arr.ndim == 2 and 1 in arr.shape else arr
    if arr.ndim != 1:
        raise TypeError(f"{name} must be 1-D, one value per sample")
    if arr.shape[0] != n_samples:
        raise InputError(f"{name} has {arr.shape[0]} values but the genotypes {n_samples} samples")
    y = arr.astype(np.float64)
    if np.isinf(y).any():
        raise InputError(f"{name} has infinite values at {_some(np.nonzero(np.isinf(y))[0])}")
    seen = ~np.isnan(y)
    if not seen.any():
        raise InputError(f"{name}: every value is missing")
    if seen.sum() < 3:
        raise InputError(f"{name}: only {int(seen.sum())} observed values; a fit needs at least 3")
    if np.ptp(y[seen]) == 0:
        raise InputError(f"{name} is constant ({y[seen][0]:g}): nothing to predict")
    return y


def check_fixed(fixed: Any, n_samples: int) -> np.ndarray:
    """Fixed-effect design (n x p) with an intercept added when none is there."""
    if fixed is None:
        return np.ones((n_samples, 1))
    f = np.asarray(fixed, dtype=np.float64)
    f = f.reshape(-1, 1) if f.ndim == 1 else f
    if f.ndim != 2 or f.shape[0] != n_samples:
        raise InputError(f"fixed effects must have {n_samples} rows, not shape {f.shape}")
    if not np.isfinite(f).all():
        raise InputError("fixed effects have missing values")
    if not np.any(np.all(np.isclose(f, f[:1]), axis=0)):
        f = np.column_stack([np.ones(n_samples), f])
    if np.linalg.matrix_rank(f) < f.shape[1]:
        raise InputError("fixed effects are collinear (e.g. a level coded twice); drop a column")
    return f


def _some(idx: np.ndarray, k: int = 8) -> str:
    shown = ", ".join(str(int(i)) for i in idx[:k])
    return shown + (f" and {len(idx) - k} more" if len(idx) > k else "")


class GenomicModel(ABC):
    """A genomic-prediction model: ``fit`` on genotypes and phenotypes, then ``predict``.

    Subclasses set :attr:`method` (the name used by the command line), take
    their options as keyword arguments of ``__init__`` (kept in
    :attr:`params`), and implement :meth:`_fit`, :meth:`_predict`,
    :meth:`state` and :meth:`from_state`.
    """

    method: ClassVar[str]

    def __init__(self, **params: Any):
        self.params = params
        self.ploidy: int | None = None
        self.fitted_ = False
        self.info_: dict[str, Any] = {}

    def fit(
        self,
        genotypes: Any,
        phenotypes: Any,
        *,
        ploidy: int,
        fixed: Any = None,
    ) -> GenomicModel:
        """Fit to the samples with an observed phenotype.

        Parameters
        ----------
        genotypes
            (samples x markers) dosages 0..ploidy.
        phenotypes
            One value per sample; NaN for missing (skipped).
        fixed
            Optional fixed-effect design (samples x covariates); an intercept is added.
        ploidy
            Ploidy of the dosages: required (checked, and used by models that
            need it); from the genotype data or the species registry.
        """
        ploidy = check_ploidy(ploidy)
        X = check_genotypes(genotypes, ploidy=ploidy)
        y = check_phenotypes(phenotypes, X.shape[0])
        keep = ~np.isnan(y)
        F = check_fixed(fixed, X.shape[0])
        self.ploidy = ploidy
        # No copy of the genotypes when every sample is phenotyped.
        self._fit(X if keep.all() else X[keep], y[keep], F[keep])
        self.fitted_ = True
        self.info_.setdefault("n_train", int(keep.sum()))
        self.info_.setdefault("n_markers", int(X.shape[1]))
        return self

    def predict(self, genotypes: Any) -> np.ndarray:
        """Genomic estimated breeding (or genetic) values of these samples."""
        if not self.fitted_:
            raise InputError(f"{self.method}: call fit() before predict()")
        if self.ploidy is None:
            raise InputError(
                f"{self.method}: the model's ploidy is not known: set model.ploidy "
                "(fit and load_model do)"
            )
        X = check_genotypes(genotypes, ploidy=self.ploidy)
        if X.shape[1] != self.info_["n_markers"]:
            raise InputError(
                f"genotypes have {X.shape[1]} markers, the model was fitted on "
                f"{self.info_['n_markers']}"
            )
        return self._predict(X)

    @abstractmethod
    def _fit(self, X: np.ndarray, y: np.ndarray, fixed: np.ndarray) -> None: ...

    @abstractmethod
    def _predict(self, X: np.ndarray) -> np.ndarray: ...

    @abstractmethod
    def state(self) -> dict[str, np.ndarray]:
        """The fitted arrays needed by :meth:`_predict` (saved with the model)."""

    @classmethod
    @abstractmethod
    def from_state(cls, params: dict[str, Any], state: dict[str, np.ndarray]) -> GenomicModel:
        """Rebuild a fitted model from :attr:`params` and :meth:`state`."""
