"""pipelines.inputs: phenotype tables, trait vectors, and genotype files lined up with them."""

import gzip

import numpy as np
import polars as pl
import pytest

from breedhub.base.errors import InputFileError
from breedhub.pipelines.inputs import load_training_data, read_phenotypes, trait_vector

VCF = """##fileformat=VCFv4.2
##contig=<ID=chr1,length=1000>
##FORMAT=<ID=GT,Number=1,Type=String,Description="Genotype">
#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\tFORMAT\tA\tB\tC
chr1\t10\tm1\tA\tG\t.\tPASS\t.\tGT\t0/0/0/0/0/1\t0/0/1/1/1/1\t1/1/1/1/1/1
chr1\t20\t.\tC\tT\t.\tPASS\t.\tGT\t0/0/0/0/0/0\t0/1/1/1/1/1\t./././././.
"""


def test_trait_vector__aligns_and_names_bad_rows(tmp_path):
    f = tmp_path / "p.csv"
    f.write_text("sample_id,yield,height\nb,5.5,x\na,4,100\nz,7,90\n")
    pheno = read_phenotypes(f)
    assert pheno.columns[0] == "sample_id" and isinstance(pheno, pl.DataFrame)
    with pytest.raises(InputFileError, match="not in the genotypes: z"):
        trait_vector(pheno, "yield", ["a", "b", "c"])
    y = trait_vector(pheno, "yield", ["a", "b", "c"], allow_unmatched=True)
    np.testing.assert_array_equal(y, [4.0, 5.5, np.nan])
    with pytest.raises(InputFileError, match="non-numeric values in rows 1"):
        trait_vector(pheno, "height", ["a", "b", "z"])
    with pytest.raises(InputFileError, match="no trait 'oil'"):
        trait_vector(pheno, "oil", ["a"])
    twice = pl.DataFrame({"sample_id": ["a", "a"], "yield": ["1", "2"]})
    with pytest.raises(InputFileError, match="listed twice: a"):
        trait_vector(twice, "yield", ["a"])


def test_read_phenotypes__id_column_tsv_and_missing_file(tmp_path):
    f = tmp_path / "p.tsv"
    f.write_text("yield\tline\n4.5\ta\n")
    assert read_phenotypes(f, id_column="line").columns == ["sample_id", "yield"]
    assert read_phenotypes(f).columns == ["sample_id", "line"]  # the first column
    with pytest.raises(InputFileError, match="no column 'plot'"):
        read_phenotypes(f, id_column="plot")
    with pytest.raises(InputFileError, match="no such file"):
        read_phenotypes(tmp_path / "nope.csv")


def test_load_training_data__lines_up_a_plain_gzip_vcf_with_phenotypes(tmp_path):
    vcf = tmp_path / "g.vcf.gz"
    vcf.write_bytes(gzip.compress(VCF.encode()))  # plain gzip, not BGZF
    (tmp_path / "p.csv").write_text("sample_id,yield\nC,3\nA,1\n")
    with pytest.raises(InputFileError, match="1 missing genotypes in 1 samples \\(e.g. C\\)"):
        load_training_data(vcf, tmp_path / "p.csv", "yield")
    data = load_training_data(vcf, tmp_path / "p.csv", "yield", missing="mean")
    assert data.ploidy == 6 and data.sample_id == ["A", "B", "C"]
    assert data.variant_id == ["m1", "chr1:20"]
    np.testing.assert_array_equal(data.y, [1.0, np.nan, 3.0])
    np.testing.assert_allclose(data.dosages, [[1, 0], [4, 5], [6, 2.5]])
    geno_only = load_training_data(vcf, missing="mean")
    assert geno_only.y is None and geno_only.phenotypes is None
    with pytest.raises(ValueError, match="both phenotypes and trait"):
        load_training_data(vcf, tmp_path / "p.csv")


def test_load_training_data__ploidy_from_the_file_or_the_caller(tmp_path):
    (tmp_path / "g.csv").write_text("sample_id,m1,m2\na,0,4\nb,2,1\nc,1,3\n")
    (tmp_path / "p.csv").write_text("sample_id,yield\na,1\nb,2\nc,4\n")
    with pytest.raises(InputFileError, match="does not say its ploidy"):
        load_training_data(tmp_path / "g.csv", tmp_path / "p.csv", "yield")
    data = load_training_data(tmp_path / "g.csv", tmp_path / "p.csv", "yield", ploidy=4)
    assert data.ploidy == 4 and data.dosages.dtype == np.float32
    np.testing.assert_array_equal(data.dosages, [[0, 4], [2, 1], [1, 3]])
