"""Tests of genomics.call: the dosage model, and joint calling of simulated reads.

The reads are made here, from known haplotypes, and written as aligned
records with the CIGARs of their true alignment (SNPs, insertions and
deletions), so the truth of every variant and genotype is known without an
aligner or a read simulator.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pysam
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats

from breedhub.genomics.call import call_variants
from breedhub.genomics.call_dosage import genotype_dosages
from breedhub.genomics.evaluate import compare_to_truth
from breedhub.genomics.exceptions import InputFileError, ToolError

BASES = np.frombuffer(b"ACGT", dtype=np.uint8)
READ_LENGTH = 100


# --------------------------------------------------------------------------
# A small world with a known truth
# --------------------------------------------------------------------------


def random_reference(path: Path, lengths: list[int], rng: np.random.Generator) -> dict[str, str]:
    seqs = {
        f"chr{i + 1}": BASES[rng.integers(0, 4, n)].tobytes().decode()
        for i, n in enumerate(lengths)
    }
    with open(path, "w") as fh:
        for name, seq in seqs.items():
            fh.write(f">{name}\n" + "".join(seq[j : j + 60] + "\n" for j in range(0, len(seq), 60)))
    pysam.faidx(str(path))
    return seqs


def random_variants(seqs: dict[str, str], rng: np.random.Generator, *, spacing: int, n_indels: int):
    """(contig, 0-based position, REF, ALT): SNPs and 1-4 bp indels, about ``spacing`` apart."""
    out = []
    for contig, seq in seqs.items():
        pos = np.arange(120, len(seq) - 150, spacing) + rng.integers(-spacing // 4, spacing // 4, 1)
        indel = np.zeros(pos.size, bool)
        indel[rng.choice(pos.size, size=n_indels, replace=False)] = True
        for p, is_indel in zip(pos.tolist(), indel, strict=True):
            size = int(rng.integers(1, 5))
            if not is_indel:
                ref = seq[p]
                out.append((contig, p, ref, str(rng.choice([b for b in "ACGT" if b != ref]))))
            elif rng.random() < 0.5:  # deletion
                out.append((contig, p, seq[p : p + 1 + size], seq[p]))
            else:  # insertion
                out.append(
                    (contig, p, seq[p], seq[p] + BASES[rng.integers(0, 4, size)].tobytes().decode())
                )
    return out


def haplotype(seq: str, variants, carried) -> tuple[np.ndarray, np.ndarray]:
    """Bases (uint8) of a haplotype and each base's 0-based reference position (-1: inserted)."""
    parts, refpos, last = [], [], 0
    for (_, p, ref, alt), has in zip(variants, carried, strict=True):
        if has:
            parts += [seq[last:p], alt]
            refpos += [np.arange(last, p), np.array([p] + [-1] * (len(alt) - 1))]
            last = p + len(ref)
    parts.append(seq[last:])
    refpos.append(np.arange(last, len(seq)))
    return np.frombuffer("".join(parts).encode(), dtype=np.uint8), np.concatenate(refpos)


def cigar_string(rp: np.ndarray) -> tuple[int, str]:
    """Start and CIGAR of a read whose bases lie at reference positions ``rp``."""
    ops: list[list] = []
    prev = None
    for r in rp.tolist():
        if r < 0:
            op = "I"
        else:
            if prev is not None and r > prev + 1:
                ops.append(["D", r - prev - 1])
            prev, op = r, "M"
        if ops and ops[-1][0] == op:
            ops[-1][1] += 1
        else:
            ops.append([op, 1])
    for end in (0, -1):  # an insertion at either end of a read is soft-clipped
        if ops[end][0] == "I":
            ops[end][0] = "S"
    return int(rp[rp >= 0][0]), "".join(f"{n}{op}" for op, n in ops)


def simulate_bam(
    path: Path, sample: str, seqs, variants, genotype, *, depth, rng, error=0.002
) -> Path:
    """Reads of ``sample`` (genotype: (variants, ploidy) of 0/1), sorted and indexed."""
    ploidy = genotype.shape[1]
    lines = ["@HD\tVN:1.6\tSO:unsorted"]
    lines += [f"@SQ\tSN:{c}\tLN:{len(seq)}" for c, seq in seqs.items()]
    lines.append(f"@RG\tID:{sample}\tSM:{sample}")
    var_contig = np.array([v[0] for v in variants])
    quals = "?" * READ_LENGTH
    for contig in seqs:
        on = np.flatnonzero(var_contig == contig)
        for h in range(ploidy):
            bases, rp = haplotype(seqs[contig], [variants[i] for i in on], genotype[on, h])
            irregular = np.cumsum((rp < 0) | (np.diff(rp, prepend=-1) != 1))
            n = int(depth / ploidy * bases.size / READ_LENGTH)
            starts = rng.integers(0, bases.size - READ_LENGTH, n)
            reads = bases[starts[:, None] + np.arange(READ_LENGTH)]
            wrong = rng.random(reads.shape) < error
            shift = rng.integers(1, 4, wrong.sum())
            reads[wrong] = BASES[(np.searchsorted(BASES, reads[wrong]) + shift) % 4]
            flags = np.where(rng.random(n) < 0.5, 16, 0)
            for i, s in enumerate(starts.tolist()):
                e = s + READ_LENGTH
                if irregular[e - 1] == irregular[s] and rp[s] >= 0:
                    pos, cigar = int(rp[s]), f"{READ_LENGTH}M"
                else:
                    pos, cigar = cigar_string(rp[s:e])
                seq = reads[i].tobytes().decode()
                lines.append(
                    f"{sample}.{contig}.{h}.{i}\t{flags[i]}\t{contig}\t{pos + 1}\t60\t{cigar}\t*\t0\t0\t{seq}\t{quals}\tRG:Z:{sample}"
                )
    sam = path.with_suffix(".sam")
    sam.write_text("\n".join(lines) + "\n")
    pysam.sort("-o", str(path), str(sam))
    sam.unlink()
    pysam.index(str(path))
    return path


def write_truth(path: Path, variants, samples, genotypes) -> Path:
    """Truth VCF of the variants some sample carries; genotypes: (variants, samples, ploidy)."""
    head = ["##fileformat=VCFv4.2", '##FORMAT=<ID=GT,Number=1,Type=String,Description="Genotype">']
    head += [f"##contig=<ID={c}>" for c in dict.fromkeys(v[0] for v in variants)]
    head.append("#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\tFORMAT\t" + "\t".join(samples))
    rows = [
        f"{c}\t{p + 1}\t.\t{ref}\t{alt}\t.\t.\t.\tGT\t"
        + "\t".join("/".join(map(str, sorted(x))) for x in g)
        for (c, p, ref, alt), g in zip(variants, genotypes, strict=True)
        if g.any()
    ]
    path.write_text("\n".join(head + rows) + "\n")
    return path


def make_world(root: Path, *, ploidy, n_samples, depth, lengths, spacing, n_indels, family, seed):
    """Reference, BAMs and truth. ``family``: two parents and their offspring, else a population."""
    rng = np.random.default_rng(seed)
    root.mkdir(parents=True, exist_ok=True)
    reference = root / "ref.fa"
    seqs = random_reference(reference, lengths, rng)
    variants = random_variants(seqs, rng, spacing=spacing, n_indels=n_indels)
    nv = len(variants)
    freq = rng.uniform(0.05, 0.95, (nv, 1, 1))
    if family:
        parents = (rng.random((nv, 2, ploidy)) < freq).astype(np.int8)
        half = ploidy // 2
        kids = np.empty((nv, n_samples - 2, ploidy), np.int8)
        for j in range(2):  # each parent gives half its homologues, drawn without replacement
            order = rng.random((nv, n_samples - 2, ploidy)).argsort(axis=2)[:, :, :half]
            kids[:, :, j * half : (j + 1) * half] = np.take_along_axis(
                np.broadcast_to(parents[:, j : j + 1], kids.shape), order, axis=2
            )
        genotypes = np.concatenate([parents, kids], axis=1)
    else:
        genotypes = (rng.random((nv, n_samples, ploidy)) < freq).astype(np.int8)
    samples = [f"s{i}" for i in range(n_samples)]
    bams = [
        simulate_bam(root / f"{s}.bam", s, seqs, variants, genotypes[:, i], depth=depth, rng=rng)
        for i, s in enumerate(samples)
    ]
    truth = write_truth(root / "truth.vcf", variants, samples, genotypes)
    return {"reference": reference, "bams": bams, "truth": truth, "variants": variants,
            "lengths": dict(zip(seqs, lengths, strict=True)), "root": root}  # fmt: skip


def records(vcf: Path) -> list[str]:
    with pysam.VariantFile(str(vcf)) as vf:
        return [str(r) for r in vf]


@pytest.fixture(scope="module")
def diploid(tmp_path_factory):
    return make_world(tmp_path_factory.mktemp("diploid"), ploidy=2, n_samples=4, depth=20,
                      lengths=[20_000, 12_000], spacing=200, n_indels=6, family=False, seed=11)  # fmt: skip


def whole_contigs(world):
    return [f"{c}:1-{n}" for c, n in world["lengths"].items()]


@pytest.fixture(scope="module")
def diploid_calls(diploid):
    out = diploid["root"] / "out" / "calls.vcf.gz"
    return call_variants(
        diploid["bams"], diploid["reference"], out, ploidy=2, regions=whole_contigs(diploid)
    )


@pytest.fixture(scope="module")
def hexaploid(tmp_path_factory):
    return make_world(tmp_path_factory.mktemp("hexaploid"), ploidy=6, n_samples=8, depth=60,
                      lengths=[8_000, 5_000], spacing=70, n_indels=5, family=True, seed=6)  # fmt: skip


# --------------------------------------------------------------------------
# genotype_dosages
# --------------------------------------------------------------------------


def test_genotype_dosages__hand_worked_tetraploid():
    # One site, tetraploid, 60 reads a sample; the reads say 0, 1, 2, 3, 4 doses plainly.
    ref = [[60, 45, 30, 15, 0, 0]]
    alt = [[0, 15, 30, 45, 60, 0]]
    calls = genotype_dosages(ref, alt, ploidy=4, error=0.01, overdispersion=0.02)
    assert calls.dosage.tolist() == [[0, 1, 2, 3, 4, -1]]
    # GQ = min(99, round(-10 log10(1 - max posterior))), -1 without reads.
    best = calls.posterior[0, :5].max(axis=1)
    assert calls.gq[0].tolist() == [
        *np.minimum(99, np.round(-10 * np.log10(1 - best))).astype(int),
        -1,
    ]
    assert calls.error == 0.01 and calls.overdispersion == 0.02
    # The likelihood is the beta-binomial with mean p_k = (k/4)(1 - e) + (1 - k/4) e and
    # intra-class correlation rho: alpha + beta = (1 - rho) / rho (scipy as reference).
    k = np.arange(5) / 4
    p = k * 0.99 + (1 - k) * 0.01
    c = 0.98 / 0.02
    for i, (r, a) in enumerate(zip(ref[0][:5], alt[0][:5], strict=True)):
        expected = stats.betabinom.logpmf(a, r + a, p * c, (1 - p) * c)
        got = calls.log_likelihood[0, i]
        np.testing.assert_allclose(got - got.max(), expected - expected.max(), atol=1e-9)
        # Bayes: posterior proportional to prior x likelihood.
        post = calls.prior[0] * np.exp(expected - expected.max())
        np.testing.assert_allclose(calls.posterior[0, i], post / post.sum(), atol=1e-9)
    # A sample without reads keeps the prior; QUAL is -10 log10 P(every dosage is 0).
    np.testing.assert_allclose(calls.posterior[0, 5], calls.prior[0])
    expected_qual = min(999.0, -10 * np.log10(calls.posterior[0, :5, 0]).sum())
    assert calls.qual[0] == pytest.approx(expected_qual)
    assert calls.posterior.sum(axis=2) == pytest.approx(1.0)
    gt = calls.genotype_calls()
    assert gt.shape == (1, 6, 4)
    assert gt[0, 2].tolist() == [0, 0, 1, 1] and gt[0, 5].tolist() == [-1] * 4


def test_genotype_dosages__hand_worked_diploid_binomial():
    # overdispersion 0 is a binomial: with error 0.01, 10 reference reads give likelihoods
    # 0.99^10, 0.5^10 and 0.01^10 for dosages 0, 1, 2.
    calls = genotype_dosages([[10, 5]], [[0, 5]], ploidy=2, error=0.01, overdispersion=0.0)
    ll = calls.log_likelihood[0, 0]
    np.testing.assert_allclose(ll - ll[0], 10 * np.log([1, 0.5 / 0.99, 0.01 / 0.99]))
    assert calls.dosage.tolist() == [[0, 1]]


def simulate_model(rng, n_sites, n_samples, ploidy, depth, rho, error):
    """Dosages of full-sib families whose parents come from a U-shaped spectrum, and reads."""
    f = rng.beta(0.5, 0.5, (n_sites, 1))
    parents = rng.binomial(ploidy, f, size=(n_sites, 2))
    kids = sum(
        rng.hypergeometric(
            parents[:, [j]], ploidy - parents[:, [j]], ploidy // 2, size=(n_sites, n_samples - 2)
        )
        for j in range(2)
    )
    dosage = np.concatenate([parents, kids], axis=1)
    n = rng.poisson(depth, size=dosage.shape)
    p = dosage / ploidy * (1 - error) + (1 - dosage / ploidy) * error
    c = (1 - rho) / rho
    alt = rng.binomial(n, rng.beta(p * c, (1 - p) * c))
    return dosage, n - alt, alt


def test_genotype_dosages__recovers_simulated_hexaploid():
    rng = np.random.default_rng(2024)
    dosage, ref, alt = simulate_model(rng, 500, 40, 6, depth=60, rho=0.01, error=0.005)
    calls = genotype_dosages(ref, alt, ploidy=6, error=None)
    accuracy = (calls.dosage == dosage).mean()
    assert accuracy >= 0.9
    assert 0.005 < calls.overdispersion < 0.02 and 0.003 < calls.error < 0.008
    # Close to an oracle that knows the parameters and each site's dosage distribution.
    p = np.arange(7) / 6 * 0.995 + (1 - np.arange(7) / 6) * 0.005
    c = 0.99 / 0.01
    ll = stats.betabinom.logpmf(alt[..., None], (ref + alt)[..., None], p * c, (1 - p) * c)
    truth_prior = np.stack([(dosage == k).mean(axis=1) for k in range(7)], axis=1) + 1e-9
    oracle = ((ll + np.log(truth_prior)[:, None, :]).argmax(axis=2) == dosage).mean()
    assert accuracy >= oracle - 0.02
    # The flexible prior suits families better than Hardy-Weinberg.
    hw = genotype_dosages(ref, alt, ploidy=6, error=None, prior="hw")
    assert accuracy >= (hw.dosage == dosage).mean()


@settings(max_examples=25, deadline=None)
@given(
    ploidy=st.integers(1, 8),
    depths=st.lists(st.tuples(st.integers(0, 40), st.integers(0, 40)), min_size=6, max_size=6),
    prior=st.sampled_from(["flex", "hw"]),
)
def test_genotype_dosages__calls_are_well_formed(ploidy, depths, prior):
    d = np.array(depths).reshape(2, 3, 2)
    calls = genotype_dosages(d[..., 0], d[..., 1], ploidy=ploidy, overdispersion=0.01, prior=prior)
    assert calls.posterior.shape == (2, 3, ploidy + 1)
    np.testing.assert_allclose(calls.posterior.sum(axis=2), 1.0)
    gt = calls.genotype_calls()
    called = calls.dosage >= 0
    assert gt.shape == (2, 3, ploidy)  # GT length == ploidy
    assert ((gt == 0).sum(axis=2) + (gt == 1).sum(axis=2) == ploidy)[called].all()
    assert ((gt == 1).sum(axis=2) == calls.dosage)[called].all()
    assert (called == (d.sum(axis=2) > 0)).all() and (gt[~called] == -1).all()
    assert ((calls.gq >= 0) & (calls.gq <= 99))[called].all() and (calls.qual >= 0).all()


@pytest.mark.parametrize(
    "kwargs, error",
    [
        ({"ref_depth": [1, 2], "alt_depth": [1, 2]}, ValueError),
        ({"ref_depth": [[1, 2]], "alt_depth": [[1, 2, 3]]}, ValueError),
        ({"ref_depth": [[1, -2]], "alt_depth": [[1, 2]]}, ValueError),
        ({"ref_depth": [[1.5, 2]], "alt_depth": [[1, 2]]}, ValueError),
        ({"ref_depth": [["a"]], "alt_depth": [[1]]}, TypeError),
        ({"ploidy": 0}, ValueError),
        ({"ploidy": 2.0}, TypeError),
        ({"ploidy": True}, TypeError),
        ({"prior": "uniform"}, ValueError),
        ({"error": 0.7}, ValueError),
        ({"overdispersion": -0.1}, ValueError),
    ],
)
def test_genotype_dosages__rejects_bad_arguments(kwargs, error):
    args = {"ref_depth": [[10, 0]], "alt_depth": [[0, 10]], "ploidy": 4} | kwargs
    with pytest.raises(error):
        genotype_dosages(args.pop("ref_depth"), args.pop("alt_depth"), **args)


# --------------------------------------------------------------------------
# call_variants
# --------------------------------------------------------------------------


def test_call_variants__diploid_finds_snps_indels_and_genotypes(diploid, diploid_calls):
    out = diploid_calls
    assert out.name == "calls.vcf.gz" and Path(str(out) + ".tbi").is_file()
    assert sorted(p.name for p in out.parent.iterdir()) == ["calls.vcf.gz", "calls.vcf.gz.tbi"]
    with pysam.VariantFile(str(out)) as vf:
        assert list(vf.header.samples) == ["s0", "s1", "s2", "s3"]
        assert {"AD", "DP", "GQ", "PL", "GT"} <= set(vf.header.formats)
        assert "breedhub_call" in str(vf.header)
        assert all(len(r.samples[0]["GT"]) == 2 for r in vf)
    result = compare_to_truth(out, diploid["truth"], diploid["reference"], ploidy=2).to_dict()
    assert result["snp_recall"] >= 0.98 and result["snp_precision"] >= 0.98
    assert result["n_true_indel"] >= 4 and result["indel_recall"] >= 0.75
    assert result["genotype_concordance_snp"] >= 0.97


def boundary_regions(world, n_cuts=10):
    """Regions cut at variants: some end on a variant, some start on one, some split an indel."""
    by_contig: dict[str, list[int]] = {}
    for i, (contig, p, ref, _) in enumerate(
        world["variants"][:: max(1, len(world["variants"]) // n_cuts)]
    ):
        # 1-based VCF position p + 1: end a region on it, just before it, or inside a deletion.
        cut = p + 1 if i % 3 == 0 else p if i % 3 == 1 else p + 1 + max(0, len(ref) - 2)
        by_contig.setdefault(contig, []).append(cut)
    regions = []
    for contig, length in world["lengths"].items():
        start = 1
        for cut in sorted(set(by_contig.get(contig, []))):
            if start <= cut < length:
                regions.append(f"{contig}:{start}-{cut}")
                start = cut + 1
        regions.append(f"{contig}:{start}-{length}")
    return regions


def test_call_variants__scatter_gather_equals_one_region(diploid, diploid_calls, tmp_path):
    cuts = boundary_regions(diploid)
    many = call_variants(diploid["bams"], diploid["reference"], tmp_path / "many.vcf.gz", ploidy=2,
                         regions=cuts, threads=2)  # fmt: skip
    assert len(cuts) >= 10
    a, b = records(diploid_calls), records(many)
    assert len(a) > 100 and a == b
    keys = [tuple(r.split("\t")[:5]) for r in b]
    assert len(keys) == len(set(keys))  # nothing twice at a boundary
    assert sorted(p.name for p in tmp_path.iterdir()) == ["many.vcf.gz", "many.vcf.gz.tbi"]


def test_call_variants__hexaploid_dosage_caller(hexaploid, tmp_path):
    one = call_variants(hexaploid["bams"], hexaploid["reference"], tmp_path / "one.vcf.gz",
                        ploidy=6, regions=whole_contigs(hexaploid))  # fmt: skip
    with pysam.VariantFile(str(one)) as vf:
        assert "dosage" in str(vf.header) and {"AD", "DP", "GQ", "PL"} <= set(vf.header.formats)
        rows = list(vf)
    assert rows and all(len(s["GT"]) == 6 for r in rows for s in r.samples.values())
    assert all(list(s["GT"]) == sorted(s["GT"]) for r in rows for s in r.samples.values())
    assert all(r.qual >= 20 and len(r.alts) == 1 for r in rows)
    result = compare_to_truth(one, hexaploid["truth"], hexaploid["reference"], ploidy=6).to_dict()
    assert result["snp_recall"] >= 0.95 and result["snp_precision"] >= 0.95
    assert result["indel_recall"] >= 0.6
    assert result["dosage_concordance"] >= 0.85
    # Scattered over regions cut at variants, in two processes: the same records.
    many = call_variants(hexaploid["bams"], hexaploid["reference"], tmp_path / "many.vcf.gz",
                         ploidy=6, regions=boundary_regions(hexaploid, n_cuts=6), threads=2)  # fmt: skip
    assert records(many) == records(one)


def test_call_variants__haploid(tmp_path):
    world = make_world(tmp_path / "w", ploidy=1, n_samples=3, depth=12, lengths=[6_000, 4_000],
                       spacing=200, n_indels=2, family=False, seed=3)  # fmt: skip
    out = call_variants(world["bams"], world["reference"], tmp_path / "h.vcf.gz", ploidy=1)
    with pysam.VariantFile(str(out)) as vf:
        assert all(len(s["GT"]) == 1 for r in vf for s in r.samples.values())
    result = compare_to_truth(out, world["truth"], world["reference"], ploidy=1).to_dict()
    assert result["snp_recall"] >= 0.95 and result["genotype_concordance_snp"] >= 0.95


# --------------------------------------------------------------------------
# Inputs that must be refused before any work
# --------------------------------------------------------------------------


def header_only_bam(path: Path, lengths: dict[str, int], *, sample="x", sort_order="coordinate",
                    index=True, read_group=True) -> Path:  # fmt: skip
    header = {
        "HD": {"VN": "1.6", "SO": sort_order},
        "SQ": [{"SN": c, "LN": n} for c, n in lengths.items()],
    }
    if read_group:
        header["RG"] = [{"ID": "rg1", "SM": sample}]
    with pysam.AlignmentFile(str(path), "wb", header=header):
        pass
    if index:
        pysam.index(str(path))
    return path


def test_call_variants__other_reference_is_refused(diploid, tmp_path):
    lengths = dict(diploid["lengths"]) | {"chr2": diploid["lengths"]["chr2"] + 7}
    odd = header_only_bam(tmp_path / "odd.bam", lengths, sample="odd")
    out = tmp_path / "calls.vcf.gz"
    with pytest.raises(InputFileError, match="another reference") as info:
        call_variants([diploid["bams"][0], odd], diploid["reference"], out, ploidy=2)
    assert info.value.path == str(odd) and "chr2" in str(info.value)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["odd.bam", "odd.bam.bai"]
    renamed = header_only_bam(tmp_path / "renamed.bam", {"1": 20_000, "2": 12_000}, sample="r")
    with pytest.raises(InputFileError, match="another reference"):
        call_variants([renamed], diploid["reference"], out, ploidy=2)
    assert not out.exists()


def test_call_variants__missing_index_is_refused(diploid, tmp_path):
    bam = tmp_path / "copy.bam"
    shutil.copy(diploid["bams"][0], bam)
    with pytest.raises(InputFileError, match="no index.*samtools index") as info:
        call_variants([bam], diploid["reference"], tmp_path / "c.vcf.gz", ploidy=2)
    assert info.value.path == str(bam)
    assert not (tmp_path / "c.vcf.gz").exists()


def test_call_variants__failed_piece_leaves_nothing(diploid, tmp_path):
    # A BAM corrupt in the middle passes the header checks; bcftools fails on it.
    data = bytearray(diploid["bams"][1].read_bytes())
    middle = len(data) // 3
    data[middle : middle + 5000] = np.random.default_rng(0).bytes(5000)
    bad = tmp_path / "corrupt.bam"
    bad.write_bytes(bytes(data))
    shutil.copy(str(diploid["bams"][1]) + ".bai", str(bad) + ".bai")
    out = tmp_path / "out" / "calls.vcf.gz"
    with pytest.raises(ToolError, match="mpileup"):
        call_variants([diploid["bams"][0], bad], diploid["reference"], out, ploidy=2,
                      regions=whole_contigs(diploid))  # fmt: skip
    assert list(out.parent.iterdir()) == []


@pytest.mark.parametrize(
    "make, match",
    [
        (lambda p, n: header_only_bam(p, n, sort_order="unsorted"), "not coordinate-sorted"),
        (lambda p, n: header_only_bam(p, n, read_group=False), "read group"),
        (lambda p, n: header_only_bam(p, n, sample="s0"), "sample s0 is also in"),
        (lambda p, n: p.write_bytes(b"not a bam"), "not a readable BAM"),
    ],
)
def test_call_variants__bad_bam_is_refused(diploid, tmp_path, make, match):
    bad = tmp_path / "bad.bam"
    make(bad, diploid["lengths"])
    with pytest.raises(InputFileError, match=match) as info:
        call_variants(
            [diploid["bams"][0], bad], diploid["reference"], tmp_path / "c.vcf.gz", ploidy=2
        )
    assert info.value.path == str(bad)


@pytest.mark.parametrize(
    "kwargs, error, match",
    [
        ({"ploidy": 0}, ValueError, "ploidy"),
        ({"ploidy": 2.0}, TypeError, "ploidy"),
        ({"ploidy": 4, "caller": "bcftools"}, ValueError, "caller='dosage'"),
        ({"caller": "gatk"}, ValueError, "caller"),
        ({"threads": 0}, ValueError, "threads"),
        ({"regions": ["chr1:1-100", "chr1:50-200"]}, ValueError, "overlap"),
        ({"regions": ["chr1:1-99999999"]}, ValueError, "past the end"),
        ({"regions": ["chr9:1-10"]}, ValueError, "no contig"),
        ({"regions": "chr1:1-100"}, TypeError, "list"),
        ({"out": "calls.vcf"}, ValueError, ".vcf.gz"),
    ],
)
def test_call_variants__bad_arguments_are_refused(diploid, tmp_path, kwargs, error, match):
    kwargs = {"ploidy": 2} | kwargs
    out = tmp_path / kwargs.pop("out", "calls.vcf.gz")
    with pytest.raises(error, match=match):
        call_variants(diploid["bams"][:1], diploid["reference"], out, **kwargs)
    assert list(tmp_path.iterdir()) == []
