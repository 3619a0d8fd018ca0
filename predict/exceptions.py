"""Exceptions of the predict package, all rooted in :class:`BreedhubError`."""

from __future__ import annotations

from breedhub.base.errors import BreedhubError


class PredictError(BreedhubError):
    """Base class of prediction errors."""


class InputError(PredictError, ValueError):
    """Genotypes, phenotypes, a pedigree or a matrix that cannot be used as given.

    Also a ``ValueError``, so callers that catch bad values catch it.
    """


class ConvergenceError(PredictError):
    """A fit did not converge (REML, a sampler, a network)."""


class ModelFileError(PredictError):
    """A saved model file that cannot be read back."""
