"""Streaming format checks (genomics/file_check.py): each format whole, cut short, or misnamed."""

from __future__ import annotations

import gzip
import hashlib
from pathlib import Path

import pysam
import pytest

from breedhub.genomics.exceptions import InputFileError
from breedhub.genomics.file_check import FileCheck, check_file, format_from_name

RECORDS = b"".join(b"@r%d\nACGTNacgtn\n+\nIIIII#####\n" % i for i in range(2000))


def _fed(data: bytes, piece: int = 777, **kw) -> FileCheck:
    check = FileCheck(**kw)
    for i in range(0, len(data), piece):
        check.update(data[i : i + piece])
    return check


@pytest.fixture(scope="module")
def htslib_files(tmp_path_factory) -> dict[str, Path]:
    """A BAM, a CRAM, a VCF, a bgzipped VCF and a BCF written by pysam (htslib)."""
    d = tmp_path_factory.mktemp("hts")
    header = {"HD": {"VN": "1.6"}, "SQ": [{"SN": "chr1", "LN": 1000}]}
    (d / "ref.fa").write_text(">chr1\n" + "A" * 1000 + "\n")
    pysam.faidx(str(d / "ref.fa"))
    for name, mode in (("a.bam", "wb"), ("a.cram", "wc")):
        with pysam.AlignmentFile(str(d / name), mode, header=header,
                                 reference_filename=str(d / "ref.fa")) as f:  # fmt: skip
            read = pysam.AlignedSegment(f.header)
            read.query_name, read.query_sequence, read.flag = "r1", "ACGT", 4
            read.query_qualities = pysam.qualitystring_to_array("IIII")
            f.write(read)
    vh = pysam.VariantHeader()
    vh.add_line("##contig=<ID=chr1,length=1000>")
    vh.add_sample("s1")
    for name, mode in (("a.vcf", "w"), ("a.vcf.gz", "wz"), ("a.bcf", "wb")):
        with pysam.VariantFile(str(d / name), mode, header=vh) as v:
            v.write(v.new_record(contig="chr1", start=10, stop=11, alleles=("A", "C")))
    return {p.name: p for p in d.iterdir() if p.suffix in (".bam", ".cram", ".vcf", ".gz", ".bcf")}


def test_file_check__fastq_plain_and_gzip_in_any_pieces():
    for data, fmt in ((RECORDS, "fastq"), (gzip.compress(RECORDS), "fastq.gz")):
        for piece in (1, 5, 4096, 1 << 20):
            result = _fed(data, piece).finish()
            assert (result.format, result.records, result.size) == (fmt, 2000, len(data))
            assert result.sha256 == hashlib.sha256(data).hexdigest()


def test_file_check__concatenated_gzip_members():
    data = gzip.compress(RECORDS) + gzip.compress(RECORDS)
    assert _fed(data).finish().records == 4000


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (gzip.compress(RECORDS)[:-40], "truncated"),
        (gzip.compress(RECORDS)[:300], "truncated"),
        (RECORDS[:-7], "quality of"),
        (RECORDS.replace(b"@r5\n", b"r5\n"), "record 6"),
        (RECORDS.replace(b"ACGTNacgtn", b"ACGTNacgtZ", 1), "IUPAC"),
        (RECORDS.replace(b"\n+\n", b"\n-\n", 1), r"start with '\+'"),
        (b"", "empty"),
        (b"%PDF-1.4 not a sequence file at all", "not a FASTQ"),
    ],
)
def test_file_check__broken_files_refused(data, message):
    with pytest.raises(InputFileError, match=message):
        _fed(data).finish()


def test_file_check__corrupt_gzip_refused():
    data = bytearray(gzip.compress(RECORDS))
    data[len(data) // 2] ^= 0xFF
    with pytest.raises(InputFileError, match="gzip|CRC|record"):
        _fed(bytes(data)).finish()


def test_file_check__htslib_formats_and_their_truncations(htslib_files):
    expected = {
        "a.bam": "bam",
        "a.cram": "cram",
        "a.vcf": "vcf",
        "a.vcf.gz": "vcf.gz",
        "a.bcf": "bcf",
    }
    for name, fmt in expected.items():
        path = htslib_files[name]
        assert check_file(path, expected=format_from_name(name)).format == fmt
        if fmt != "vcf":  # a plain VCF cut between lines is still a VCF: the sha256 catches it
            cut = _fed(path.read_bytes()[:-10], name=name)
            with pytest.raises(InputFileError, match="truncated"):
                cut.finish()


def test_file_check__name_and_content_disagree(htslib_files):
    with pytest.raises(InputFileError, match="the name says bam but the content is fastq.gz"):
        _fed(gzip.compress(RECORDS), expected="bam").finish()
    with pytest.raises(InputFileError, match="says cram"):
        check_file(htslib_files["a.bam"], expected="cram")


def test_file_check__plain_gzip_bam_refused(htslib_files):
    import zlib

    d = zlib.decompressobj(wbits=31)
    raw = d.decompress(htslib_files["a.bam"].read_bytes())
    with pytest.raises(InputFileError, match="BGZF"):
        _fed(gzip.compress(raw)).finish()


def test_file_check__copy_restores_state():
    check = FileCheck()
    check.update(RECORDS[:1000])
    saved = check.copy()
    check.update(b"garbage\n" * 10)
    saved.update(RECORDS[1000:])
    assert saved.finish().sha256 == hashlib.sha256(RECORDS).hexdigest()


def test_format_from_name__suffixes():
    assert [format_from_name(n) for n in ("a.FASTQ.GZ", "b.fq", "c.cram", "d.vcf.bgz", "e.txt")] == [
        "fastq.gz", "fastq", "cram", "vcf.gz", None]  # fmt: skip
