"""The HDF5 genotype store's public face, laid out as scikit-allel's ``vcf_to_hdf5`` writes it.

``samples``; ``variants/CHROM``, ``POS``, ``ID``, ``REF``, ``ALT`` (variants x 3),
``QUAL``; ``calldata/GT`` (variants x samples x ploidy, int8, -1 missing) and,
when the VCF declares them, ``calldata/AD``, ``DP``, ``GQ`` (int16, -1 missing);
plus ``calldata/dosage`` (variants x samples, int8 count of non-reference
alleles, -1 missing) for models. Every dataset is chunked, resizable and
gzip-compressed (level 1). Root attributes name the species, ploidy, reference and
provenance (see :data:`genomics.variables.ATTRIBUTES`) and, in ``contigs``,
each contig's length and the range of variant indexes it holds. scikit-allel
and h5py read a store as it is; paths and meanings are in
:mod:`genomics.variables`.

- :mod:`genomics.store_vcf`: :func:`vcf_to_store` streams a VCF, VCF.gz or
  BCF into a store, chunk by chunk, with memory independent of the number of
  variants (the line parser is :mod:`genomics.store_parse`);
- :mod:`genomics.store_write`: :func:`write_genotype_store` writes arrays
  already in memory (same layout);
- :mod:`genomics.store_export`: :func:`store_to_vcf` and
  :func:`store_to_plink` export, streamed;
- :mod:`genomics.store_read`: :func:`read_dosages` reads a region and a subset
  of samples; :func:`store_info` the metadata;
- :mod:`genomics.store_layout`: the paths, attributes and value objects.

Every output is written to a temporary name and renamed when complete.
"""

from breedhub.genomics.store_export import store_to_plink, store_to_vcf
from breedhub.genomics.store_layout import StoreInfo, StoreSummary
from breedhub.genomics.store_read import read_dosages, store_info
from breedhub.genomics.store_vcf import vcf_to_store
from breedhub.genomics.store_write import write_genotype_store

__all__ = [
    "StoreInfo",
    "StoreSummary",
    "read_dosages",
    "store_info",
    "store_to_plink",
    "store_to_vcf",
    "vcf_to_store",
    "write_genotype_store",
]
