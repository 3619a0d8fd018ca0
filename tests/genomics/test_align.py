import gzip
import json
import shutil
import subprocess
from collections import defaultdict
from pathlib import Path

import numpy as np
import pysam
import pytest

from breedhub.base.provenance import sha256_file
from breedhub.genomics.align import align_reads
from breedhub.genomics.align_stats import AlignmentStats, alignment_stats
from breedhub.genomics.exceptions import InputFileError, ToolError

COMP = str.maketrans("ACGTN", "TGCAN")
READ_LEN = 100
QUAL = "F" * (READ_LEN - 5) + ":,#F:"
CONTIGS = {"chr1": 60_000, "chr2": 50_000, "chr3": 40_000}


def revcomp(s):
    return s.translate(COMP)[::-1]


class Sim:
    """A random genome with a few SNPs, and read pairs of known origin.

    Read names hold the truth: ``p{i}:{contig}:{start of read 1}:{start of read 2}``
    (0-based leftmost positions). Chimeric pairs are named ``chim{i}``, pairs
    with random sequence ``junk{i}``, pairs whose read 2 is random ``half{i}``,
    and a copy of pair ``p0`` (a duplicate) ``dup0``; ``half{i}`` read 1 starts at
    chr3:30000 + 1000i.
    """

    def __init__(self, root: Path, n_pairs=2000, seed=7, insert=(300, 25)):
        self.root = root
        rng = np.random.default_rng(seed)
        self.genome = {c: "".join(rng.choice(list("ACGT"), n)) for c, n in CONTIGS.items()}
        self.fasta = root / "ref.fa"
        with open(self.fasta, "w") as fh:
            for c, s in self.genome.items():
                fh.write(f">{c}\n" + "\n".join(s[i : i + 70] for i in range(0, len(s), 70)) + "\n")
        pysam.faidx(str(self.fasta))
        # the sample differs from the reference by a SNP every ~2 kb
        self.sample = {}
        for c, s in self.genome.items():
            seq = list(s)
            for p in rng.choice(len(s), len(s) // 2000, replace=False):
                seq[p] = "ACGT"[("ACGT".index(seq[p]) + 1) % 4]
            self.sample[c] = "".join(seq)
        self.rng = rng
        self.pairs = []  # (name, read1, read2)
        for i in range(n_pairs):
            c = rng.choice(list(CONTIGS))
            frag_len = max(int(rng.normal(*insert)), READ_LEN)
            st = int(rng.integers(0, CONTIGS[c] - frag_len))
            frag = self.sample[c][st : st + frag_len]
            r1, r2 = frag[:READ_LEN], revcomp(frag)[:READ_LEN]
            p1, p2 = st, st + frag_len - READ_LEN
            if rng.random() < 0.5:  # the fragment from the other strand
                r1, r2, p1, p2 = r2, r1, p2, p1
            self.pairs.append((f"p{i}:{c}:{p1}:{p2}", self.errors(r1), self.errors(r2)))
        self.pairs.append(("dup0", *self.pairs[0][1:]))
        for i in range(3):  # chimeras: read 1 is half chr1, half chr2
            a, b = 10_000 + 5000 * i, 20_000 + 5000 * i
            r1 = self.genome["chr1"][a : a + 50] + self.genome["chr2"][b : b + 50]
            r2 = revcomp(self.genome["chr2"][b + 150 : b + 250])
            self.pairs.append((f"chim{i}", r1, r2))
        for i in range(3):
            self.pairs.append((f"junk{i}", self.random_seq(), self.random_seq()))
            start = 30_000 + 1000 * i
            self.pairs.append(
                (f"half{i}", self.sample["chr3"][start : start + READ_LEN], self.random_seq())
            )
        self.fastq1, self.fastq2 = self.write(self.pairs, "reads")

    def errors(self, read):
        read = list(read)
        for j in np.flatnonzero(self.rng.random(len(read)) < 0.002):
            read[j] = "ACGT"[("ACGT".index(read[j]) + 2) % 4]
        return "".join(read)

    def random_seq(self):
        return "".join(self.rng.choice(list("ACGT"), READ_LEN))

    def write(self, pairs, stem, gz=False):
        paths = []
        for k in (1, 2):
            path = self.root / (f"{stem}_{k}.fq.gz" if gz else f"{stem}_{k}.fq")
            text = "".join(f"@{p[0]}/{k} lane=1\n{p[k]}\n+\n{QUAL}\n" for p in pairs)
            if gz:
                with gzip.open(path, "wt") as fh:
                    fh.write(text)
            else:
                path.write_text(text)
            paths.append(path)
        return paths


@pytest.fixture(scope="module")
def sim(tmp_path_factory):
    return Sim(tmp_path_factory.mktemp("sim"))


@pytest.fixture(scope="module")
def aligned(sim):
    out = sim.root / "out" / "S1.bam"
    stats = align_reads(
        sim.fasta, [(sim.fastq1, sim.fastq2)], out, sample="S1", library="L1", threads=2
    )
    return out, stats


def primaries(bam):
    recs = defaultdict(dict)
    with pysam.AlignmentFile(str(bam)) as f:
        for r in f.fetch(until_eof=True):
            if not r.flag & 0x900:
                recs[r.query_name][1 if r.is_read1 or not r.is_paired else 2] = r
    return recs


def test_align_reads__reads_map_to_their_true_position(sim, aligned):
    bam, _ = aligned
    recs = primaries(bam)
    truth = [p[0] for p in sim.pairs if p[0].startswith("p")]
    right = 0
    for name in truth:
        _, c, p1, p2 = name.split(":")
        r1, r2 = recs[name][1], recs[name][2]
        right += (r1.reference_name, r1.reference_start) == (c, int(p1))
        right += (r2.reference_name, r2.reference_start) == (c, int(p2))
    assert right >= 0.99 * 2 * len(truth)


def test_align_reads__mate_fields_are_consistent(sim, aligned):
    bam, _ = aligned
    recs = primaries(bam)
    assert len(recs) == len(sim.pairs)
    proper = 0
    for name, pair in recs.items():
        r1, r2 = pair[1], pair[2]
        assert r1.is_paired and r2.is_paired and r1.is_read1 and r2.is_read2
        for a, b in ((r1, r2), (r2, r1)):
            assert a.mate_is_unmapped == b.is_unmapped
            if not b.is_unmapped:
                assert (a.next_reference_name, a.next_reference_start) == (
                    b.reference_name,
                    b.reference_start,
                )
                assert a.mate_is_reverse == b.is_reverse
                assert a.get_tag("MC") == b.cigarstring
            elif not a.is_unmapped:  # an unmapped mate sits at its mate's position
                assert (b.reference_name, b.reference_start) == (
                    a.reference_name,
                    a.reference_start,
                )
            assert a.has_tag("ms") and a.get_tag("RG") == "S1"
        assert r1.template_length == -r2.template_length
        assert r1.is_proper_pair == r2.is_proper_pair
        if name.startswith("p"):
            proper += r1.is_proper_pair
            assert abs(r1.template_length) == 0 or abs(abs(r1.template_length) - 300) < 150
        elif name.startswith(("junk", "half")):
            assert not r1.is_proper_pair
    assert proper >= 0.99 * sum(n.startswith("p") for n in recs)
    assert recs["junk0"][1].is_unmapped and recs["junk0"][1].reference_id == -1
    half = recs["half1"]
    assert (half[1].reference_name, half[1].reference_start) == ("chr3", 31_000)
    assert half[2].is_unmapped and half[2].reference_start == half[1].reference_start
    assert half[1].flag & 0x8 and half[1].next_reference_start == half[1].reference_start


def test_align_reads__reverse_strand_records_carry_the_reverse_complement(sim, aligned):
    bam, _ = aligned
    reads = {(p[0], k): p[k] for p in sim.pairs for k in (1, 2)}
    with pysam.AlignmentFile(str(bam)) as f:
        for r in f.fetch(until_eof=True):
            if r.flag & 0x900:
                continue
            original = reads[(r.query_name, 1 if r.is_read1 else 2)]
            assert r.query_sequence == (revcomp(original) if r.is_reverse else original)
            quals = pysam.qualities_to_qualitystring(r.query_qualities)
            assert quals == QUAL[:: -1 if r.is_reverse else 1]


def test_align_reads__chimeric_read_gets_supplementary_and_sa_tags(aligned):
    bam, _ = aligned
    with pysam.AlignmentFile(str(bam)) as f:
        chim = [r for r in f.fetch(until_eof=True) if r.query_name == "chim1" and r.is_read1]
    assert len(chim) == 2
    prim = next(r for r in chim if not r.is_supplementary)
    supp = next(r for r in chim if r.is_supplementary)
    assert {prim.reference_name, supp.reference_name} == {"chr1", "chr2"}
    assert "H" in supp.cigarstring and "S" in prim.cigarstring
    assert len(supp.query_sequence) == 50 and len(prim.query_sequence) == READ_LEN
    assert prim.get_tag("SA").startswith(f"{supp.reference_name},{supp.reference_start + 1},")
    assert supp.get_tag("SA").startswith(f"{prim.reference_name},{prim.reference_start + 1},")
    assert supp.flag & 0xC1 == 0x41 and supp.get_tag("RG") == "S1"


def test_align_reads__duplicate_pair_is_marked(aligned):
    bam, stats = aligned
    recs = primaries(bam)
    dup = recs["dup0"]
    orig = next(v for k, v in recs.items() if k.startswith("p0:"))
    assert {dup[1].is_duplicate, orig[1].is_duplicate} == {True, False}
    assert dup[1].is_duplicate == dup[2].is_duplicate
    assert orig[1].is_duplicate == orig[2].is_duplicate
    assert sum(r.is_duplicate for pair in recs.values() for r in pair.values()) == 2


def test_align_reads__header_sorted_indexed_with_read_group(sim, aligned):
    bam, _ = aligned
    assert Path(f"{bam}.bai").is_file()
    with pysam.AlignmentFile(str(bam)) as f:
        h = f.header.to_dict()
        assert h["HD"]["SO"] == "coordinate"
        assert [(s["SN"], s["LN"]) for s in h["SQ"]] == list(CONTIGS.items())
        assert h["RG"] == [{"ID": "S1", "SM": "S1", "LB": "L1", "PL": "ILLUMINA"}]
        assert any(pg["ID"] == "minimap2" for pg in h["PG"])
        keys = [
            (r.reference_id if r.reference_id >= 0 else 99, r.reference_start)
            for r in f.fetch(until_eof=True)
        ]
        assert keys == sorted(keys)
        assert f.check_index() and f.count("chr2", 1000, 2000) > 0
        assert all(r.get_tag("RG") == "S1" for r in f.fetch(until_eof=True))
    # nothing else was left beside the outputs
    assert sorted(p.name for p in bam.parent.iterdir()) == ["S1.bam", "S1.bam.bai", "S1.stats.json"]


def test_align_reads__stats_json_matches_the_bam(sim, aligned):
    bam, stats = aligned
    assert isinstance(stats, AlignmentStats)
    saved = json.loads((bam.parent / "S1.stats.json").read_text())
    provenance = saved.pop("provenance")
    assert saved == stats.to_dict()
    assert provenance["parameters"]["sample"] == "S1"
    assert provenance["extra"]["reference"] == str(sim.fasta)
    assert provenance["tool"] == "breedhub" and provenance["command"].endswith("align_reads")
    assert provenance["inputs"][0] == {"path": str(sim.fasta), "sha256": sha256_file(sim.fasta)}
    n_reads = 2 * len(sim.pairs)
    assert stats.reads == n_reads
    with pysam.AlignmentFile(str(bam)) as f:
        recs = list(f.fetch(until_eof=True))
        unmapped = sum(r.is_unmapped for r in recs)
        cov = sum(
            int(np.sum(f.count_coverage(c, 0, n, quality_threshold=0))) for c, n in CONTIGS.items()
        )
    assert stats.mapped == n_reads - unmapped
    assert stats.mapped_pct == pytest.approx(100 * (n_reads - unmapped) / n_reads, abs=1e-3)
    assert stats.supplementary == sum(r.is_supplementary for r in recs) >= 3
    assert stats.duplicates_pct == pytest.approx(100 * 2 / stats.mapped, abs=1e-3)
    assert stats.mean_depth == pytest.approx(cov / sum(CONTIGS.values()), rel=0.01)
    expected_depth = 2 * len(sim.pairs) * READ_LEN / sum(CONTIGS.values())
    assert stats.mean_depth == pytest.approx(expected_depth, rel=0.03)
    assert stats.properly_paired_pct > 98
    assert stats.insert_size_median == pytest.approx(300, abs=5)
    assert stats.insert_size_sd == pytest.approx(25, abs=5)
    # the same from the BAM alone, in one process or several
    assert alignment_stats(bam) == stats
    assert alignment_stats(bam, reference=sim.fasta, threads=2) == stats


@pytest.mark.skipif(shutil.which("minimap2") is None, reason="no minimap2 binary")
def test_align_reads__agrees_with_minimap2_command_line(sim, aligned):
    bam, _ = aligned
    sam = subprocess.run(
        ["minimap2", "-ax", "sr", str(sim.fasta), str(sim.fastq1), str(sim.fastq2)],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    theirs, their_as = {}, {}
    for line in sam.splitlines():
        if line.startswith("@"):
            continue
        f = line.split("\t")
        flag, key = int(f[1]), (f[0], int(f[1]) & 0xC0)
        if not flag & 0x900:
            theirs[key] = (flag, f[2], int(f[3]), f[4], f[5], f[6], int(f[7]), int(f[8]))
            their_as.update((key, int(t[5:])) for t in f[11:] if t.startswith("AS:i:"))
    ours, our_as = {}, {}
    with pysam.AlignmentFile(str(bam)) as f:
        for r in f.fetch(until_eof=True):
            if r.flag & 0x900:
                continue
            key = (r.query_name, r.flag & 0xC0)
            rname = r.reference_name or "*"
            rnext = r.next_reference_name or "*"
            if rnext == rname and rnext != "*":
                rnext = "="
            ours[key] = (
                r.flag & ~0x400, rname, r.reference_start + 1, str(r.mapping_quality),
                r.cigarstring or "*", rnext, r.next_reference_start + 1, r.template_length,
            )  # fmt: skip
            if r.has_tag("AS"):
                our_as[key] = r.get_tag("AS")
    assert ours.keys() == theirs.keys()
    same = sum(ours[k] == theirs[k] for k in ours)
    assert same >= 0.99 * len(ours)
    assert our_as.keys() == their_as.keys()
    assert sum(our_as[k] == v for k, v in their_as.items()) >= 0.99 * len(their_as)


def test_align_reads__multiple_lanes_one_gzipped(sim, tmp_path):
    half = len(sim.pairs) // 2
    lane1 = sim.write(sim.pairs[:200], "lane1")
    lane2 = sim.write(sim.pairs[half : half + 150], "lane2", gz=True)
    out = tmp_path / "lanes.bam"
    stats = align_reads(
        sim.fasta, [tuple(lane1), tuple(lane2)], out, sample="S2", mark_duplicates=False
    )
    assert stats.reads == 2 * 350 and stats.mapped_pct > 99
    names = set(primaries(out))
    assert sim.pairs[0][0] in names and sim.pairs[half][0] in names
    with pysam.AlignmentFile(str(out)) as f:
        assert f.header.to_dict()["RG"][0]["LB"] == "S2"
        assert not any(r.is_duplicate for r in f.fetch(until_eof=True))


def test_align_reads__single_end(sim, tmp_path):
    fq1, _ = sim.write(sim.pairs[:300], "single")
    out = tmp_path / "se.bam"
    stats = align_reads(sim.fasta, [(fq1, None)], out, sample="S3", read_group="S3.L1")
    assert (
        stats.reads == 300 and stats.properly_paired_pct == 0 and stats.insert_size_median is None
    )
    right = 0
    with pysam.AlignmentFile(str(out)) as f:
        for r in f.fetch(until_eof=True):
            assert not r.is_paired and r.get_tag("RG") == "S3.L1"
            assert r.next_reference_id == -1 and r.template_length == 0
            if r.query_name.startswith("p") and not r.is_supplementary:
                _, c, p1, _ = r.query_name[:-2].split(":")
                right += (r.reference_name, r.reference_start) == (c, int(p1))
                assert r.query_name.endswith("/1")  # single-end names are kept whole
    assert right >= 0.99 * sum(p[0].startswith("p") for p in sim.pairs[:300])


def test_align_reads__long_fragments_are_still_proper_pairs(tmp_path):
    sim = Sim(tmp_path, n_pairs=400, seed=3, insert=(1500, 60))
    out = tmp_path / "long.bam"
    stats = align_reads(sim.fasta, [(sim.fastq1, sim.fastq2)], out, sample="S4")
    assert stats.properly_paired_pct > 97  # minimap2's default would cap fragments at 800
    assert stats.insert_size_median == pytest.approx(1500, abs=20)


def test_align_reads__threads_do_not_change_the_records(sim, tmp_path):
    pairs = sim.pairs[:300]
    fq = sim.write(pairs, "thr")
    texts = []
    for t in (1, 2):
        out = tmp_path / f"t{t}.bam"
        align_reads(sim.fasta, [tuple(fq)], out, sample="S1", threads=t)
        with pysam.AlignmentFile(str(out)) as f:
            texts.append([r.to_string() for r in f.fetch(until_eof=True)])
    assert texts[0] == texts[1]


def test_align_reads__uses_a_fresh_mmi_and_ignores_a_wrong_one(sim, tmp_path):
    import mappy

    ref = tmp_path / "ref.fa"
    shutil.copy(sim.fasta, ref)
    mappy.Aligner(str(ref), preset="map-ont", fn_idx_out=str(tmp_path / "ref.fa.mmi"))
    fq = sim.write(sim.pairs[:100], "mmi")
    stats = align_reads(ref, [tuple(fq)], tmp_path / "a.bam", sample="S1")
    assert stats.mapped_pct > 98 and (tmp_path / "ref.fa.fai").is_file()
    mappy.Aligner(str(ref), preset="sr", fn_idx_out=str(tmp_path / "ref.fa.mmi"))
    assert align_reads(ref, [tuple(fq)], tmp_path / "b.bam", sample="S1") == stats


def leftovers(directory):
    return sorted(p.name for p in directory.iterdir() if not p.name.endswith((".fq", ".fq.gz")))


@pytest.mark.parametrize("problem", ["truncated", "out_of_step", "not_gzip", "bad_gzip"])
def test_align_reads__bad_input_raises_and_leaves_nothing(sim, tmp_path, problem):
    r1, r2 = sim.write(sim.pairs[:300], "bad")
    if problem == "truncated":
        r2.write_text(r2.read_text()[: -len(QUAL) - 1])
        match, path, record = "truncated", r2, "record 300 (line 1197)"
    elif problem == "out_of_step":
        lines = r2.read_text().splitlines(keepends=True)
        lines[4 * 250 : 4 * 252] = lines[4 * 251 : 4 * 252] + lines[4 * 250 : 4 * 251]
        r2.write_text("".join(lines))
        match, path, record = "read pairs out of step at record 251", r1, "record 251 (line 1001)"
    elif problem == "not_gzip":
        r1 = r1.rename(tmp_path / "bad_1.fq.gz")
        match, path, record = "not gzip-compressed", r1, None
    else:
        data = gzip.compress(r1.read_bytes())
        r1 = tmp_path / "bad_1.fq.gz"
        r1.write_bytes(data[: len(data) - 200])
        match, path, record = "gzip stream is truncated or corrupt", r1, None
    out = tmp_path / "out" / "bad.bam"
    with pytest.raises(InputFileError, match=match) as e:
        align_reads(sim.fasta, [(r1, r2)], out, sample="S1", threads=2)
    assert e.value.path == str(path)
    if record:
        assert e.value.record == record
    assert leftovers(tmp_path / "out") == []


def test_align_reads__bad_input_in_a_later_lane_keeps_an_older_output(sim, tmp_path):
    good = sim.write(sim.pairs[:50], "good")
    out = tmp_path / "x.bam"
    align_reads(sim.fasta, [tuple(good)], out, sample="S1", mark_duplicates=False)
    before = out.read_bytes()
    bad1, bad2 = sim.write(sim.pairs[:50], "bad")
    bad1.write_text(bad1.read_text().replace("\n+\n", "\n-\n", 1))
    with pytest.raises(InputFileError, match="separator"):
        align_reads(sim.fasta, [tuple(good), (bad1, bad2)], out, sample="S1")
    assert out.read_bytes() == before
    assert leftovers(tmp_path) == ["x.bam", "x.bam.bai", "x.stats.json"]


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"reads": "r1.fq"}, TypeError, "list of"),
        ({"reads": []}, ValueError, "reads is empty"),
        ({"reads": [("r1.fq",)]}, TypeError, r"reads\[0\]"),
        ({"out_bam": "x.sam"}, ValueError, "end in .bam"),
        ({"aligner": "bowtie2"}, ValueError, "aligner must be one of"),
        ({"threads": 0}, ValueError, "threads"),
        ({"sample": "my sample"}, ValueError, "sample"),
        ({"sample": None}, TypeError, "sample"),
    ],
)
def test_align_reads__checks_arguments_first(sim, tmp_path, kwargs, error, match):
    args = {"reads": [(sim.fastq1, sim.fastq2)], "out_bam": tmp_path / "x.bam", "sample": "S1"}
    args.update(kwargs)
    reads, out_bam = args.pop("reads"), args.pop("out_bam")
    with pytest.raises(error, match=match):
        align_reads(sim.fasta, reads, out_bam, **args)
    assert not any(tmp_path.iterdir())


def test_align_reads__missing_fastq(sim, tmp_path):
    with pytest.raises(InputFileError, match="no such file"):
        align_reads(sim.fasta, [(tmp_path / "none.fq", None)], tmp_path / "x.bam", sample="S1")


def test_align_reads__bwa_not_installed(sim, tmp_path, monkeypatch):
    monkeypatch.setattr(shutil, "which", lambda name: None)
    with pytest.raises(ToolError, match="bwa is not installed"):
        align_reads(sim.fasta, [(sim.fastq1, None)], tmp_path / "x.bam", sample="S1", aligner="bwa")
    assert not any(tmp_path.iterdir())


@pytest.mark.skipif(shutil.which("bwa") is None, reason="no bwa binary")
def test_align_reads__bwa_without_index_says_how_to_build_it(sim, tmp_path):
    with pytest.raises(ToolError, match="breedhub genomics index --aligner bwa"):
        align_reads(sim.fasta, [(sim.fastq1, None)], tmp_path / "x.bam", sample="S1", aligner="bwa")
    assert not any(tmp_path.iterdir())


@pytest.mark.skipif(shutil.which("bwa") is None, reason="no bwa binary")
def test_align_reads__bwa_paired_and_single_lanes(sim, tmp_path):
    ref = tmp_path / "ref.fa"
    shutil.copy(sim.fasta, ref)
    subprocess.run(["bwa", "index", str(ref)], check=True, capture_output=True)
    pairs = sim.write(sim.pairs[:400], "bwa")
    single, _ = sim.write(sim.pairs[400:500], "bwa_se")
    out = tmp_path / "bwa.bam"
    stats = align_reads(
        ref, [tuple(pairs), (single, None)], out, sample="S5", aligner="bwa", threads=2
    )
    assert stats.reads == 900 and stats.mapped_pct > 99 and stats.properly_paired_pct > 98
    right = total = 0
    with pysam.AlignmentFile(str(out)) as f:
        assert f.header.to_dict()["RG"][0] == {"ID": "S5", "SM": "S5", "LB": "S5", "PL": "ILLUMINA"}
        assert f.header.to_dict()["HD"]["SO"] == "coordinate" and f.check_index()
        for r in f.fetch(until_eof=True):
            assert r.get_tag("RG") == "S5"
            if r.flag & 0x900 or not r.query_name.startswith("p"):
                continue
            _, c, p1, p2 = r.query_name.split(":")
            pos = int(p1) if r.is_read1 or not r.is_paired else int(p2)
            total += 1
            right += (r.reference_name, r.reference_start) == (c, pos)
            if r.is_paired and not r.mate_is_unmapped:
                assert r.has_tag("MC") and r.has_tag("ms")
    assert total == 900
    assert right >= 0.99 * total


@pytest.mark.skipif(shutil.which("bwa") is None, reason="no bwa binary")
def test_align_reads__bwa_bad_input_leaves_nothing(sim, tmp_path):
    ref = tmp_path / "ref.fa"
    shutil.copy(sim.fasta, ref)
    subprocess.run(["bwa", "index", str(ref)], check=True, capture_output=True)
    r1, r2 = sim.write(sim.pairs[:100], "bwabad")
    r2.write_text(r2.read_text()[: -len(QUAL) - 1])
    with pytest.raises(InputFileError, match="truncated"):
        align_reads(ref, [(r1, r2)], tmp_path / "out" / "x.bam", sample="S1", aligner="bwa")
    assert not any((tmp_path / "out").iterdir())


def test_alignment_stats__not_a_bam(tmp_path):
    (tmp_path / "x.bam").write_text("not a bam")
    with pytest.raises(InputFileError, match="not a readable BAM"):
        alignment_stats(tmp_path / "x.bam")
