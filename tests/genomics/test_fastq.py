import gzip

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import breedhub.genomics.fastq as fastq
from breedhub.genomics.exceptions import InputFileError
from breedhub.genomics.fastq import FastqRecord, read_fastq, read_pairs


def fastq_text(records):
    return "".join(f"@{n}\n{s}\n+\n{q}\n" for n, s, q in records)


def random_records(n, seed=0, length=30, prefix="r"):
    rng = np.random.default_rng(seed)
    out = []
    for i in range(n):
        seq = "".join(rng.choice(list("ACGTN"), length))
        qual = "".join(chr(33 + int(q)) for q in rng.integers(0, 42, length))
        out.append((f"{prefix}{i}", seq, qual))
    return out


@pytest.fixture
def small_blocks(monkeypatch):
    """Blocks of 3 records read 7 characters at a time: every boundary case in a few records."""
    monkeypatch.setattr(fastq, "BLOCK_RECORDS", 3)
    monkeypatch.setattr(fastq, "_CHUNK_CHARS", 7)


def expect_error(path, match, *, record=None, reader=read_fastq):
    with pytest.raises(InputFileError, match=match) as e:
        list(reader(path))
    assert e.value.path == str(path)
    if record is not None:
        assert e.value.record == record
    return e.value


def test_read_fastq__plain_and_gzip_give_the_same_records(tmp_path):
    recs = random_records(50)
    (tmp_path / "r.fq").write_text(fastq_text(recs))
    with gzip.open(tmp_path / "r.fq.gz", "wt") as fh:
        fh.write(fastq_text(recs))
    plain = list(read_fastq(tmp_path / "r.fq"))
    assert plain == [FastqRecord(*r) for r in recs]
    assert list(read_fastq(tmp_path / "r.fq.gz")) == plain


def test_read_fastq__name_drops_the_comment_and_keeps_mate_suffix(tmp_path):
    (tmp_path / "r.fq").write_text("@r1/1 1:N:0:ACGT\nACGT\n+r1/1\nIIII\n@r2\tlane=3\nA\n+\n#\n")
    assert [r.name for r in read_fastq(tmp_path / "r.fq")] == ["r1/1", "r2"]


def test_read_fastq__iupac_either_case_crlf_and_trailing_blank_lines(tmp_path):
    (tmp_path / "r.fq").write_bytes(
        b"@r1\r\nACGTNRYSWKMBDHVacgtnryswkmbdhv\r\n+\r\n" + b"I" * 30 + b"\r\n\n\n"
    )
    (rec,) = read_fastq(tmp_path / "r.fq")
    assert rec.seq == "ACGTNRYSWKMBDHVacgtnryswkmbdhv" and rec.qual == "I" * 30


def test_read_fastq__crlf_split_between_chunks(tmp_path, small_blocks):
    recs = random_records(9, length=5)
    (tmp_path / "r.fq").write_bytes(fastq_text(recs).replace("\n", "\r\n").encode()[:-2])
    assert list(read_fastq(tmp_path / "r.fq")) == [FastqRecord(*r) for r in recs]


def test_read_fastq__empty_reads(tmp_path):
    (tmp_path / "r.fq").write_text("@a\n\n+\n\n@b\nA\n+\nI\n@c\n\n+\n\n")
    assert [(r.name, r.seq) for r in read_fastq(tmp_path / "r.fq")] == [
        ("a", ""),
        ("b", "A"),
        ("c", ""),
    ]


def test_read_fastq__empty_file_has_no_records(tmp_path):
    (tmp_path / "r.fq").write_text("")
    assert list(read_fastq(tmp_path / "r.fq")) == []


def test_read_fastq__block_and_chunk_boundaries(tmp_path, small_blocks):
    recs = random_records(20, length=11)
    (tmp_path / "r.fq").write_text(fastq_text(recs))
    assert list(read_fastq(tmp_path / "r.fq")) == [FastqRecord(*r) for r in recs]


@pytest.mark.parametrize(
    ("text", "match", "record"),
    [
        ("@a\nACGT\n+\nIIII\nb\nACGT\n+\nIIII\n", "starting with '@'", "record 2 (line 5)"),
        (">a\nACGT\n", "looks like FASTA", "record 1 (line 1)"),
        ("@a\nACGT\n-\nIIII\n", "line 3: expected the separator", "record 1 (line 1)"),
        ("@a\nACGT\n+\nIII\n", "4 letters but the quality has 3", "record 1 (line 1)"),
        ("@a\nACGT\n+\nIIII\n@b\nACXT\n+\nIIII\n", "'X' at column 3", "record 2 (line 5)"),
        ("@a\nAC.T\n+\nIIII\n", "'.' at column 3", "record 1 (line 1)"),
        ("@a\nACGT\n+\nII I\n", "quality .* ' ' at column 3", "record 1 (line 1)"),
        ("@a\nACGT\n+\nII\x7fI\n", "quality", "record 1 (line 1)"),
        ("@ comment only\nACGT\n+\nIIII\n", "names no read", "record 1 (line 1)"),
        (
            "@a\nACGT\n+\nIIII\n@b\nACGT\n",
            "ends inside this record .*truncated",
            "record 2 (line 5)",
        ),
        ("@a\nACGT\n+\nIIII\n\n@b\nACGT\n+\nIIII\n", "starting with '@'", "record 2 (line 5)"),
    ],
)
def test_read_fastq__malformed_record_names_file_record_and_line(tmp_path, text, match, record):
    (tmp_path / "r.fq").write_text(text)
    expect_error(tmp_path / "r.fq", match, record=record)


def test_read_fastq__error_after_the_first_block_counts_records(tmp_path, small_blocks):
    recs = random_records(10, length=8)
    recs[7] = (recs[7][0], recs[7][1], recs[7][2][:-1])
    (tmp_path / "r.fq").write_text(fastq_text(recs))
    expect_error(tmp_path / "r.fq", "8 letters but the quality has 7", record="record 8 (line 29)")


def test_read_fastq__non_ascii_bytes(tmp_path):
    (tmp_path / "r.fq").write_bytes(b"@a\nAC\xc3\xa9T\n+\nIIII\n")
    expect_error(tmp_path / "r.fq", "not ASCII")


def test_read_fastq__gz_name_without_gzip_content(tmp_path):
    (tmp_path / "r.fq.gz").write_text(fastq_text(random_records(2)))
    expect_error(tmp_path / "r.fq.gz", "not gzip-compressed")


def test_read_fastq__missing_file(tmp_path):
    expect_error(tmp_path / "none.fq", "no such file")


def test_read_fastq__truncated_gzip_stream(tmp_path):
    data = gzip.compress(fastq_text(random_records(3000, length=50)).encode())
    (tmp_path / "r.fq.gz").write_bytes(data[: len(data) // 2])
    err = expect_error(tmp_path / "r.fq.gz", "gzip stream is truncated or corrupt")
    assert err.record.startswith("after record")


def test_read_fastq__corrupt_gzip_stream(tmp_path):
    data = bytearray(gzip.compress(fastq_text(random_records(200)).encode()))
    data[len(data) // 2 : len(data) // 2 + 40] = bytes(40)
    (tmp_path / "r.fq.gz").write_bytes(bytes(data))
    expect_error(tmp_path / "r.fq.gz", "gzip stream is truncated or corrupt")


def test_read_fastq__rejects_a_non_path():
    with pytest.raises(TypeError, match="path must be a file path"):
        list(read_fastq(3))


@settings(max_examples=30, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.text("abcXYZ0123456789_:/.-", min_size=1, max_size=12),
            st.text("ACGTNacgtnRY", max_size=40),
            st.data(),
        ),
        max_size=12,
    )
)
def test_read_fastq__round_trips_written_records(tmp_path_factory, items):
    recs = []
    for name, seq, data in items:
        qual = data.draw(
            st.text(
                st.characters(min_codepoint=33, max_codepoint=126),
                min_size=len(seq),
                max_size=len(seq),
            )
        )
        recs.append((name, seq, qual))
    path = tmp_path_factory.mktemp("rt") / "r.fq"
    path.write_text(fastq_text(recs))
    assert list(read_fastq(path)) == [FastqRecord(*r) for r in recs]


def write_pair(tmp_path, recs1, recs2, gz=False):
    p1, p2 = tmp_path / "r_1.fq", tmp_path / "r_2.fq"
    p1.write_text(fastq_text(recs1))
    p2.write_text(fastq_text(recs2))
    return p1, p2


def test_read_pairs__mates_in_step(tmp_path, small_blocks):
    one = random_records(10, prefix="p")
    two = random_records(10, seed=1, prefix="p")
    p1, p2 = write_pair(
        tmp_path, [(f"{n}/1", s, q) for n, s, q in one], [(f"{n}/2", s, q) for n, s, q in two]
    )
    pairs = list(read_pairs(p1, p2))
    assert len(pairs) == 10
    assert [(a.name, b.name) for a, b in pairs[:2]] == [("p0/1", "p0/2"), ("p1/1", "p1/2")]
    assert pairs[3][1].seq == two[3][1]


def test_read_pairs__out_of_step(tmp_path, small_blocks):
    one = random_records(10, prefix="p")
    two = random_records(10, seed=1, prefix="p")
    two[6] = ("x6", two[6][1], two[6][2])
    p1, p2 = write_pair(tmp_path, one, two)
    err = expect_error(
        p1,
        "read pairs out of step at record 7: 'p6' in .*r_1.fq but 'x6' in .*r_2.fq",
        reader=lambda p: read_pairs(p1, p2),
    )
    assert err.record == "record 7 (line 25)"


@pytest.mark.parametrize("shorter", [1, 2])
def test_read_pairs__one_file_ends_first(tmp_path, small_blocks, shorter):
    one, two = random_records(9), random_records(9, seed=1)
    if shorter == 1:
        one = one[:7]
    else:
        two = two[:7]
    p1, p2 = write_pair(tmp_path, one, two)
    short, other = (p1, p2) if shorter == 1 else (p2, p1)
    err = expect_error(
        short,
        "ends after 7 records but its mate file .* has more",
        reader=lambda p: read_pairs(p1, p2),
    )
    assert str(other) in err.problem


def test_read_pairs__truncated_record_is_reported_as_such(tmp_path):
    p1, p2 = write_pair(tmp_path, random_records(5), random_records(5, seed=1))
    p2.write_text(p2.read_text()[:-8])
    expect_error(p2, "truncated", record="record 5 (line 17)", reader=lambda p: read_pairs(p1, p2))
