"""Genotypes in memory and read_genotypes, on real files of every format.

The files are written by the store's own writers, pysam, scikit-allel and
numpy; every format of the same genotypes must read back the same.
"""

import gzip
import shutil

import allel
import h5py
import numpy as np
import pysam
import pytest

from breedhub.base.errors import ArgumentError, ArgumentTypeError
from breedhub.genomics import Genotypes, read_genotypes
from breedhub.genomics.exceptions import InputFileError
from breedhub.genomics.store_export import store_to_plink
from breedhub.genomics.store_vcf import vcf_to_store
from breedhub.genomics.store_write import write_genotype_store

HEXAPLOID_VCF = """##fileformat=VCFv4.2
##contig=<ID=chr1,length=1000>
##FORMAT=<ID=GT,Number=1,Type=String,Description="Genotype">
#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\tFORMAT\tA\tB\tC\tD\tE\tF\tG
chr1\t10\tm1\tA\tG\t.\tPASS\t.\tGT\t0/0/0/0/0/0\t0/0/0/0/0/1\t0/0/1/1/1/1\t0/0/0/1/1/1\t0/1/1/1/1/1\t1/1/1/1/1/1\t0/0/0/0/1/1
chr1\t20\t.\tC\tT\t.\tPASS\t.\tGT\t0/0/0/0/0/0\t0/1/1/1/1/1\t0/0/0/1/1/1\t./././././.\t1/1/1/1/1/1\t0/0/0/0/0/1\t0|0|1|1|1|1
"""
HEXAPLOID_DOSAGE = [[0, 1, 4, 3, 5, 6, 2], [0, 5, 3, -1, 6, 1, 4]]


def diploid_vcf_text(n_samples=6, n_variants=30, seed=1):
    rng = np.random.default_rng(seed)
    lines = [
        "##fileformat=VCFv4.2",
        "##contig=<ID=chr1,length=100000>",
        '##FORMAT=<ID=GT,Number=1,Type=String,Description="Genotype">',
        "\t".join(["#CHROM", "POS", "ID", "REF", "ALT", "QUAL", "FILTER", "INFO", "FORMAT"])
        + "".join(f"\ts{i}" for i in range(n_samples)),
    ]
    for v in range(n_variants):
        calls = []
        for _ in range(n_samples):
            a, b = rng.integers(0, 2, size=2)
            calls.append("./." if rng.random() < 0.05 else f"{a}/{b}")
        lines.append(f"chr1\t{100 * (v + 1)}\tv{v}\tA\tG\t.\tPASS\t.\tGT\t" + "\t".join(calls))
    return "\n".join(lines) + "\n"


@pytest.fixture
def hexaploid_vcf(tmp_path):
    path = tmp_path / "hex.vcf"
    path.write_text(HEXAPLOID_VCF)
    return path


@pytest.fixture
def diploid_files(tmp_path):
    """The same diploid genotypes as VCF, plain-gzip VCF, BGZF VCF, BCF and store."""
    vcf = tmp_path / "g.vcf"
    vcf.write_text(diploid_vcf_text())
    plain = tmp_path / "plain.vcf.gz"
    with open(vcf, "rb") as src, gzip.open(plain, "wb") as dst:
        shutil.copyfileobj(src, dst)
    bgzf = tmp_path / "bgzf.vcf.gz"
    pysam.tabix_compress(str(vcf), str(bgzf))
    bcf = tmp_path / "g.bcf"
    with pysam.VariantFile(str(vcf)) as src, pysam.VariantFile(str(bcf), "wb", header=src.header) as dst:  # fmt: skip
        for rec in src:
            dst.write(rec)
    store = tmp_path / "g.h5"
    vcf_to_store(vcf, store)
    return {"vcf": vcf, "plain": plain, "bgzf": bgzf, "bcf": bcf, "store": store}


def same(a: Genotypes, b: Genotypes) -> None:
    assert a.sample_id == b.sample_id and a.variant_id == b.variant_id and a.ploidy == b.ploidy
    np.testing.assert_array_equal(a.call_dosage, b.call_dosage)


# ---------------------------------------------------------------- the type


def test_genotypes__checks_shape_ids_and_ploidy():
    with pytest.raises(ArgumentTypeError, match="ploidy is required"):
        Genotypes(np.zeros((2, 3), np.int8), ("a", "b", "c"), ("m1", "m2"), ploidy=None)  # type: ignore[arg-type]
    with pytest.raises(ArgumentError, match=r"\(variants, samples\)"):
        Genotypes(np.zeros((3, 2), np.int8), ("a", "b", "c"), ("m1", "m2"), ploidy=2)
    with pytest.raises(ArgumentError, match="repeated: a"):
        Genotypes(np.zeros((2, 3), np.int8), ("a", "b", "a"), ("m1", "m2"), ploidy=2)
    with pytest.raises(ArgumentError, match="0..2"):
        Genotypes(np.full((2, 3), 3), ("a", "b", "c"), ("m1", "m2"), ploidy=2)
    with pytest.raises(ArgumentTypeError, match="integer"):
        Genotypes(np.full((2, 3), 0.5), ("a", "b", "c"), ("m1", "m2"), ploidy=2)
    g = Genotypes(np.zeros((2, 3), np.int64), ["a", "b", "c"], ["m1", "m2"], ploidy=4)  # type: ignore[arg-type]
    assert g.call_dosage.dtype == np.int8 and g.sample_id == ("a", "b", "c")
    with pytest.raises(ValueError):
        g.call_dosage[0, 0] = 1  # read-only: the value object cannot change under a model


def test_dosage_matrix__missing_is_an_error_or_a_mean():
    g = Genotypes(
        np.array([[0, -1, 2, 2], [1, 1, -1, 0], [-1, -1, -1, -1]]),
        ("a", "b", "c", "d"),
        ("m1", "m2", "m3"),
        ploidy=2,
        source="g.csv",
    )
    with pytest.raises(InputFileError, match=r"g.csv: 6 missing genotypes in 4 samples \(e.g. a, b, c, d\)"):  # fmt: skip
        g.dosage_matrix()
    X = g.dosage_matrix(missing="mean")
    assert X.dtype == np.float32 and X.shape == (4, 3)
    np.testing.assert_allclose(X[:, 0], [0, 4 / 3, 2, 2], rtol=1e-6)
    np.testing.assert_allclose(X[:, 1], [1, 1, 2 / 3, 0], rtol=1e-6)
    np.testing.assert_array_equal(X[:, 2], 0)  # no call at all: 0
    with pytest.raises(ArgumentError, match="'error' or 'mean'"):
        g.dosage_matrix(missing="zero")  # type: ignore[arg-type]


def test_select_samples__subsets_and_reorders():
    g = Genotypes(np.array([[0, 1, 2], [2, 1, 0]]), ("a", "b", "c"), ("m1", "m2"), ploidy=2)
    s = g.select_samples(["c", "a"])
    assert s.sample_id == ("c", "a") and s.call_dosage.tolist() == [[2, 0], [0, 2]]
    with pytest.raises(ArgumentError, match="not in the genotypes: z"):
        g.select_samples(["a", "z"])
    with pytest.raises(ArgumentError, match="listed twice: a"):
        g.select_samples(["a", "a"])
    with pytest.raises(ArgumentTypeError):
        g.select_samples("a")


# ---------------------------------------------------------------- VCF, BCF


def test_read_genotypes__hexaploid_vcf_gives_dosages_0_to_6(hexaploid_vcf):
    g = read_genotypes(hexaploid_vcf)
    assert g.ploidy == 6 and g.sample_id == tuple("ABCDEFG")
    assert g.variant_id == ("m1", "chr1:20")
    assert g.call_dosage.tolist() == HEXAPLOID_DOSAGE
    assert sorted(set(g.call_dosage[0].tolist())) == list(range(7))
    assert read_genotypes(hexaploid_vcf, ploidy=6).ploidy == 6
    with pytest.raises(InputFileError, match="hex.vcf"):
        read_genotypes(hexaploid_vcf, ploidy=4)


def test_read_genotypes__plain_gzip_bgzf_bcf_and_store_read_the_same(diploid_files):
    with open(diploid_files["plain"], "rb") as fh:
        assert fh.read(18)[12:14] != b"BC"  # plain gzip, as `gzip` writes it: no BGZF block
    reference = read_genotypes(diploid_files["vcf"])
    assert reference.ploidy == 2 and reference.n_missing > 0
    assert reference.call_dosage.shape == (30, 6)
    for key in ("plain", "bgzf", "bcf", "store"):
        same(read_genotypes(diploid_files[key]), reference)
    # scikit-allel, an independent reader
    gt = allel.read_vcf(str(diploid_files["vcf"]), fields=["calldata/GT"])["calldata/GT"]
    expected = np.where((gt < 0).any(axis=2), -1, (gt > 0).sum(axis=2))
    np.testing.assert_array_equal(reference.call_dosage, expected)


def test_read_genotypes__broken_vcf_names_file_and_line(tmp_path):
    bad = tmp_path / "bad.vcf"
    lines = HEXAPLOID_VCF.splitlines()
    bad.write_text("\n".join([*lines[:-1], lines[-1].replace("0|0|1|1|1|1", "0/x/1")]) + "\n")
    with pytest.raises(InputFileError, match=r"bad.vcf: .*line 6"):
        read_genotypes(bad)
    fake = tmp_path / "fake.vcf.gz"
    fake.write_text(HEXAPLOID_VCF)
    with pytest.raises(InputFileError, match="not gzip-compressed"):
        read_genotypes(fake)
    truncated = tmp_path / "cut.vcf.gz"
    truncated.write_bytes(gzip.compress(HEXAPLOID_VCF.encode())[:-30])
    with pytest.raises(InputFileError, match="cut.vcf.gz"):
        read_genotypes(truncated)


# ---------------------------------------------------------------- the store


def test_read_genotypes__square_store_keeps_its_orientation(tmp_path):
    # as many samples as variants: a reader guessing from shapes would transpose silently
    n = 5
    dosage = np.arange(n * n).reshape(n, n) % 5  # (variants, samples), not symmetric
    assert not np.array_equal(dosage, dosage.T)
    gt = (np.arange(4)[None, None, :] < dosage[:, :, None]).astype(np.int8)  # tetraploid
    path = write_genotype_store(
        tmp_path / "square.h5",
        samples=[f"s{i}" for i in range(n)],
        chrom=np.array(["chr1"] * n),
        pos=np.arange(1, n + 1) * 10,
        gt=gt,
        ids=[f"v{i}" for i in range(n)],
    )
    g = read_genotypes(path)
    assert g.ploidy == 4 and g.sample_id == tuple(f"s{i}" for i in range(n))
    assert g.variant_id == tuple(f"v{i}" for i in range(n))
    np.testing.assert_array_equal(g.call_dosage, dosage)
    np.testing.assert_array_equal(g.dosage_matrix(), dosage.T)  # models: (samples, markers)
    with pytest.raises(InputFileError, match="ploidy 2 disagrees with the store's ploidy 4"):
        read_genotypes(path, ploidy=2)


def test_read_genotypes__store_with_a_transposed_dosage_is_refused(tmp_path):
    path = write_genotype_store(
        tmp_path / "g.h5",
        samples=["a", "b", "c"],
        chrom=np.array(["1", "1"]),
        pos=np.array([5, 9]),
        gt=np.zeros((2, 3, 2), np.int8),
    )
    with h5py.File(path, "a") as f:
        del f["calldata/dosage"]
        f["calldata/dosage"] = np.zeros((3, 2), np.int8)
    with pytest.raises(InputFileError, match=r"not \(variants, samples\)"):
        read_genotypes(path)


def test_read_genotypes__scikit_allel_store(hexaploid_vcf, tmp_path):
    h5 = tmp_path / "allel.h5"
    allel.vcf_to_hdf5(
        str(hexaploid_vcf),
        str(h5),
        fields=["samples", "calldata/GT", "variants/ID", "variants/POS", "variants/CHROM"],
        numbers={"calldata/GT": 6},
    )
    same(read_genotypes(h5), read_genotypes(hexaploid_vcf))


# ---------------------------------------------------------------- PLINK


def test_read_genotypes__plink_bed(tmp_path):
    # PLINK codes: 00 hom A1 (2 copies of A1), 01 missing, 10 het, 11 hom A2
    (tmp_path / "g.fam").write_text("f s1 0 0 0 -9\nf s2 0 0 0 -9\nf s3 0 0 0 -9\n")
    (tmp_path / "g.bim").write_text("1 snp1 0 100 A G\n1 snp2 0 200 C T\n")
    (tmp_path / "g.bed").write_bytes(bytes([0x6C, 0x1B, 0x01, 0b00111000, 0b00100111]))
    g = read_genotypes(tmp_path / "g.bed")
    assert g.ploidy == 2 and g.sample_id == ("s1", "s2", "s3") and g.variant_id == ("snp1", "snp2")
    assert g.call_dosage.tolist() == [[2, 1, 0], [0, -1, 1]]
    assert read_genotypes(tmp_path / "g.bed", ploidy=2).ploidy == 2
    with pytest.raises(InputFileError, match="diploid by definition; ploidy 4"):
        read_genotypes(tmp_path / "g.bed", ploidy=4)
    (tmp_path / "g.bed").write_bytes(bytes([0x6C, 0x1B, 0x01, 0]))
    with pytest.raises(InputFileError, match="truncated"):
        read_genotypes(tmp_path / "g.bed")
    (tmp_path / "g.bim").unlink()
    with pytest.raises(InputFileError, match="needs g.bim"):
        read_genotypes(tmp_path / "g.bed")


def test_read_genotypes__plink_export_of_the_store_reads_back(diploid_files, tmp_path):
    bed = store_to_plink(diploid_files["store"], tmp_path / "plink")
    same(read_genotypes(bed), read_genotypes(diploid_files["store"]))


# ---------------------------------------------------------------- NPZ, CSV, TSV


def test_read_genotypes__npz_in_both_layouts(tmp_path):
    X = np.array([[0, 4, 1], [2, -1, 3]])  # (samples, markers)
    np.savez(tmp_path / "x.npz", X=X, sample_ids=np.array(["a", "b"]), ploidy=4)
    np.savez(tmp_path / "cd.npz", call_dosage=X.T, sample_id=np.array(["a", "b"]),
             variant_id=np.array(["m0", "m1", "m2"]), ploidy=4)  # fmt: skip
    a, b = read_genotypes(tmp_path / "x.npz"), read_genotypes(tmp_path / "cd.npz")
    assert a.variant_id == ("m0", "m1", "m2") and a.ploidy == 4
    same(a, b)
    assert a.call_dosage.tolist() == X.T.tolist()
    # float input with NaN for missing, and a ploidy that only the argument gives
    np.savez(tmp_path / "f.npz", X=np.where(X < 0, np.nan, X).astype(float), sample_ids=["a", "b"])
    with pytest.raises(InputFileError, match="does not say its ploidy"):
        read_genotypes(tmp_path / "f.npz")
    same(read_genotypes(tmp_path / "f.npz", ploidy=4), a)
    with pytest.raises(InputFileError, match="ploidy 6 disagrees with the file's ploidy 4"):
        read_genotypes(tmp_path / "x.npz", ploidy=6)
    np.savez(tmp_path / "square.npz", X=np.eye(2, dtype=int), sample_ids=["a", "b", "c"], ploidy=2)
    with pytest.raises(InputFileError, match=r"not \(samples, markers\)"):
        read_genotypes(tmp_path / "square.npz")
    np.savez(tmp_path / "frac.npz", X=X * 0.5, sample_ids=["a", "b"], ploidy=4)
    with pytest.raises(InputFileError, match="whole allele counts"):
        read_genotypes(tmp_path / "frac.npz")


def test_read_genotypes__csv_and_tsv_in_both_orientations(tmp_path):
    (tmp_path / "s.csv").write_text("sample_id,m1,m2\na,0,6\nb,3,NA\nc,,1\n")
    (tmp_path / "v.tsv").write_text("variant_id\ta\tb\tc\nm1\t0\t3\t.\nm2\t6\t\t1\n")
    (tmp_path / "plain.csv").write_text("id,m1,m2\na,0,6\nb,3,NA\nc,,1\n")
    rows = read_genotypes(tmp_path / "s.csv", ploidy=6)
    assert rows.call_dosage.tolist() == [[0, 3, -1], [6, -1, 1]] and rows.ploidy == 6
    same(read_genotypes(tmp_path / "v.tsv", ploidy=6), rows)
    same(read_genotypes(tmp_path / "plain.csv", ploidy=6, orientation="samples"), rows)
    with pytest.raises(InputFileError, match="line 1: the first column 'id' does not say"):
        read_genotypes(tmp_path / "plain.csv", ploidy=6)
    with pytest.raises(InputFileError, match="line 1: .*one row per sample.*'variants'"):
        read_genotypes(tmp_path / "s.csv", ploidy=6, orientation="variants")


def test_read_genotypes__a_missing_ploidy_is_an_error_never_2(tmp_path):
    (tmp_path / "g.csv").write_text("sample_id,m1\na,0\nb,1\n")
    with pytest.raises(InputFileError, match="does not say its ploidy.*nothing assumes diploidy"):
        read_genotypes(tmp_path / "g.csv")
    np.savez(tmp_path / "g.npz", X=np.zeros((2, 1), int), sample_ids=["a", "b"])
    with pytest.raises(InputFileError, match="does not say its ploidy"):
        read_genotypes(tmp_path / "g.npz")
    with pytest.raises(ArgumentTypeError, match="ploidy must be an integer"):
        read_genotypes(tmp_path / "g.csv", ploidy="2")  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "content, message",
    [
        ("sample_id,m1\na,0\na,1\n", "duplicated sample ids a"),
        ("sample_id,m1,m2\na,0,1\nb,1,x\n", "line 3: column 'm2': 'x' is not a whole allele count"),
        ("sample_id,m1\na,0.5\n", "line 2: .*not a whole allele count"),
        ("sample_id,m1\na,0\nb,3\n", "line 3: column 'm1': dosage 3 outside 0..2"),
    ],
)
def test_read_genotypes__bad_tables_name_the_line(tmp_path, content, message):
    f = tmp_path / "g.csv"
    f.write_text(content)
    with pytest.raises(InputFileError, match=message):
        read_genotypes(f, ploidy=2)


def test_read_genotypes__unknown_or_missing_file(tmp_path):
    with pytest.raises(InputFileError, match="no such file"):
        read_genotypes(tmp_path / "nope.vcf")
    (tmp_path / "g.xlsx").write_text("x")
    with pytest.raises(InputFileError, match="unknown genotype format"):
        read_genotypes(tmp_path / "g.xlsx")
