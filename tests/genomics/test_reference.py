import gzip
import hashlib
import os
import shutil
from pathlib import Path

import mappy
import pysam
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import breedhub.genomics.reference as reference_module
from breedhub.genomics.exceptions import InputFileError, ToolError
from breedhub.genomics.reference import (
    Contig,
    Reference,
    check_fasta,
    check_header_contigs,
    index_reference,
    load_reference,
    split_regions,
)
from breedhub.genomics.simulate_reference import simulate_reference

GOOD = ">chr1 the first\nACGTACGTAC\nacgtNNRYKM\nACG\n\n>chr2\nGGGGCCCCAA\nTT\n"


def write(tmp_path, text, name="ref.fa"):
    path = tmp_path / name
    path.write_bytes(text.encode() if isinstance(text, str) else text)
    return path


def test_check_fasta__lengths_and_md5_as_samtools_dict(tmp_path):
    fa = write(tmp_path, GOOD)
    contigs = check_fasta(fa)
    assert [(c.name, c.length) for c in contigs] == [("chr1", 23), ("chr2", 12)]
    assert contigs[1].md5 == hashlib.md5(b"GGGGCCCCAATT").hexdigest()
    # M5 as samtools computes it (upper case, no line breaks)
    m5 = dict(
        (f["SN"], f["M5"])
        for line in pysam.dict(str(fa)).splitlines()
        if line.startswith("@SQ")
        for f in [dict(x.split(":", 1) for x in line.split("\t")[1:])]
    )
    assert m5 == {c.name: c.md5 for c in contigs}


def test_check_fasta__gzip_and_windows_line_ends(tmp_path):
    gz = write(tmp_path, gzip.compress(GOOD.replace("\n", "\r\n").encode()), "ref.fa.gz")
    assert check_fasta(gz) == check_fasta(write(tmp_path, GOOD))


BAD = {
    "duplicate": (">a\nACGT\n>b\nAC\n>a\nGG\n", "line 5", "used twice, at lines 1 and 5"),
    "empty contig": (
        ">a\nACGT\n>b\n>c\nAC\n",
        "line 3",
        "contig b has no sequence before the next header",
    ),
    "empty last contig": (">a\nACGT\n>b\n\n", "line 3", "no sequence before the end of the file"),
    "bad letter": (">a\nACGT\nACXT\n", "line 3, column 3", "'X' is not a nucleotide code"),
    "space": (">a\nAC GT\n", "line 2, column 3", "' ' is not a nucleotide code"),
    "non-ascii": (b">a\nAC\xc3\xa9T\n", "line 2, column 3", "is not a nucleotide code"),
    "no header": ("ACGT\n>a\nACGT\n", "line 1", "expected a '>' header"),
    "header without name": (">a\nAC\n> \nAC\n", "line 3", "the header has no name"),
    "bad name": (">a\nAC\n>*x\nAC\n", "line 3", "not valid in SAM/VCF"),
    "empty file": ("", None, "the file is empty"),
    "blank line inside": (
        ">a\nACGT\n\nACGT\n",
        "line 4",
        "blank line 3 is followed by more sequence",
    ),
    "short line inside": (">a\nACGT\nAC\nACGT\n", "line 4", "line 3 is shorter than the first"),
    "long line": (">a\nACGT\nACGTA\n", "line 3", "has 5 bases but the first line"),
}


@pytest.mark.parametrize("case", BAD)
def test_check_fasta__bad_files_name_file_and_line_and_index_nothing(tmp_path, case):
    text, record, problem = BAD[case]
    fa = write(tmp_path, text)
    with pytest.raises(InputFileError) as e:
        check_fasta(fa)
    assert e.value.record == record and problem in e.value.problem
    assert str(e.value).startswith(f"{fa}: ")
    with pytest.raises(InputFileError):
        index_reference(fa)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ref.fa"]


def test_check_fasta__gz_that_is_not_gzip_and_truncated_gzip(tmp_path):
    fake = write(tmp_path, GOOD, "ref.fa.gz")
    with pytest.raises(InputFileError, match="not gzip-compressed"):
        index_reference(fake)
    data = gzip.compress(("".join(f">c{i}\n" + "ACGT" * 15 + "\n" for i in range(2000))).encode())
    cut = write(tmp_path, data[: len(data) // 2], "cut.fa.gz")
    with pytest.raises(InputFileError, match="corrupt or truncated") as e:
        check_fasta(cut)
    assert e.value.record.startswith("line ")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["cut.fa.gz", "ref.fa.gz"]


def test_index_reference__writes_fai_mmi_and_contigs(tmp_path):
    fa = simulate_reference(tmp_path / "ref.fa", n_contigs=2, contig_length=20_000, seed=1)
    os.remove(f"{fa}.fai")
    ref = index_reference(fa)
    assert isinstance(ref, Reference) and ref.lengths == {"chr1": 20_000, "chr2": 20_000}
    assert ref.mmi == Path(f"{fa}.mmi") and ref.bwa_prefix is None and ref.total_length == 40_000
    seq = pysam.FastaFile(str(fa)).fetch("chr2")  # reads the new .fai
    assert ref.contigs[1].md5 == hashlib.md5(seq.encode()).hexdigest()
    hit = next(mappy.Aligner(str(ref.mmi)).map(seq[5000:5150]))
    assert (hit.ctg, hit.r_st, hit.NM) == ("chr2", 5000, 0)
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".part-")]


def test_index_reference__keeps_indexes_newer_than_the_fasta(tmp_path, monkeypatch):
    fa = write(tmp_path, GOOD)
    index_reference(fa)
    outputs = [Path(f"{fa}{s}") for s in (".fai", ".mmi", ".contigs.json")]
    before = [p.stat().st_mtime_ns for p in outputs]

    def fail(path):
        raise AssertionError("the FASTA was read again")

    monkeypatch.setattr(reference_module, "check_fasta", fail)
    assert index_reference(fa).lengths == {"chr1": 23, "chr2": 12}
    assert [p.stat().st_mtime_ns for p in outputs] == before
    monkeypatch.undo()
    fa.write_text(GOOD.replace("TT\n", "TTA\n"))  # edited: every index is rebuilt
    assert index_reference(fa).lengths == {"chr1": 23, "chr2": 13}
    assert all(p.stat().st_mtime_ns >= fa.stat().st_mtime_ns for p in outputs)


def test_index_reference__bgzip_fasta_is_indexed_plain_gzip_is_refused(tmp_path):
    plain = write(tmp_path, GOOD)
    pysam.tabix_compress(str(plain), str(tmp_path / "ref.fa.bgz"))
    ref = index_reference(tmp_path / "ref.fa.bgz", aligners=())
    assert Path(f"{ref.path}.gzi").is_file() and ref.mmi is None
    assert pysam.FastaFile(str(ref.path)).fetch("chr2") == "GGGGCCCCAATT"
    gz = write(tmp_path, gzip.compress(GOOD.encode()), "other.fa.gz")
    with pytest.raises(InputFileError, match="gzip, not bgzip") as e:
        index_reference(gz)
    assert "bgzip" in e.value.problem and not Path(f"{gz}.fai").exists()


@pytest.mark.skipif(shutil.which("bwa") is None, reason="bwa is not installed")
def test_index_reference__bwa_index(tmp_path):
    fa = write(tmp_path, GOOD)
    ref = index_reference(fa, aligners=("minimap2", "bwa"))
    assert ref.bwa_prefix == fa
    assert all(Path(f"{fa}{s}").is_file() for s in (".amb", ".ann", ".bwt", ".pac", ".sa"))


def test_index_reference__missing_bwa_is_a_tool_error(tmp_path, monkeypatch):
    fa = write(tmp_path, GOOD)
    monkeypatch.setattr(shutil, "which", lambda name: None)
    with pytest.raises(ToolError, match="bwa is not installed"):
        index_reference(fa, aligners=("bwa",))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ref.fa"]
    with pytest.raises(ValueError, match="not supported"):
        index_reference(fa, aligners=("bowtie2",))
    with pytest.raises(TypeError, match="aligners must be a list"):
        index_reference(fa, aligners="bwa")


def test_load_reference__reads_the_sidecar_not_the_fasta(tmp_path, monkeypatch):
    fa = write(tmp_path, GOOD)
    first = load_reference(fa)  # checks and indexes (no aligner index)
    assert first.mmi is None and Path(f"{fa}.fai").is_file()
    monkeypatch.setattr(reference_module, "check_fasta", lambda path: pytest.fail("re-read"))
    again = load_reference(fa)
    assert again.contigs == first.contigs
    monkeypatch.undo()
    Path(f"{fa}.fai").write_text("chr1\t5\t6\t10\t11\n")  # a stale .fai that disagrees
    assert load_reference(fa).lengths == {"chr1": 23, "chr2": 12}
    assert Path(f"{fa}.fai").read_text().startswith("chr1\t23\t")


@given(
    lengths=st.lists(st.integers(1, 5000), min_size=1, max_size=6),
    size=st.integers(1, 3000),
    n=st.integers(1, 40),
)
@settings(max_examples=60, deadline=None)
def test_split_regions__every_base_once_in_contig_order(lengths, size, n):
    contigs = {f"c{i}": length for i, length in enumerate(lengths)}
    for regions in (split_regions(contigs, size=size), split_regions(contigs, n=n)):
        covered = {name: 0 for name in contigs}
        order = []
        for region in regions:
            name, span = region.split(":")
            start, end = (int(x) for x in span.split("-"))
            assert start == covered[name] + 1 and start <= end  # contiguous, no gap or overlap
            covered[name] = end
            if not order or order[-1] != name:
                order.append(name)
        assert covered == contigs and order == list(contigs)
    assert len(split_regions(contigs, size=size)) == sum(-(-length // size) for length in lengths)


def test_split_regions__n_pieces_of_about_equal_size_and_argument_checks():
    ref = Reference(Path("r.fa"), [Contig("chr1", 1_000_000, ""), Contig("chr2", 500_000, "")])
    regions = split_regions(ref, n=6)
    assert regions == [
        "chr1:1-250000", "chr1:250001-500000", "chr1:500001-750000", "chr1:750001-1000000",
        "chr2:1-250000", "chr2:250001-500000",
    ]  # fmt: skip
    assert split_regions(ref.contigs, size=600_000)[:2] == ["chr1:1-600000", "chr1:600001-1000000"]
    assert split_regions({"HLA:A": 10}, size=10) == ["{HLA:A}:1-10"]
    with pytest.raises(ValueError, match="exactly one of size"):
        split_regions(ref)
    with pytest.raises(ValueError, match="size must be a positive integer"):
        split_regions(ref, size=0)
    with pytest.raises(TypeError, match="reference_or_contigs"):
        split_regions("ref.fa", n=2)


def test_check_header_contigs__names_the_contig_and_both_lengths(tmp_path):
    ref = Reference(Path("reference.fa"), [Contig("chr1", 1000, ""), Contig("chr2", 2000, "")])
    check_header_contigs("a.bam", {"chr1": 1000, "chr2": 2000}, ref)
    check_header_contigs("a.vcf", {"chr2": None}, ref)  # no length in the header: not compared
    with pytest.raises(InputFileError) as e:
        check_header_contigs("x.bam", {"chr1": 1000, "chr2": 1000}, ref)
    assert e.value.path == "x.bam" and e.value.record == "contig chr2"
    assert (
        "aligned to another reference? contig chr2 has length 1000 in the file but 2000 in reference.fa"
        in str(e.value)
    )
    with pytest.raises(InputFileError, match=r"contig chrUn is not in reference.fa \(1 more"):
        check_header_contigs("y.vcf.gz", {"chrUn": 5, "chr1": 7}, ref)


def test_check_header_contigs__a_truth_vcf_matches_its_reference(tmp_path):
    from breedhub.genomics.simulate_population import simulate_population, write_truth_vcf

    fa = simulate_reference(tmp_path / "ref.fa", n_contigs=2, contig_length=5000)
    vcf = write_truth_vcf(
        simulate_population(fa, ploidy=2, n_founders=2, n_progeny=0), fa, tmp_path / "t.vcf.gz"
    )
    with pysam.VariantFile(str(vcf)) as f:
        header = {name: c.length for name, c in f.header.contigs.items()}
    check_header_contigs(vcf, header, load_reference(fa))
    other = load_reference(
        simulate_reference(tmp_path / "other.fa", n_contigs=2, contig_length=6000)
    )
    with pytest.raises(
        InputFileError, match="contig chr1 has length 5000 in the file but 6000 in other.fa"
    ):
        check_header_contigs(vcf, header, other)
