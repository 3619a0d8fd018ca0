"""breedhub: germplasm, genotypes and genomic prediction for breeding programmes.

Everything installs under this one name, in floors (DESIGN.md; the contract in
``pyproject.toml`` is checked by import-linter in CI):

- :mod:`breedhub.base`: errors, settings, provenance, argument checks, atomic
  file output, regions and contigs, the species' ploidy; imports nothing of ours;
- :mod:`breedhub.germplasm`, :mod:`breedhub.genomics`, :mod:`breedhub.predict`:
  the science, each on the base alone;
- :mod:`breedhub.pipelines`, then :mod:`breedhub.web`;
- the application on top: :mod:`breedhub.cli` and :mod:`breedhub.demo`, which
  nothing imports.
"""

from breedhub.base.errors import BreedhubError
from breedhub.base.version import __version__

__all__ = ["BreedhubError", "__version__"]
