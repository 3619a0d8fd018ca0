"""The genotype store's data model, named once (STYLE.md, item 1).

Every stage that writes or reads the HDF5 genotype store, and every matrix
that passes from ``genomics`` to ``predict``, uses these names. The paths are
scikit-allel's (``vcf_to_hdf5``), so ``allel`` reads a store as it is; the
``name`` is the sgkit-style name used in code and documentation.

Dimensions: ``variants`` (markers, in genome order), ``samples``, ``ploidy``
(homologues per sample, from the species registry), ``alt_alleles``.
Missing values are -1 in integer arrays and "" in strings.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Variable:
    """One dataset of the genotype store."""

    name: str
    path: str
    kind: str  # numpy dtype kind: i (int), f (float), S/O (string), b (bool)
    dims: tuple[str, ...]
    meaning: str


VARIABLES: tuple[Variable, ...] = (
    Variable("sample_id", "samples", "O", ("samples",), "sample names, as in the VCF header"),
    Variable("variant_contig", "variants/CHROM", "O", ("variants",), "contig of each variant"),
    Variable("variant_position", "variants/POS", "i", ("variants",), "1-based position"),
    Variable(
        "variant_id",
        "variants/ID",
        "O",
        ("variants",),
        "marker id as in the VCF ('.' when none; readers use CHROM:POS then)",
    ),
    Variable("variant_ref", "variants/REF", "O", ("variants",), "reference allele"),
    Variable("variant_alt", "variants/ALT", "O", ("variants", "alt_alleles"), "alternate alleles"),
    Variable("variant_qual", "variants/QUAL", "f", ("variants",), "Phred quality of the site"),
    Variable(
        "call_genotype",
        "calldata/GT",
        "i",
        ("variants", "samples", "ploidy"),
        "allele indexes (int8), -1 missing; in the VCF's order, as scikit-allel reads it",
    ),
    Variable(
        "call_dosage",
        "calldata/dosage",
        "i",
        ("variants", "samples"),
        "count of non-reference alleles (int8), 0..ploidy, -1 missing",
    ),
    Variable("call_depth", "calldata/DP", "i", ("variants", "samples"), "read depth"),
    Variable(
        "call_allele_depth",
        "calldata/AD",
        "i",
        ("variants", "samples", "alleles"),
        "reads supporting each allele, REF first",
    ),
    Variable("call_genotype_quality", "calldata/GQ", "i", ("variants", "samples"), "Phred GQ"),
)

BY_NAME: dict[str, Variable] = {v.name: v for v in VARIABLES}
BY_PATH: dict[str, Variable] = {v.path: v for v in VARIABLES}

#: Attributes of the store's root group.
ATTRIBUTES: dict[str, str] = {
    "species": "species code from the registry (e.g. 'oryza_sativa'), or ''",
    "ploidy": "homologues per sample; the size of the ploidy dimension",
    "contigs": "JSON {contig: length} from the VCF header (length null when unknown)",
    "reference": "path or name of the reference genome, with its sha256 when known",
    "provenance": "JSON: software version, command, parameters, input checksums, time",
}
