import dataclasses
import gzip
from pathlib import Path

import allel
import mappy
import numpy as np
import pysam
import pytest

from breedhub.genomics import read_genotypes
from breedhub.genomics.simulate import simulate_dataset
from breedhub.genomics.simulate_pedigree import gene_drop
from breedhub.genomics.simulate_population import (
    SimulatedPopulation,
    simulate_population,
    write_truth_vcf,
)
from breedhub.genomics.simulate_reads import ReadSet, simulate_reads
from breedhub.genomics.simulate_reference import simulate_reference
from breedhub.genomics.store import write_genotype_store
from breedhub.predict.relationship import genomic_relationship


def trio_pedigree(n_families=40):
    ids, mo, fa = [], [], []
    for i in range(n_families):
        ids += [f"m{i}", f"f{i}", f"o{i}a", f"o{i}b"]
        mo += [None, None, f"m{i}", f"m{i}"]
        fa += [None, None, f"f{i}", f"f{i}"]
    return ids, mo, fa


@pytest.mark.parametrize("ploidy", [2, 4, 6])
def test_gene_drop__offspring_take_half_of_each_parent(ploidy):
    ids, mo, fa = trio_pedigree()
    sim = gene_drop(ids, mo, fa, ploidy=ploidy, n_markers=400, n_chromosomes=4, seed=ploidy)
    d = sim.dosages.astype(float)
    assert sim.haplotypes.shape == (len(ids), ploidy, 400) and d.max() <= ploidy
    # Mendelian expectation: the offspring dosage averages the parents' dosages.
    mothers, fathers, kids = d[0::4], d[1::4], d[2::4]
    resid = kids - (mothers + fathers) / 2
    assert abs(resid.mean()) < 0.05
    # Genomic relationship: full sibs about 0.5, unrelated founders about 0.
    G = genomic_relationship(sim.dosages, ploidy=ploidy)
    sibs = np.mean([G[4 * i + 2, 4 * i + 3] for i in range(40)])
    unrelated = np.mean([G[4 * i, 4 * i + 5] for i in range(39)])
    assert sibs > unrelated + 0.25


def test_gene_drop__clones_and_doubled_haploids():
    ids = ["a", "b", "c", "d"]
    sim = gene_drop(ids, [None, None, "a", "a"], [None, None, None, None], ploidy=2, n_markers=200,
                    cross_types=["", "", "CLONAL", "DOUBLE_HAPLOID"], seed=1)  # fmt: skip
    np.testing.assert_array_equal(sim.haplotypes[2], sim.haplotypes[0])
    np.testing.assert_array_equal(sim.haplotypes[3][0], sim.haplotypes[3][1])


def test_gene_drop__inbred_lines_are_nearly_homozygous():
    sim = gene_drop(["a", "b", "c"], [None, None, "a"], [None, None, "b"], ploidy=2, n_markers=500,
                    cross_types=["", "", "BIPARENTAL"], generations=["", "", "F8"], seed=2)  # fmt: skip
    het = (sim.haplotypes[2, 0] != sim.haplotypes[2, 1]).mean()
    assert het < 0.05


def test_write_genotype_store__scikit_allel_reads_it_as_is(tmp_path):
    sim = gene_drop(*trio_pedigree(5), ploidy=6, n_markers=120, n_chromosomes=3, seed=4)
    path = write_genotype_store(tmp_path / "g.h5", samples=sim.ids, chrom=sim.chrom, pos=sim.pos_bp,
                                gt=sim.genotype_calls, species="oil_tea")  # fmt: skip
    gt = allel.GenotypeArray(__import__("h5py").File(path)["calldata/GT"][:])
    assert gt.ploidy == 6 and gt.n_samples == 20
    np.testing.assert_array_equal(gt.to_allele_counts(max_allele=1)[:, :, 1].T, sim.dosages)
    g = read_genotypes(path)
    assert g.ploidy == 6 and list(g.sample_id) == sim.ids
    np.testing.assert_array_equal(g.dosage_matrix(), sim.dosages)
    assert not (tmp_path / ".g.h5.part").exists()


# ---------------------------------------------------------------------------
# Reference, population, truth VCF and reads
# ---------------------------------------------------------------------------

COMPLEMENT = str.maketrans("ACGTN", "TGCAN")


def revcomp(s):
    return s.translate(COMPLEMENT)[::-1]


def read_fastq(path):
    with gzip.open(path, "rt") as fh:
        lines = fh.read().splitlines()
    return lines[0::4], lines[1::4], lines[3::4]


def phred(quals):
    return np.frombuffer("".join(quals).encode(), dtype=np.uint8).astype(int) - 33


@pytest.fixture(scope="module")
def reference(tmp_path_factory):
    return simulate_reference(
        tmp_path_factory.mktemp("ref") / "ref.fa", n_contigs=2, contig_length=60_000, seed=5
    )


@pytest.fixture(scope="module")
def sequences(reference):
    fa = pysam.FastaFile(str(reference))
    return {name: fa.fetch(name) for name in fa.references}


def test_simulate_reference__gc_lines_and_index(tmp_path):
    fa = simulate_reference(tmp_path / "r.fa", n_contigs=2, contig_length=100_000, gc=0.6, seed=1)
    lines = fa.read_text().splitlines()
    assert lines[0] == ">chr1" and {len(x) for x in lines[1:1000]} == {60}
    ref = pysam.FastaFile(str(fa))  # uses the .fai written beside it
    assert ref.references == ["chr1", "chr2"] and ref.lengths == [100_000, 100_000]
    seq = ref.fetch("chr1")
    acgt = sum(seq.count(b) for b in "ACGT")
    assert abs((seq.count("G") + seq.count("C")) / acgt - 0.6) < 0.01
    assert 50 <= seq.count("N") <= 200  # one short gap
    # About ten microsatellites (period 1-4) per 100 kb; random sequence has about none this long.
    a = np.frombuffer(seq.encode(), dtype=np.uint8)
    runs = 0
    for period in range(1, 5):
        same = np.concatenate([[0], (a[period:] == a[:-period]).astype(np.int8), [0]])
        edges = np.flatnonzero(np.diff(same))
        runs += int(np.sum(edges[1::2] - edges[0::2] >= 10))
    assert runs >= 6
    again = simulate_reference(
        tmp_path / "s.fa", n_contigs=2, contig_length=100_000, gc=0.6, seed=1
    )
    other = simulate_reference(
        tmp_path / "t.fa", n_contigs=2, contig_length=100_000, gc=0.6, seed=2
    )
    assert again.read_bytes() == fa.read_bytes() != other.read_bytes()


@pytest.mark.parametrize("ploidy", [1, 2, 4, 6])
def test_simulate_population__variants_sit_on_the_reference(reference, sequences, ploidy):
    pop = simulate_population(reference, ploidy=ploidy, n_founders=4, n_progeny=3, seed=ploidy)
    assert pop.haplotypes.shape == (7, ploidy, pop.n_variants) and pop.haplotypes.dtype == np.int8
    genome = sum(len(s) for s in sequences.values())
    assert 150 < genome / pop.n_variants < 300  # about one variant per 150-300 bp
    for c, p, r, a in zip(pop.contig, pop.pos, pop.ref, pop.alt, strict=True):
        seq = sequences[c]
        assert seq[p - 1 : p - 1 + len(r)] == r and r != a and "N" not in r + a
        assert 20 <= p - 1 and p - 1 + len(r) <= len(seq) - 20
        assert len(r) == 1 or len(a) == 1  # SNP, insertion or deletion, biallelic
        assert r[0] == a[0] or (len(r) == 1 and len(a) == 1)  # indels keep their anchor base
        if len(r) > 1:  # deletions are left-aligned: the anchor differs from the last deleted base
            assert r[0] != r[-1]
        if len(a) > 1:  # and insertions cannot shift left
            assert a[-1] != r[0]
    for c in sequences:
        on = pop.contig == c
        start, end = (
            pop.pos[on],
            pop.pos[on] + np.array([len(r) for r, o in zip(pop.ref, on, strict=True) if o]),
        )
        assert np.all(start[1:] - (end[:-1] - 1) > 10)  # at least 10 bp between variants
    snp = pop.is_snp
    assert 0.05 < 1 - snp.mean() < 0.2
    transitions = sum(
        {r, a} in ({"A", "G"}, {"C", "T"})
        for r, a, s in zip(pop.ref, pop.alt, snp, strict=True)
        if s
    )
    assert 1.4 < transitions / (snp.sum() - transitions) < 2.8
    assert pop.mothers[:4] == [None] * 4 and all(m is not None for m in pop.mothers[4:])
    assert pop.dosages.shape == (7, pop.n_variants) and pop.genotype_calls.shape == (
        pop.n_variants,
        7,
        ploidy,
    )


@pytest.mark.parametrize("ploidy", [2, 4, 6])
def test_simulate_population__progeny_take_alleles_from_their_parents(reference, ploidy):
    pop = simulate_population(reference, ploidy=ploidy, n_founders=4, n_progeny=8, seed=11)
    index = {s: i for i, s in enumerate(pop.samples)}
    half = ploidy // 2
    for i in range(4, 12):
        for parent, part in ((pop.mothers[i], slice(0, half)), (pop.fathers[i], slice(half, None))):
            d = pop.dosages[index[parent]]
            gamete = pop.haplotypes[i, part].sum(axis=0)
            assert np.all(gamete[d == 0] == 0) and np.all(gamete[d == ploidy] == half)
            assert np.all(gamete <= np.minimum(d, half)) and np.all(
                gamete >= np.maximum(d - half, 0)
            )


def test_simulate_population__spectrum_and_linkage_disequilibrium(reference):
    pop = simulate_population(reference, ploidy=2, n_founders=12, n_progeny=0, seed=3)
    haps = pop.haplotypes.reshape(24, -1).astype(float)
    counts = haps.sum(axis=0).astype(int)
    sfs = np.bincount(counts, minlength=25)
    # neutral spectrum (about 1/i), not flat: singletons the largest class, rare alleles common
    assert sfs[1] == sfs[1:24].max() and sfs[1:4].sum() > 1.5 * sfs[10:15].sum()
    on = pop.contig == "chr1"
    h, pos = haps[:, on], pop.pos[on]
    keep = (h.mean(axis=0) > 0.1) & (h.mean(axis=0) < 0.9)
    h, pos = h[:, keep], pos[keep]
    r2 = np.corrcoef(h.T) ** 2
    dist = np.abs(pos[:, None] - pos[None, :])
    close = r2[(dist > 0) & (dist < 1000)].mean()
    far = r2[dist > 30_000].mean()
    assert close > far + 0.1


def test_simulate_population__is_seeded_and_checks_its_arguments(reference):
    a = simulate_population(reference, ploidy=4, n_founders=3, n_progeny=2, seed=7)
    b = simulate_population(reference, ploidy=4, n_founders=3, n_progeny=2, seed=7)
    c = simulate_population(reference, ploidy=4, n_founders=3, n_progeny=2, seed=8)
    assert (
        np.array_equal(a.haplotypes, b.haplotypes)
        and a.alt == b.alt
        and a.pos.tolist() == b.pos.tolist()
    )
    assert a.pos.tolist() != c.pos.tolist()
    with pytest.raises(ValueError, match="ploidy must be 1 or even"):
        simulate_population(reference, ploidy=3)
    with pytest.raises(TypeError, match="ploidy must be an integer"):
        simulate_population(reference, ploidy="2")
    with pytest.raises(ValueError, match="indel_fraction"):
        simulate_population(reference, ploidy=2, indel_fraction=1.5)
    with pytest.raises(ValueError, match="n_founders must be at least 1"):
        simulate_population(reference, ploidy=2, n_founders=0)


@pytest.mark.parametrize("ploidy", [2, 4, 6])
def test_write_truth_vcf__allel_and_pysam_read_the_genotypes(reference, tmp_path, ploidy):
    pop = simulate_population(reference, ploidy=ploidy, n_founders=3, n_progeny=3, seed=2)
    vcf = write_truth_vcf(pop, reference, tmp_path / "truth.vcf.gz")
    assert (tmp_path / "truth.vcf.gz.tbi").is_file()
    c = allel.read_vcf(str(vcf), fields="*", numbers={"calldata/GT": ploidy, "variants/ALT": 1})
    assert c["samples"].tolist() == pop.samples
    np.testing.assert_array_equal(c["calldata/GT"], pop.genotype_calls)
    np.testing.assert_array_equal(c["variants/POS"], pop.pos)
    assert c["variants/REF"].tolist() == pop.ref and c["variants/ALT"].tolist() == pop.alt
    with pysam.VariantFile(str(vcf)) as f:
        assert {k: v.length for k, v in f.header.contigs.items()} == {
            "chr1": 60_000,
            "chr2": 60_000,
        }
        rec = next(f.fetch("chr2"))
        j = int(np.flatnonzero(pop.contig == "chr2")[0])
        assert rec.pos == pop.pos[j] and rec.samples[pop.samples[-1]].phased
        assert rec.samples[pop.samples[-1]]["GT"] == tuple(pop.haplotypes[-1, :, j])


@pytest.fixture(scope="module")
def tetraploid_reads(reference, tmp_path_factory):
    pop = simulate_population(reference, ploidy=4, n_founders=2, n_progeny=1, seed=4)
    out = tmp_path_factory.mktemp("reads")
    return pop, simulate_reads(reference, pop, out, depth=8, seed=1, samples=["S003"])[0]


def kmer_counts(seqs, k):
    """A function: k-mer code -> count over the reads and their reverse complements."""
    seqs = seqs + [revcomp(x) for x in seqs]
    codes = np.full(256, 4, dtype=np.int64)
    codes[np.frombuffer(b"ACGT", np.uint8)] = np.arange(4)
    a = codes[np.frombuffer("".join(seqs).encode(), np.uint8)].reshape(len(seqs), -1)
    m = a.shape[1] - k + 1
    value, has_n = np.zeros((len(seqs), m), dtype=np.int64), np.zeros((len(seqs), m), dtype=bool)
    for j in range(k):
        value = (value << 2) | (a[:, j : j + m] & 3)
        has_n |= a[:, j : j + m] == 4
    keys, counts = np.unique(value[~has_n], return_counts=True)
    return lambda kmer: (
        int(counts[i]) if (i := np.searchsorted(keys, kmer)) < keys.size and keys[i] == kmer else 0
    )


def kmer_code(s):
    return sum("ACGT".index(b) * 4**i for i, b in enumerate(reversed(s)))


@pytest.mark.parametrize("ploidy", [2, 4, 6])
def test_simulate_reads__reads_carry_the_samples_alleles(
    tetraploid_reads, reference, sequences, tmp_path, ploidy
):
    if ploidy == 4:
        pop, rs = tetraploid_reads
    else:
        pop = simulate_population(reference, ploidy=ploidy, n_founders=2, n_progeny=1, seed=4)
        rs = simulate_reads(reference, pop, tmp_path, depth=8, seed=1, samples=["S003"])[0]
    assert rs == ReadSet("S003", rs.fastq1, rs.fastq2)
    reads = read_fastq(rs.fastq1)[1] + read_fastq(rs.fastq2)[1]
    count = kmer_counts(reads, 17)
    text = "|".join(reads + [revcomp(x) for x in reads])
    dosage, snp = pop.dosages[2], pop.is_snp
    checked, uncovered = {0: 0, ploidy: 0}, 0
    for j in np.flatnonzero((dosage == 0) | (dosage == ploidy)):
        seq, p, r, a = sequences[pop.contig[j]], pop.pos[j] - 1, pop.ref[j], pop.alt[j]
        left, right = (
            seq[p - 8 : p],
            seq[p + len(r) : p + len(r) + 8],
        )  # no other variant within 10 bp
        if snp[j]:  # SNPs by 17-mers, indels (a few) by searching the reads
            with_ref = count(kmer_code(left + r + right))
            with_alt = count(kmer_code(left + a + right))
        elif checked[int(dosage[j])] < 10:
            with_ref, with_alt = text.count(left + r + right), text.count(left + a + right)
        else:
            continue
        seen, wrong = (with_alt, with_ref) if dosage[j] == ploidy else (with_ref, with_alt)
        assert wrong <= 1, (j, r, a, with_ref, with_alt)  # at most one sequencing error
        uncovered += seen == 0
        checked[int(dosage[j])] += 1
    assert checked[0] > 50 and checked[ploidy] > 10
    assert uncovered <= 0.02 * sum(checked.values())  # depth 8: rarely no read


def test_simulate_reads__depth_pairs_and_quality_profile(tetraploid_reads, reference):
    pop, rs = tetraploid_reads
    names1, seqs1, quals1 = read_fastq(rs.fastq1)
    names2, seqs2, quals2 = read_fastq(rs.fastq2)
    assert names1 == names2 == [f"@S003:{i}" for i in range(1, len(names1) + 1)]
    assert {len(s) for s in seqs1 + seqs2} == {150} and [len(q) for q in quals1] == [
        len(s) for s in seqs1
    ]
    depth = 150 * (len(seqs1) + len(seqs2)) / 120_000
    assert abs(depth - 8) < 0.1
    q = phred(quals1).reshape(-1, 150)
    assert 36 <= q[:, :10].mean() <= 38 and 25 <= q[:, -10:].mean() <= 28.5
    assert q.min() >= 2 and q.max() <= 41 and (q < 20).mean() > 0.002  # a few low-quality dips
    aligner = mappy.Aligner(str(reference), preset="sr")
    sizes = []
    for s1, s2 in zip(seqs1[:400], seqs2[:400], strict=True):
        hits = [h for h in aligner.map(s1, s2) if h.is_primary]
        if len(hits) == 2 and hits[0].ctg == hits[1].ctg and hits[0].strand != hits[1].strand:
            sizes.append(max(h.r_en for h in hits) - min(h.r_st for h in hits))
    assert len(sizes) > 350 and abs(np.mean(sizes) - 400) < 15 and 45 < np.std(sizes) < 75


def test_simulate_reads__qualities_are_honest(reference, sequences, tmp_path):
    pop = simulate_population(reference, ploidy=2, n_founders=1, n_progeny=0, seed=1)
    none = np.zeros(0, dtype=int)  # no variants: every mismatch is a sequencing error
    clean = dataclasses.replace(
        pop,
        contig=pop.contig[none],
        pos=pop.pos[none],
        ref=[],
        alt=[],
        haplotypes=pop.haplotypes[:, :, none],
    )
    rs = simulate_reads(reference, clean, tmp_path, depth=6, paired=False, seed=3)[0]
    assert rs.fastq2 is None and not (tmp_path / "S001_R2.fastq.gz").exists()
    _, seqs, quals = read_fastq(rs.fastq1)
    aligner = mappy.Aligner(str(reference), preset="sr")
    wrong, expected, n_bases = [], [], 0
    for s, ql in zip(seqs, quals, strict=True):
        hit = next(aligner.map(s), None)
        if hit is None or "N" in s:
            continue
        start = hit.r_st - hit.q_st if hit.strand == 1 else hit.r_st - (len(s) - hit.q_en)
        truth = sequences[hit.ctg][start : start + len(s)]
        if hit.strand == -1:
            truth = revcomp(truth)
        q = phred([ql])
        w = np.frombuffer(s.encode(), np.uint8) != np.frombuffer(truth.encode(), np.uint8)
        wrong.append(w)
        expected.append(10.0 ** (-q / 10))
        n_bases += len(s)
    wrong, expected = np.concatenate(wrong), np.concatenate(expected)
    assert n_bases > 700_000
    assert abs(wrong.mean() / expected.mean() - 1) < 0.1
    low = expected > 0.01  # bases of Q below 20
    assert abs(wrong[low].mean() / expected[low].mean() - 1) < 0.15


def test_simulate_reads__same_seed_same_files(reference, tmp_path):
    pop = simulate_population(reference, ploidy=2, n_founders=2, n_progeny=0, seed=1)
    a = simulate_reads(reference, pop, tmp_path / "a", depth=1, seed=9)
    b = simulate_reads(reference, pop, tmp_path / "b", depth=1, seed=9, samples=["S002"])
    c = simulate_reads(reference, pop, tmp_path / "c", depth=1, seed=10, samples=["S002"])
    assert a[1].fastq1.read_bytes() == b[0].fastq1.read_bytes() != c[0].fastq1.read_bytes()
    assert sorted(p.name for p in (tmp_path / "a").iterdir()) == [
        "S001_R1.fastq.gz", "S001_R2.fastq.gz", "S002_R1.fastq.gz", "S002_R2.fastq.gz",
    ]  # fmt: skip
    with pytest.raises(ValueError, match="not in the population"):
        simulate_reads(reference, pop, tmp_path, samples=["S009"])
    with pytest.raises(ValueError, match="depth must be > 0"):
        simulate_reads(reference, pop, tmp_path, depth=0)
    with pytest.raises(TypeError, match="SimulatedPopulation"):
        simulate_reads(reference, "pop", tmp_path)


def test_simulate_dataset__writes_reference_truth_reads_and_sheet(tmp_path):
    ds = simulate_dataset(tmp_path / "d", ploidy=6, n_samples=6, depth=1, n_contigs=2,
                          contig_length=20_000, seed=3, read_length=100, insert_mean=250)  # fmt: skip
    assert isinstance(ds.population, SimulatedPopulation) and ds.ploidy == 6
    assert sum(m is None for m in ds.population.mothers) == 2  # a third are founders
    assert ds.reference == tmp_path / "d" / "reference.fa" and Path(f"{ds.reference}.fai").is_file()
    assert ds.truth_vcf.name == "truth.vcf.gz" and Path(f"{ds.truth_vcf}.tbi").is_file()
    rows = [line.split("\t") for line in ds.sample_sheet.read_text().splitlines()]
    assert rows[0] == ["sample", "fastq1", "fastq2"] and [r[0] for r in rows[1:]] == ds.samples
    assert all(Path(r[1]).is_file() and Path(r[2]).is_file() for r in rows[1:])
    assert len(read_fastq(ds.read_sets[0].fastq1)[1][0]) == 100
    assert not [p for p in (tmp_path / "d").rglob(".part-*")]
    with pytest.raises(TypeError, match="unexpected options"):
        simulate_dataset(tmp_path / "e", ploidy=2, coverage=3)
