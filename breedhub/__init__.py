"""breedhub: germplasm, genotypes and genomic prediction for breeding programmes.

This base package holds what every part shares and nothing else: the version,
the root of the exception hierarchy (:class:`BreedhubError`), the settings
(data directory, database URL) and the ``breedhub`` command line. The science
packages (``germplasm``, ``genomics``, ``predict``) import at most
:mod:`breedhub.errors` from here.
"""

from breedhub.errors import BreedhubError

__version__ = "0.1.0"

__all__ = ["BreedhubError", "__version__"]
