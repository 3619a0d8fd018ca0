"""breedhub genomics: from sequencing reads to a genotype store, for any ploidy.

One module a stage; files and arrays in, files and arrays out, never the
database (DESIGN.md). Ploidy is always an argument: the command line takes it
from the species registry.

- :mod:`genomics.simulate`: seeded genomes, populations, reads and truth VCFs
- :mod:`genomics.reference`: FASTA checks, faidx and aligner indexes, regions
- :mod:`genomics.fastq`, :mod:`genomics.align`: checked FASTQ to sorted BAM
- :mod:`genomics.call`: joint calling, bcftools (ploidy 1-2) or our dosage model
- :mod:`genomics.evaluate`: scoring calls against a truth VCF
- :mod:`genomics.qc`, :mod:`genomics.impute`: filtering with a report, imputation
- :mod:`genomics.store`: the HDF5 genotype store (:mod:`genomics.variables`)
- :mod:`genomics.popgen`: allele frequencies, heterozygosity, PCA, LD decay
"""

from breedhub.genomics.align import align_reads
from breedhub.genomics.align_stats import AlignmentStats, alignment_stats
from breedhub.genomics.call import call_variants
from breedhub.genomics.call_dosage import DosageCalls, genotype_dosages
from breedhub.genomics.evaluate import Comparison, compare_to_truth, normalise_vcf
from breedhub.genomics.exceptions import GenomicsError, InputFileError, ToolError
from breedhub.genomics.genotypes import Genotypes, read_genotypes
from breedhub.genomics.impute import impute_genotypes, impute_vcf, masked_accuracy
from breedhub.genomics.popgen import (
    allele_frequencies,
    heterozygosity,
    ld_decay,
    pca,
)
from breedhub.genomics.popgen_report import population_report
from breedhub.genomics.qc import filter_vcf
from breedhub.genomics.qc_stats import QCReport
from breedhub.genomics.reference import (
    Reference,
    check_fasta,
    index_reference,
    load_reference,
    split_regions,
)
from breedhub.genomics.simulate import simulate_dataset
from breedhub.genomics.simulate_pedigree import gene_drop
from breedhub.genomics.simulate_population import simulate_population, write_truth_vcf
from breedhub.genomics.simulate_reads import simulate_reads
from breedhub.genomics.simulate_reference import simulate_reference
from breedhub.genomics.store_export import store_to_plink, store_to_vcf
from breedhub.genomics.store_read import read_dosages, store_info
from breedhub.genomics.store_vcf import vcf_to_store

__all__ = [
    "AlignmentStats",
    "Comparison",
    "DosageCalls",
    "GenomicsError",
    "Genotypes",
    "InputFileError",
    "QCReport",
    "Reference",
    "ToolError",
    "align_reads",
    "alignment_stats",
    "allele_frequencies",
    "call_variants",
    "check_fasta",
    "compare_to_truth",
    "filter_vcf",
    "gene_drop",
    "genotype_dosages",
    "heterozygosity",
    "impute_genotypes",
    "impute_vcf",
    "index_reference",
    "ld_decay",
    "load_reference",
    "masked_accuracy",
    "normalise_vcf",
    "pca",
    "population_report",
    "read_dosages",
    "read_genotypes",
    "simulate_dataset",
    "simulate_population",
    "simulate_reads",
    "simulate_reference",
    "split_regions",
    "store_info",
    "store_to_plink",
    "store_to_vcf",
    "vcf_to_store",
    "write_truth_vcf",
]
