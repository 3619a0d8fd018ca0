"""Genotype and phenotype readers, on real files of every format."""

import allel
import numpy as np
import polars as pl
import pytest

from breedhub.predict import InputError
from breedhub.predict.io import read_genotypes, read_phenotypes, trait_vector

VCF = """##fileformat=VCFv4.2
##contig=<ID=chr1,length=1000>
##FORMAT=<ID=GT,Number=1,Type=String,Description="Genotype">
#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\tFORMAT\tA\tB\tC
chr1\t10\tm1\tA\tG\t.\tPASS\t.\tGT\t0/0/0/0/0/1\t0/0/1/1/1/1\t1/1/1/1/1/1
chr1\t20\t.\tC\tT\t.\tPASS\t.\tGT\t0/0/0/0/0/0\t0/1/1/1/1/1\t0/0/0/1/1/1
"""
EXPECTED_HEXAPLOID = np.array([[1, 0], [4, 5], [6, 3]], dtype=np.float32)


@pytest.fixture
def hexaploid_vcf(tmp_path):
    path = tmp_path / "hex.vcf"
    path.write_text(VCF)
    return path


def test_read_genotypes__hexaploid_vcf_dosages(hexaploid_vcf):
    g = read_genotypes(hexaploid_vcf)
    assert g.ploidy == 6 and g.sample_ids == ["A", "B", "C"] and g.marker_ids == ["m1", "chr1:20"]
    np.testing.assert_array_equal(g.dosages, EXPECTED_HEXAPLOID)


def test_read_genotypes__scikit_allel_hdf5_store(hexaploid_vcf, tmp_path):
    h5 = tmp_path / "hex.h5"
    allel.vcf_to_hdf5(
        str(hexaploid_vcf),
        str(h5),
        fields=["samples", "calldata/GT", "variants/ID", "variants/POS", "variants/CHROM"],
        numbers={"calldata/GT": 6},
    )
    g = read_genotypes(h5)
    assert g.ploidy == 6 and g.sample_ids == ["A", "B", "C"] and g.marker_ids == ["m1", "chr1:20"]
    np.testing.assert_array_equal(g.dosages, EXPECTED_HEXAPLOID)


def test_read_genotypes__plink_bed(tmp_path):
    # 3 samples x 2 SNPs; genotype codes per PLINK: 00 hom A1 (2 copies of A1), 01 missing, 10 het, 11 hom A2
    (tmp_path / "g.fam").write_text("f s1 0 0 0 -9\nf s2 0 0 0 -9\nf s3 0 0 0 -9\n")
    (tmp_path / "g.bim").write_text("1 snp1 0 100 A G\n1 snp2 0 200 C T\n")
    # snp1: s1=00(2) s2=10(1) s3=11(0) -> bits little-endian per sample: 00, 10, 11 -> byte 0b00_11_10_00
    # snp2: s1=11(0) s2=00(2) s3=10(1) -> byte 0b00_10_00_11
    (tmp_path / "g.bed").write_bytes(bytes([0x6C, 0x1B, 0x01, 0b00111000, 0b00100011]))
    g = read_genotypes(tmp_path / "g.bed")
    assert g.sample_ids == ["s1", "s2", "s3"] and g.marker_ids == ["snp1", "snp2"]
    np.testing.assert_array_equal(g.dosages, [[2, 0], [1, 2], [0, 1]])


def test_read_genotypes__missing_values_need_imputation(tmp_path):
    f = tmp_path / "g.csv"
    f.write_text("id,m1,m2\na,0,2\nb,,1\nc,2,NA\n")
    with pytest.raises(InputError, match="2 missing genotypes in 2 samples .*--impute mean"):
        read_genotypes(f)
    g = read_genotypes(f, impute="mean")
    np.testing.assert_allclose(g.dosages, [[0, 2], [1, 1], [2, 1.5]])


@pytest.mark.parametrize(
    "content, message",
    [
        ("id,m1\na,0\na,1\n", "duplicated sample ids a"),
        ("id,m1\na,x\n", "must be numbers"),
    ],
)
def test_read_genotypes__bad_files(tmp_path, content, message):
    f = tmp_path / "g.csv"
    f.write_text(content)
    with pytest.raises(InputError, match=message):
        read_genotypes(f)


def test_read_genotypes__truncated_bed(tmp_path):
    (tmp_path / "g.fam").write_text("f s1 0 0 0 -9\n")
    (tmp_path / "g.bim").write_text("1 snp1 0 100 A G\n1 snp2 0 200 C T\n")
    (tmp_path / "g.bed").write_bytes(bytes([0x6C, 0x1B, 0x01, 0]))
    with pytest.raises(InputError, match="truncated"):
        read_genotypes(tmp_path / "g.bed")


def test_trait_vector__aligns_and_names_bad_rows(tmp_path):
    f = tmp_path / "p.csv"
    f.write_text("sample_id,yield,height\nb,5.5,x\na,4,100\nz,7,90\n")
    pheno = read_phenotypes(f)
    with pytest.raises(InputError, match="not in the genotypes: z"):
        trait_vector(pheno, "yield", ["a", "b", "c"])
    y = trait_vector(pheno, "yield", ["a", "b", "c"], allow_unmatched=True)
    np.testing.assert_array_equal(y, [4.0, 5.5, np.nan])
    with pytest.raises(InputError, match="non-numeric values in rows 1"):
        trait_vector(pheno, "height", ["a", "b", "z"])
    with pytest.raises(InputError, match="no trait 'oil'"):
        trait_vector(pheno, "oil", ["a"])
    assert pheno.columns[0] == "sample_id" and isinstance(pheno, pl.DataFrame)
