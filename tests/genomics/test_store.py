"""The HDF5 genotype store: VCF/BCF import, VCF and PLINK export, region reads.

Every VCF here is written by the test itself (diploid, tetraploid, hexaploid,
with missing calls, multi-allelic sites and AD/DP/GQ); scikit-allel, pysam
and genomics.read_genotypes' PLINK reader are the independent references.
"""

import hashlib
import json
import tracemalloc
import warnings

import allel
import h5py
import numpy as np
import pysam
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import breedhub.genomics.store_vcf as store_vcf
from breedhub.genomics import read_genotypes
from breedhub.genomics.exceptions import InputFileError
from breedhub.genomics.store_export import store_to_plink, store_to_vcf
from breedhub.genomics.store_read import read_dosages, store_info
from breedhub.genomics.store_vcf import vcf_to_store
from breedhub.genomics.store_write import write_genotype_store

CONTIGS = {"chr1": 10_000, "chr2": 20_000}
FORMAT_LINES = {
    "GT": '##FORMAT=<ID=GT,Number=1,Type=String,Description="Genotype">',
    "AD": '##FORMAT=<ID=AD,Number=R,Type=Integer,Description="Allelic depths">',
    "DP": '##FORMAT=<ID=DP,Number=1,Type=Integer,Description="Read depth">',
    "GQ": '##FORMAT=<ID=GQ,Number=1,Type=Integer,Description="Genotype quality">',
}
COLUMNS = "#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\tFORMAT"


def vcf_text(samples, records, *, contigs=CONTIGS, formats=("GT",)):
    """A VCF from (chrom, pos, id, ref, alts, qual, format, calls) records."""
    lines = ["##fileformat=VCFv4.2"]
    lines += [f"##contig=<ID={c},length={n}>" for c, n in contigs.items()]
    lines += [FORMAT_LINES[f] for f in formats]
    lines.append("\t".join([COLUMNS, *samples]))
    for chrom, pos, id_, ref, alts, qual, fmt, calls in records:
        alt = ",".join(alts) or "."
        lines.append("\t".join([chrom, str(pos), id_, ref, alt, qual, "PASS", ".", fmt, *calls]))
    return "\n".join(lines) + "\n"


def random_vcf(path, *, ploidy, n_variants=40, n_samples=7, seed=0, depths=True):
    """A sorted VCF on two contigs: missing and half-missing calls, phased calls,
    every fifth site with two ALT alleles, and AD/DP/GQ (with some ".")."""
    rng = np.random.default_rng(seed)
    samples = [f"s{i}" for i in range(n_samples)]
    records = []
    for i in range(n_variants):
        chrom = "chr1" if i < n_variants // 2 else "chr2"
        n_alt = 2 if i % 5 == 0 else 1
        calls = []
        for _ in range(n_samples):
            alleles = rng.integers(0, n_alt + 1, ploidy)
            gt = [str(a) for a in alleles]
            r = rng.random()
            if r < 0.1:
                gt = ["."] * ploidy
            elif r < 0.15:
                gt[-1] = "."
            call = ("|" if rng.random() < 0.2 else "/").join(gt)
            if depths:
                ad = rng.integers(0, 40, n_alt + 1)
                dp = "." if rng.random() < 0.1 else str(ad.sum())
                ad_text = "." if rng.random() < 0.1 else ",".join(map(str, ad))
                call += f":{ad_text}:{dp}:{rng.integers(0, 99)}"
            calls.append(call)
        alts = ["G", "T"][:n_alt]
        qual = "." if i % 7 == 0 else f"{rng.uniform(10, 99):.1f}"
        fmt = "GT:AD:DP:GQ" if depths else "GT"
        id_ = f"m{i}" if i % 3 else "."
        records.append((chrom, 100 + 37 * i, id_, "A", alts, qual, fmt, calls))
    formats = ("GT", "AD", "DP", "GQ") if depths else ("GT",)
    path.write_text(vcf_text(samples, records, formats=formats))
    return path


def read_store(path):
    out = {}

    def keep(name, obj):
        if isinstance(obj, h5py.Dataset):
            out[name] = obj[:]

    with h5py.File(path) as f:
        f.visititems(keep)
        return out, dict(f.attrs)


def assert_same_data(a, b):
    assert sorted(a) == sorted(b)
    for key in a:
        if a[key].dtype.kind == "f":
            np.testing.assert_array_equal(a[key], b[key], err_msg=key)
        else:
            assert a[key].tolist() == b[key].tolist(), key


def vcf_genotypes(path):
    with pysam.VariantFile(str(path)) as vf:
        samples = list(vf.header.samples)
        return samples, [
            (r.chrom, r.pos, [r.samples[s]["GT"] for s in samples]) for r in vf.fetch()
        ]


# ---------------------------------------------------------------------------
# vcf_to_store


@pytest.mark.parametrize("ploidy", [2, 4, 6])
def test_vcf_to_store__matches_scikit_allel(tmp_path, ploidy):
    vcf = random_vcf(tmp_path / "in.vcf", ploidy=ploidy, seed=ploidy)
    summary = vcf_to_store(vcf, tmp_path / "g.h5", species="sp", reference="ref.fa")
    assert (summary.n_samples, summary.n_variants, summary.ploidy) == (7, 40, ploidy)

    ref = allel.read_vcf(str(vcf), fields="*", numbers={"calldata/GT": ploidy})
    data, attrs = read_store(tmp_path / "g.h5")
    for key in ["calldata/GT", "calldata/AD", "calldata/DP", "calldata/GQ", "variants/POS"]:
        np.testing.assert_array_equal(data[key], ref[key], err_msg=key)
    np.testing.assert_array_equal(data["variants/QUAL"], ref["variants/QUAL"])
    for key in ["samples", "variants/CHROM", "variants/ID", "variants/REF", "variants/ALT"]:
        assert [x.decode() for x in data[key].ravel()] == ref[key].ravel().tolist(), key

    gt = ref["calldata/GT"]
    expected = (gt > 0).sum(axis=2)
    expected[(gt < 0).any(axis=2)] = -1
    np.testing.assert_array_equal(data["calldata/dosage"], expected)
    assert data["calldata/dosage"].dtype == np.int8

    assert attrs["ploidy"] == ploidy and attrs["species"] == "sp"
    prov = json.loads(attrs["provenance"])
    assert prov["inputs"][0]["sha256"] == hashlib.sha256(vcf.read_bytes()).hexdigest()
    assert prov["parameters"]["ploidy"] == ploidy and prov["tool"] == "breedhub"
    assert prov["command"] == "breedhub.genomics.store_vcf.vcf_to_store" and prov["version"]
    contigs = json.loads(attrs["contigs"])
    assert contigs == {
        "chr1": {"length": 10_000, "start": 0, "stop": 20},
        "chr2": {"length": 20_000, "start": 20, "stop": 40},
    }
    with h5py.File(tmp_path / "g.h5") as f:  # resizable and chunked, scikit-allel reads it
        assert f["calldata/GT"].maxshape[0] is None and f["calldata/dosage"].chunks
    assert allel.GenotypeArray(data["calldata/GT"]).ploidy == ploidy


def test_vcf_to_store__gzip_and_bcf_give_the_same_store(tmp_path):
    vcf = random_vcf(tmp_path / "in.vcf", ploidy=4)
    pysam.tabix_compress(str(vcf), str(tmp_path / "in.vcf.gz"))
    with (
        pysam.VariantFile(str(vcf)) as src,
        pysam.VariantFile(str(tmp_path / "in.bcf"), "wb", header=src.header) as out,
    ):
        for rec in src:
            out.write(rec)
    stores = {}
    for name in ("in.vcf", "in.vcf.gz", "in.bcf"):
        vcf_to_store(tmp_path / name, tmp_path / f"{name}.h5")
        stores[name] = read_store(tmp_path / f"{name}.h5")
    assert_same_data(stores["in.vcf"][0], stores["in.vcf.gz"][0])
    assert_same_data(stores["in.vcf"][0], stores["in.bcf"][0])
    sha = json.loads(stores["in.bcf"][1]["provenance"])["inputs"][0]["sha256"]
    assert sha == hashlib.sha256((tmp_path / "in.bcf").read_bytes()).hexdigest()


def test_vcf_to_store__small_chunks_give_an_identical_store(tmp_path, monkeypatch):
    vcf = random_vcf(tmp_path / "in.vcf", ploidy=6, n_variants=45)
    vcf_to_store(vcf, tmp_path / "one.h5")
    monkeypatch.setattr(store_vcf, "_PARSE_FIELDS", 20)  # parse 2 lines at a time
    vcf_to_store(vcf, tmp_path / "many.h5", chunk_variants=7)
    (one, a1), (many, a2) = read_store(tmp_path / "one.h5"), read_store(tmp_path / "many.h5")
    assert_same_data(one, many)
    assert a1["contigs"] == a2["contigs"]
    with h5py.File(tmp_path / "many.h5") as f:
        assert f["calldata/GT"].chunks[0] == 7


def test_vcf_to_store__lone_dot_is_missing_at_any_ploidy(tmp_path):
    vcf = tmp_path / "in.vcf"
    records = [("chr1", 5, ".", "A", ["C"], ".", "GT", [".", "0/1/1/1", "./././."])]
    vcf.write_text(vcf_text(["a", "b", "c"], records))
    vcf_to_store(vcf, tmp_path / "g.h5")
    data, attrs = read_store(tmp_path / "g.h5")
    assert attrs["ploidy"] == 4
    assert data["calldata/GT"].tolist() == [[[-1] * 4, [0, 1, 1, 1], [-1] * 4]]
    assert data["calldata/dosage"].tolist() == [[-1, 3, -1]]


def test_vcf_to_store__more_alt_alleles_than_kept_warns_and_records(tmp_path):
    vcf = tmp_path / "in.vcf"
    records = [("chr1", 5, ".", "A", ["C", "G", "T", "AA", "CC"], ".", "GT", ["0/5", "3/4"])]
    vcf.write_text(vcf_text(["a", "b"], records))
    with pytest.warns(UserWarning, match="more than 3 ALT alleles"):
        vcf_to_store(vcf, tmp_path / "g.h5")
    data, attrs = read_store(tmp_path / "g.h5")
    assert [x.decode() for x in data["variants/ALT"][0]] == ["C", "G", "T"]
    assert data["calldata/GT"].tolist() == [[[0, 5], [3, 4]]]
    assert data["calldata/dosage"].tolist() == [[1, 2]]
    assert json.loads(attrs["provenance"])["extra"]["records_with_alt_alleles_dropped"] == 1


def test_vcf_to_store__ploidy_mismatch_names_the_record_and_leaves_no_output(tmp_path):
    vcf = random_vcf(tmp_path / "in.vcf", ploidy=2, depths=False)
    out = tmp_path / "out" / "g.h5"
    with pytest.raises(InputFileError) as err:
        vcf_to_store(vcf, out, ploidy=6)
    message = str(err.value)
    assert "record 1 (chr1:100), line 6" in message
    assert "has ploidy 2 but expected 6" in message and str(vcf) in message
    assert not out.exists() and list(out.parent.iterdir()) == []


def test_vcf_to_store__mixed_ploidy_names_the_record(tmp_path):
    vcf = tmp_path / "in.vcf"
    records = [
        ("chr1", 5, ".", "A", ["C"], ".", "GT", ["0/0/1/1", "0/0/0/1"]),
        ("chr1", 9, ".", "A", ["C"], ".", "GT", ["0/1/1/1", "0/1"]),
    ]
    vcf.write_text(vcf_text(["a", "b"], records))
    with pytest.raises(InputFileError, match=r"record 2 \(chr1:9\).*sample b.*ploidy 2 but"):
        vcf_to_store(vcf, tmp_path / "g.h5")


BROKEN_HEADERS = {
    "no #CHROM line": ("##fileformat=VCFv4.2\nchr1\t5\t.\tA\tC\t.\t.\t.\tGT\t0/1\n", "line 2"),
    "header only": ("##fileformat=VCFv4.2\n##contig=<ID=1>\n", "line 3"),
    "bad contig length": ("##fileformat=VCFv4.2\n##contig=<ID=chr1,length=abc>\n", "line 2"),
    "contig without ID": ("##fileformat=VCFv4.2\n##contig=<length=5>\n", "line 2"),
    "no fileformat": ("##source=x\n", "line 1"),
    "spaces for tabs": (
        "##fileformat=VCFv4.2\n#CHROM POS ID REF ALT QUAL FILTER INFO FORMAT a\n",
        "line 2",
    ),
    "no samples": (
        "##fileformat=VCFv4.2\n#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\n",
        "line 2",
    ),
}


@pytest.mark.parametrize("case", sorted(BROKEN_HEADERS))
def test_vcf_to_store__broken_header_names_the_line(tmp_path, case):
    text, line = BROKEN_HEADERS[case]
    vcf = tmp_path / "in.vcf"
    vcf.write_text(text + "chr1\t5\t.\tA\tC\t.\t.\t.\tGT\t0/1\n" if "#CHROM" in text else text)
    with pytest.raises(InputFileError, match=f"{line}: ") as err:
        vcf_to_store(vcf, tmp_path / "g.h5")
    assert err.value.path == str(vcf) and not (tmp_path / "g.h5").exists()


@pytest.mark.parametrize(
    ("record", "problem"),
    [
        ("chr1\t9\t.\tA\tC\t.\t.\t.\tGT\t0/1", "10 tab-separated columns, but the header has 11"),
        ("chr1\t9\t.\tA\tC\t.\t.\t.\tGT\t0/1\t0/1\t1/1", "12 tab-separated columns"),
        ("chr1\tnine\t.\tA\tC\t.\t.\t.\tGT\t0/1\t0/1", "POS 'nine' is not a position"),
        ("chr1\t9\t.\tA\tC\t.\t.\t.\tGT\t0/1\t0/x", "sample b: GT '0/x' is not a genotype"),
        ("chr1\t9\t.\tA\tC\t.\t.\t.\tGT\t0/2\t0/1", "GT has allele 2 but the record has 1 ALT"),
        ("chr1\t9\t.\tA\tC\t.\t.\t.\tDP:GT\t3:0/1\t3:0/1", "GT must be the first FORMAT field"),
        ("chr1\t3\t.\tA\tC\t.\t.\t.\tGT\t0/1\t0/1", "not sorted by contig and position"),
    ],
)
def test_vcf_to_store__bad_record_names_file_and_line(tmp_path, record, problem):
    good = "chr1\t5\t.\tA\tC\t.\t.\t.\tGT\t0/0\t0/1"
    vcf = tmp_path / "in.vcf"
    vcf.write_text(f"##fileformat=VCFv4.2\n{COLUMNS}\ta\tb\n{good}\n{record}\n")
    with pytest.raises(InputFileError) as err:
        vcf_to_store(vcf, tmp_path / "g.h5")
    assert problem in str(err.value) and "record 2" in str(err.value)
    assert "line 4" in str(err.value) and not (tmp_path / "g.h5").exists()


def test_vcf_to_store__contig_seen_again_is_unsorted(tmp_path):
    rows = [("chr1", 5), ("chr2", 5), ("chr1", 9)]
    records = [(c, p, ".", "A", ["C"], ".", "GT", ["0/1"]) for c, p in rows]
    (tmp_path / "in.vcf").write_text(vcf_text(["a"], records))
    with pytest.raises(InputFileError, match=r"record 3 \(chr1:9\).*bcftools sort"):
        vcf_to_store(tmp_path / "in.vcf", tmp_path / "g.h5")


def test_vcf_to_store__gz_name_but_not_gzip(tmp_path):
    vcf = random_vcf(tmp_path / "in.vcf", ploidy=2)
    fake = tmp_path / "in.vcf.gz"
    fake.write_bytes(vcf.read_bytes())
    with pytest.raises(InputFileError, match="not gzip-compressed"):
        vcf_to_store(fake, tmp_path / "g.h5")


def test_vcf_to_store__truncated_gzip(tmp_path):
    vcf = random_vcf(tmp_path / "in.vcf", ploidy=2, n_variants=200)
    gz = tmp_path / "in.vcf.gz"
    pysam.tabix_compress(str(vcf), str(gz))
    gz.write_bytes(gz.read_bytes()[:-300])
    with pytest.raises(InputFileError, match="cannot decompress"):
        vcf_to_store(gz, tmp_path / "g.h5")
    assert not (tmp_path / "g.h5").exists()


def test_vcf_to_store__checks_its_options_first(tmp_path):
    vcf = random_vcf(tmp_path / "in.vcf", ploidy=2)
    with pytest.raises(TypeError, match="ploidy must be an int"):
        vcf_to_store(vcf, tmp_path / "g.h5", ploidy="2")
    with pytest.raises(ValueError, match="chunk_variants must be at least 1"):
        vcf_to_store(vcf, tmp_path / "g.h5", chunk_variants=0)
    with pytest.raises(ValueError, match=r"must end in \.h5"):
        vcf_to_store(vcf, tmp_path / "g.zarr")
    with pytest.raises(InputFileError, match="no such file"):
        vcf_to_store(tmp_path / "missing.vcf", tmp_path / "g.h5")


def _peak_import_bytes(vcf, out):
    tracemalloc.start()
    try:
        vcf_to_store(vcf, out, chunk_variants=256)
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def test_vcf_to_store__memory_is_flat(tmp_path, monkeypatch):
    """A VCF 10 times longer needs about the same memory (numpy's buffers are traced)."""

    def write(path, n_variants, n_samples=200):
        rng = np.random.default_rng(1)
        calls = np.full((n_variants, n_samples, 4), ord("/"), dtype=np.uint8)
        calls[:, :, 0:3:2] = rng.integers(48, 50, (n_variants, n_samples, 2))
        calls[:, :, 3] = ord("\t")
        calls[:, -1, 3] = ord("\n")
        head = vcf_text([f"s{i}" for i in range(n_samples)], []).encode()
        fixed = [f"chr1\t{i + 1}\t.\tA\tG\t.\t.\t.\tGT\t".encode() for i in range(n_variants)]
        body = b"".join(f + c.tobytes() for f, c in zip(fixed, calls, strict=True))
        path.write_bytes(head + body)
        return path

    # Small reads and blocks, so that the small file spans many of them too.
    monkeypatch.setattr(store_vcf, "_PARSE_FIELDS", 1 << 13)
    monkeypatch.setattr(store_vcf, "_READ_BYTES", 1 << 15)
    small = _peak_import_bytes(write(tmp_path / "small.vcf", 500), tmp_path / "s.h5")
    large = _peak_import_bytes(write(tmp_path / "large.vcf", 5_000), tmp_path / "l.h5")
    whole_gt = 5_000 * 200 * 2  # what holding the large file's GT alone would take
    assert large < 1.3 * small and large < whole_gt, (small, large)


# ---------------------------------------------------------------------------
# store_to_vcf


@pytest.mark.parametrize("ploidy", [2, 4, 6])
def test_store_to_vcf__round_trip_preserves_genotypes(tmp_path, ploidy):
    vcf = random_vcf(tmp_path / "in.vcf", ploidy=ploidy, seed=10 + ploidy)
    vcf_to_store(vcf, tmp_path / "g.h5")
    out = store_to_vcf(tmp_path / "g.h5", tmp_path / "out.vcf.gz")
    assert out == tmp_path / "out.vcf.gz" and (tmp_path / "out.vcf.gz.tbi").exists()
    original = pysam.tabix_index(str(vcf), preset="vcf", keep_original=True)
    assert vcf_genotypes(out) == vcf_genotypes(original)
    with pysam.VariantFile(str(out)) as vf:
        assert {c: vf.header.contigs[c].length for c in vf.header.contigs} == CONTIGS
        assert len(list(vf.fetch("chr2", 900, 1200))) == 8  # the index answers regions


def test_store_to_vcf__writes_a_csi_index_for_long_contigs(tmp_path):
    records = [("chr1", 600_000_000, ".", "A", ["C"], ".", "GT", ["0/1"])]
    (tmp_path / "in.vcf").write_text(vcf_text(["a"], records, contigs={"chr1": 700_000_000}))
    vcf_to_store(tmp_path / "in.vcf", tmp_path / "g.h5")
    out = store_to_vcf(tmp_path / "g.h5", tmp_path / "out.vcf.gz")
    assert (tmp_path / "out.vcf.gz.csi").exists() and not (tmp_path / "out.vcf.gz.tbi").exists()
    with pysam.VariantFile(str(out)) as vf:
        assert [r.samples["a"]["GT"] for r in vf.fetch("chr1", 599_999_999, 600_000_001)] == [
            (0, 1)
        ]


def test_store_to_vcf__needs_a_vcf_gz_name(tmp_path):
    write_genotype_store(
        tmp_path / "g.h5", samples=["a"], chrom=np.array([1]), pos=np.array([5]),
        gt=np.zeros((1, 1, 2)),
    )  # fmt: skip
    with pytest.raises(ValueError, match=r"\.vcf\.gz"):
        store_to_vcf(tmp_path / "g.h5", tmp_path / "out.vcf")


@settings(max_examples=10, deadline=None)
@given(
    ploidy=st.integers(1, 6),
    n_samples=st.integers(1, 4),
    data=st.data(),
)
def test_store_to_vcf__import_then_export_round_trips(tmp_path_factory, ploidy, n_samples, data):
    tmp = tmp_path_factory.mktemp("rt")
    n = data.draw(st.integers(1, 6))
    gt = np.array(
        data.draw(
            st.lists(
                st.lists(st.lists(st.integers(-1, 2), min_size=ploidy, max_size=ploidy),
                         min_size=n_samples, max_size=n_samples),
                min_size=n, max_size=n,
            )
        )
    )  # fmt: skip
    text = lambda call: "/".join("." if a < 0 else str(a) for a in call)  # noqa: E731
    records = [
        ("chr1", 10 * (i + 1), ".", "A", ["C", "G"], ".", "GT", [text(c) for c in row])
        for i, row in enumerate(gt.tolist())
    ]
    (tmp / "in.vcf").write_text(vcf_text([f"s{i}" for i in range(n_samples)], records))
    vcf_to_store(tmp / "in.vcf", tmp / "g.h5", ploidy=ploidy)
    with h5py.File(tmp / "g.h5") as f:
        np.testing.assert_array_equal(f["calldata/GT"][:], gt)
    out = store_to_vcf(tmp / "g.h5", tmp / "out.vcf.gz")
    vcf_to_store(out, tmp / "again.h5", ploidy=ploidy)
    with h5py.File(tmp / "again.h5") as f:
        np.testing.assert_array_equal(f["calldata/GT"][:], gt)


# ---------------------------------------------------------------------------
# store_to_plink


def test_store_to_plink__reads_back_with_read_genotypes(tmp_path):
    rng = np.random.default_rng(5)
    gt = rng.integers(0, 2, (30, 9, 2))  # 9 samples: the last byte of each SNP is padded
    ids = [f"m{i}" for i in range(30)]
    write_genotype_store(
        tmp_path / "g.h5", samples=[f"s{i}" for i in range(9)], chrom=np.repeat(["1", "2"], 15),
        pos=np.tile(np.arange(1, 16) * 100, 2), gt=gt, ids=ids, chunk_variants=8,
    )  # fmt: skip
    bed = store_to_plink(tmp_path / "g.h5", tmp_path / "plink" / "g")
    assert bed == tmp_path / "plink" / "g.bed"
    g = read_genotypes(bed)
    assert list(g.sample_id) == [f"s{i}" for i in range(9)] and list(g.variant_id) == ids
    np.testing.assert_array_equal(g.dosage_matrix(), gt.sum(axis=2).T)
    bim = (tmp_path / "plink" / "g.bim").read_text().splitlines()
    assert bim[0].split("\t") == ["1", "m0", "0", "100", "G", "A"]  # A1 = ALT, counted
    assert (tmp_path / "plink" / "g.fam").read_text().splitlines()[0] == "s0 s0 0 0 0 -9"


def test_store_to_plink__standard_codes_by_hand(tmp_path):
    # Dosages of 5 samples: 2, 1, 0, missing, 2 -> codes 00, 10, 11, 01 | 00 (+3 pads)
    gt = np.array([[[1, 1], [0, 1], [0, 0], [-1, -1], [1, 1]]])
    write_genotype_store(
        tmp_path / "g.h5", samples=list("abcde"), chrom=np.array(["1"]), pos=np.array([7]), gt=gt
    )
    bed = store_to_plink(tmp_path / "g.h5", tmp_path / "g.bed")
    assert bed.read_bytes() == bytes([0x6C, 0x1B, 0x01, 0b01_11_10_00, 0b00_00_00_00])


def test_store_to_plink__haploid_calls_are_homozygous(tmp_path):
    gt = np.array([[[1], [0], [-1]]])
    write_genotype_store(
        tmp_path / "g.h5", samples=list("abc"), chrom=np.array(["1"]), pos=np.array([7]), gt=gt
    )
    bed = store_to_plink(tmp_path / "g.h5", tmp_path / "g")
    assert bed.read_bytes()[3:] == bytes([0b01_11_00])


def test_store_to_plink__refuses_polyploid_and_writes_nothing(tmp_path):
    vcf = random_vcf(tmp_path / "in.vcf", ploidy=4, depths=False)
    vcf_to_store(vcf, tmp_path / "g.h5")
    with pytest.raises(InputFileError, match="ploidy 4: PLINK 1 .* export a VCF") as err:
        store_to_plink(tmp_path / "g.h5", tmp_path / "out" / "g")
    assert "store_to_vcf" in str(err.value) and not (tmp_path / "out").exists()


def test_store_to_plink__refuses_multiallelic_sites(tmp_path):
    vcf = random_vcf(tmp_path / "in.vcf", ploidy=2, depths=False)
    vcf_to_store(vcf, tmp_path / "g.h5")
    with pytest.raises(InputFileError, match=r"variant 1 \(chr1:100\).*8 variants have more"):
        store_to_plink(tmp_path / "g.h5", tmp_path / "g")
    assert not (tmp_path / "g.bed").exists()


# ---------------------------------------------------------------------------
# read_dosages, store_info


@pytest.fixture
def hexaploid_store(tmp_path):
    vcf = random_vcf(tmp_path / "in.vcf", ploidy=6, n_variants=60, seed=3)
    vcf_to_store(vcf, tmp_path / "g.h5", chunk_variants=16, species="triticum_aestivum")
    return tmp_path / "g.h5"


def test_read_dosages__region_and_sample_subset(hexaploid_store):
    whole = read_dosages(hexaploid_store)
    with h5py.File(hexaploid_store) as f:
        np.testing.assert_array_equal(whole.call_dosage, f["calldata/dosage"][:])
    assert whole.call_dosage.shape == (60, 7) and whole.ploidy == 6
    assert list(whole.variant_id[:2]) == ["chr1:100", "m1"]  # "." -> CHROM:POS

    chr2 = read_dosages(hexaploid_store, region="chr2")
    assert set(chr2.variant_contig) == {"chr2"} and chr2.call_dosage.shape == (30, 7)
    np.testing.assert_array_equal(chr2.call_dosage, whole.call_dosage[30:])

    # chr2 positions are 100 + 37 * i for i = 30..59: 1210, 1247, ... 1247 and 1358 inclusive
    part = read_dosages(hexaploid_store, region="chr2:1,247-1358", samples=["s5", "s0", "s3"])
    assert part.variant_position.tolist() == [1247, 1284, 1321, 1358]
    assert part.sample_id == ("s5", "s0", "s3")
    np.testing.assert_array_equal(part.call_dosage, whole.call_dosage[31:35][:, [5, 0, 3]])
    assert read_dosages(hexaploid_store, region="chr2:5000-").call_dosage.shape == (0, 7)
    assert read_dosages(hexaploid_store, region="chr1:1-100").variant_position.tolist() == [100]


def test_read_dosages__bad_region_or_samples(hexaploid_store):
    with pytest.raises(ValueError, match=r"samples not in the store: x1, x2"):
        read_dosages(hexaploid_store, samples=["s1", "x1", "x2"])
    with pytest.raises(ValueError, match="listed twice: s1"):
        read_dosages(hexaploid_store, samples=["s1", "s1"])
    with pytest.raises(ValueError, match="no contig.*chr1, chr2"):
        read_dosages(hexaploid_store, region="chr9:1-5")
    with pytest.raises(ValueError, match="start 500 is after end 100"):
        read_dosages(hexaploid_store, region="chr1:500-100")
    with pytest.raises(TypeError):
        read_dosages(hexaploid_store, samples="s1")


def test_read_dosages__a_scikit_allel_store(tmp_path):
    vcf = random_vcf(tmp_path / "in.vcf", ploidy=4, depths=False)
    allel.vcf_to_hdf5(str(vcf), str(tmp_path / "a.h5"), numbers={"calldata/GT": 4})
    vcf_to_store(vcf, tmp_path / "g.h5")
    theirs = read_dosages(tmp_path / "a.h5", region="chr2:800-1200", samples=["s2", "s1"])
    ours = read_dosages(tmp_path / "g.h5", region="chr2:800-1200", samples=["s2", "s1"])
    np.testing.assert_array_equal(theirs.call_dosage, ours.call_dosage)
    assert theirs.variant_id == ours.variant_id and theirs.ploidy == 4


def test_store_info__reads_the_metadata(hexaploid_store, tmp_path):
    info = store_info(hexaploid_store)
    assert info.samples == [f"s{i}" for i in range(7)] and info.n_variants == 60
    assert (info.ploidy, info.species, info.reference) == (6, "triticum_aestivum", "")
    assert info.contigs == CONTIGS
    assert (
        info.provenance["inputs"][0]["sha256"]
        == hashlib.sha256((tmp_path / "in.vcf").read_bytes()).hexdigest()
    )
    (tmp_path / "not.h5").write_text("text")
    with pytest.raises(InputFileError, match="not an HDF5 file"):
        store_info(tmp_path / "not.h5")


# ---------------------------------------------------------------------------
# write_genotype_store


def test_write_genotype_store__same_layout_as_vcf_to_store(tmp_path):
    vcf = random_vcf(tmp_path / "in.vcf", ploidy=4, depths=False)
    vcf_to_store(vcf, tmp_path / "v.h5")
    data, attrs = read_store(tmp_path / "v.h5")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        write_genotype_store(
            tmp_path / "w.h5", samples=[f"s{i}" for i in range(7)],
            chrom=np.array([c.decode() for c in data["variants/CHROM"]]),
            pos=data["variants/POS"], gt=data["calldata/GT"], species="sp",
        )  # fmt: skip
    mine, attrs2 = read_store(tmp_path / "w.h5")
    assert sorted(mine) == sorted(data) and sorted(attrs2) == sorted(attrs)
    for key in mine:
        assert mine[key].dtype == data[key].dtype and mine[key].shape == data[key].shape, key
    np.testing.assert_array_equal(mine["calldata/dosage"], data["calldata/dosage"])
    assert json.loads(attrs2["contigs"]) == {
        "chr1": {"length": None, "start": 0, "stop": 20},
        "chr2": {"length": None, "start": 20, "stop": 40},
    }
