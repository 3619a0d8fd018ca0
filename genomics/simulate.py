"""Seeded simulation of genotypes, genomes and reads, part of the product (STYLE.md, item 8).

Two simulators live here.

**Pedigree genotypes.** :func:`gene_drop` passes marker haplotypes down a
pedigree for any ploidy: founders are mosaics of a small pool of ancestral
haplotypes (so markers are in linkage disequilibrium and allele frequencies
are U-shaped), and each gamete takes ploidy/2 recombinant chromatids, one from
each of ploidy/2 random bivalents of its parent's homologues (polysomic
inheritance without double reduction; disomic for diploids). Crossovers follow
Haldane's model. Cross types change how an offspring is made: CLONAL copies
its parent, SELF and DOUBLE_HAPLOID use one parent, and inbred lines
(generation F3 or later, or BC..F3 or later) are selfed to near homozygosity
from the F1.

**Sequencing data with known truth.** :func:`simulate_reference` writes a
random genome (with a given GC content, a few microsatellites and homopolymer
runs, one short gap of N per contig); :func:`simulate_population` puts
coalescent founders (msprime, so the allele-frequency spectrum and the
linkage disequilibrium are realistic) on it, with SNPs and short indels, and
makes progeny by meiosis; :func:`write_truth_vcf` writes their genotypes;
:func:`simulate_reads` sequences every sample (paired-end Illumina-like reads
whose base qualities are honest: each base is wrong with probability
10^(-Q/10)). :func:`simulate_dataset` does all of it in one call, for the
benchmarks, the tests, the command line and the demo.

Everything is seeded: the same arguments give the same files, byte for byte.
"""

from __future__ import annotations

import contextlib
import math
import os
import queue
import re
import threading
import zlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

import numpy as np

from breedhub.genomics.exceptions import InputFileError
from breedhub.genomics.files import atomic_output, vcf_index_path


class _Phased:
    """Views of ``haplotypes`` (individuals, ploidy, markers), int8 alleles 0/1."""

    haplotypes: np.ndarray

    @property
    def dosages(self) -> np.ndarray:
        """(individuals, markers) int8 count of allele 1 (ALT)."""
        return self.haplotypes.sum(axis=1, dtype=np.int8)

    @property
    def genotype_calls(self) -> np.ndarray:
        """(markers, individuals, ploidy) GT array in scikit-allel's layout."""
        return np.ascontiguousarray(self.haplotypes.transpose(2, 0, 1))


@dataclass
class GenotypeSimulation(_Phased):
    """Phased genotypes of a simulated population."""

    haplotypes: np.ndarray  # (individuals, ploidy, markers) int8 alleles 0/1
    chrom: np.ndarray  # (markers,) chromosome index, 1-based
    pos_cm: np.ndarray  # (markers,) genetic position in cM
    pos_bp: np.ndarray  # (markers,) physical position
    ids: list[str]


def _generation_selfings(generation: str) -> int:
    """How many selfings after the F1 an 'F6' or 'BC1F4' line had."""
    m = re.search(r"F(\d+)$", generation.strip().upper())
    return max(int(m.group(1)) - 1, 0) if m else 0


class _Meiosis:
    """Gametes of polysomic meiosis (disomic for diploids, none for haploids).

    Each gamete takes ploidy/2 recombinant chromatids, one from each of
    ploidy/2 random bivalents; crossovers fall uniformly along each contig
    (Haldane), ``crossovers[c]`` of them on average on contig ``c``.
    """

    def __init__(
        self,
        ploidy: int,
        bounds: np.ndarray,
        lengths: np.ndarray,
        pos: np.ndarray,
        crossovers: np.ndarray,
        rng: np.random.Generator,
    ) -> None:
        self.ploidy = ploidy
        self.bounds = bounds  # markers of contig c are bounds[c]:bounds[c + 1]
        self.lengths = lengths
        self.pos = pos
        self.crossovers = crossovers
        self.rng = rng

    def _chromatid(self, h1: np.ndarray, h2: np.ndarray) -> np.ndarray:
        out = np.empty_like(h1)
        for c in range(self.lengths.size):
            a, b = self.bounds[c], self.bounds[c + 1]
            n_x = self.rng.poisson(self.crossovers[c])
            cuts = np.sort(self.rng.uniform(0, self.lengths[c], n_x))
            phase = (np.searchsorted(cuts, self.pos[a:b]) + self.rng.integers(0, 2)) % 2
            out[a:b] = np.where(phase == 0, h1[a:b], h2[a:b])
        return out

    def gamete(self, parent: np.ndarray) -> np.ndarray:
        if self.ploidy == 1:
            return parent.copy()
        order = self.rng.permutation(self.ploidy)
        return np.stack(
            [
                self._chromatid(parent[order[2 * i]], parent[order[2 * i + 1]])
                for i in range(self.ploidy // 2)
            ]
        )

    def cross(self, mother: np.ndarray, father: np.ndarray) -> np.ndarray:
        if self.ploidy == 1:
            return mother.copy() if self.rng.random() < 0.5 else father.copy()
        return np.concatenate([self.gamete(mother), self.gamete(father)])

    def doubled(self, parent: np.ndarray) -> np.ndarray:
        if self.ploidy == 1:
            return parent.copy()
        g = self.gamete(parent)
        return np.concatenate([g, g])


class _Dropper(_Meiosis):
    def __init__(
        self, n_markers: int, n_chrom: int, ploidy: int, chrom_cm: float, rng: np.random.Generator
    ):
        if ploidy < 1 or (ploidy > 1 and ploidy % 2):
            raise ValueError(f"ploidy must be 1 or even, not {ploidy}")
        per = np.full(n_chrom, n_markers // n_chrom)
        per[: n_markers % n_chrom] += 1
        self.chrom = np.repeat(np.arange(1, n_chrom + 1), per)
        pos = np.concatenate([np.sort(rng.uniform(0, chrom_cm, size=k)) for k in per])
        lengths = np.full(n_chrom, chrom_cm)
        # one crossover per 100 cM on average
        super().__init__(
            ploidy, np.concatenate([[0], np.cumsum(per)]), lengths, pos, lengths / 100, rng
        )
        self.chrom_cm = chrom_cm
        # Ancestral pool: allele frequencies from a U-shaped spectrum.
        freq = rng.beta(0.4, 0.4, size=n_markers)
        self.pool = (rng.random((30, n_markers)) < freq).astype(np.int8)

    def founder(self) -> np.ndarray:
        hap = np.empty((self.ploidy, self.pos.size), dtype=np.int8)
        for h in range(self.ploidy):
            for c in range(len(self.bounds) - 1):
                a, b = self.bounds[c], self.bounds[c + 1]
                # switch ancestral haplotype every ~20 cM
                cuts = np.sort(
                    self.rng.uniform(0, self.chrom_cm, self.rng.poisson(self.chrom_cm / 20))
                )
                seg = np.searchsorted(cuts, self.pos[a:b])
                src = self.rng.integers(0, len(self.pool), size=len(cuts) + 1)
                hap[h, a:b] = self.pool[src[seg], np.arange(a, b)]
        return hap


def gene_drop(
    ids: Sequence[str],
    mothers: Sequence[str | None],
    fathers: Sequence[str | None],
    *,
    ploidy: int,
    n_markers: int = 2000,
    n_chromosomes: int = 10,
    genome_size_mb: float = 500.0,
    cross_types: Sequence[str] | None = None,
    generations: Sequence[str] | None = None,
    seed: int = 0,
) -> GenotypeSimulation:
    """Drop marker genotypes down a pedigree.

    Parameters
    ----------
    ids, mothers, fathers
        The pedigree; parents must come before their offspring; unknown
        parents are None or "". A parent not in ``ids`` is treated as unknown.
    ploidy
        1, 2, 4, 6, ... homologues per individual.
    cross_types, generations
        BrAPI cross types and generations ("F6", "BC1F4") per individual.

    Returns
    -------
    GenotypeSimulation

    Examples
    --------
    >>> sim = gene_drop(["a", "b", "c"], [None, None, "a"], [None, None, "b"], ploidy=6, n_markers=50)
    >>> sim.haplotypes.shape, int(sim.dosages.max()) <= 6
    ((3, 6, 50), True)
    """
    n = len(ids)
    if not (len(mothers) == len(fathers) == n):
        raise ValueError("ids, mothers and fathers must have the same length")
    if n_markers < n_chromosomes or n_chromosomes < 1:
        raise ValueError("need at least one marker per chromosome")
    rng = np.random.default_rng(seed)
    d = _Dropper(n_markers, n_chromosomes, ploidy, 100.0, rng)
    index: dict[str, int] = {}
    haps = np.empty((n, ploidy, n_markers), dtype=np.int8)
    ctypes = cross_types or [""] * n
    gens = generations or [""] * n
    for i, (ind, mo, fa) in enumerate(zip(ids, mothers, fathers, strict=True)):
        m = index.get(mo) if mo else None
        f = index.get(fa) if fa else None
        ct = (ctypes[i] or "").upper()
        if m is None and f is None:
            hap = d.founder()
        elif ct == "CLONAL":
            hap = haps[m if m is not None else f].copy()
        elif ct == "DOUBLE_HAPLOID":
            hap = d.doubled(haps[m if m is not None else f])
        elif ct == "SELF" or (m is not None and m == f):
            p = haps[m if m is not None else f]
            hap = d.cross(p, p)
        else:
            mother = haps[m] if m is not None else d.founder()
            father = haps[f] if f is not None else d.founder()
            hap = d.cross(mother, father)
            for _ in range(min(_generation_selfings(gens[i]), 8)):
                hap = d.cross(hap, hap)
        haps[i] = hap
        index[ind] = i
    bp_per_chrom = genome_size_mb * 1e6 / n_chromosomes
    pos_bp = (d.pos / 100.0 * bp_per_chrom).astype(np.int64) + 1
    return GenotypeSimulation(haps, d.chrom, d.pos, pos_bp, list(ids))


# ---------------------------------------------------------------------------
# Sequencing data with known truth: reference, population, truth VCF, reads.
# ---------------------------------------------------------------------------

#: Bases are coded 0..3 (A, C, G, T); 4 is any other letter (N, IUPAC codes). Code ^ 3
#: is the complement, and turns N (4) into 7, which also reads as N.
_BASES = np.frombuffer(b"ACGTNNNN", dtype=np.uint8)
_ENCODE = np.full(256, 4, dtype=np.uint8)
for _code, _base in enumerate(b"ACGT"):
    _ENCODE[_base] = _ENCODE[_base + 32] = _code

# Independent random streams for each simulator, so equal seeds do not give
# correlated draws in the reference, the population and the reads.
_SALT_REFERENCE, _SALT_POPULATION, _SALT_READS = 0x52EF, 0x909, 0x2EAD5

_FASTA_WIDTH = 60
_END_MARGIN = 20  # no variant closer than this to a contig end
_MIN_GAP = 10  # at least this many bases between two variants
_INDEL_LENGTH_P = 0.45  # indel lengths are geometric (mean about 2), capped at max_indel
_TARGET_SPACING = 180  # default mutation rate: one segregating site per this many bases
_SELF_FRACTION = 0.2  # share of progeny that are selfs
_CROSSOVERS_PER_CONTIG = 1.0  # mean crossovers per bivalent and contig
_READ_BATCH = 8192  # fragments simulated (and compressed) together


def _check_int(name: str, value: object, *, minimum: int | None = None) -> int:
    if isinstance(value, bool) or not isinstance(value, int | np.integer):
        raise TypeError(f"{name} must be an integer, not {type(value).__name__} {value!r}")
    if minimum is not None and value < minimum:
        raise ValueError(f"{name} must be at least {minimum}, not {value}")
    return int(value)


def _check_float(
    name: str,
    value: object,
    *,
    low: float | None = None,
    high: float | None = None,
    open_low: bool = False,
    open_high: bool = False,
) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float | np.integer | np.floating):
        raise TypeError(f"{name} must be a number, not {type(value).__name__} {value!r}")
    v = float(value)
    bad_low = low is not None and (v <= low if open_low else v < low)
    bad_high = high is not None and (v >= high if open_high else v > high)
    if not math.isfinite(v) or bad_low or bad_high:
        lo = "" if low is None else f"{'>' if open_low else '>='} {low}"
        hi = "" if high is None else f"{'<' if open_high else '<='} {high}"
        raise ValueError(f"{name} must be {' and '.join(s for s in (lo, hi) if s)}, not {value!r}")
    return v


def _check_ploidy(ploidy: object) -> int:
    p = _check_int("ploidy", ploidy, minimum=1)
    if p > 1 and p % 2:
        raise ValueError(
            f"ploidy must be 1 or even (2, 4, 6...), not {p}: meiosis pairs homologues"
        )
    return p


def _check_path(name: str, value: object) -> Path:
    if not isinstance(value, str | os.PathLike):
        raise TypeError(f"{name} must be a path (str or os.PathLike), not {type(value).__name__}")
    return Path(value)


def _read_reference(reference: Path) -> list[tuple[str, np.ndarray]]:
    """(name, base codes) of each contig of a FASTA, in file order (builds the .fai if missing)."""
    import pysam

    if not reference.is_file():
        raise InputFileError(reference, "no such file")
    try:
        with pysam.FastaFile(str(reference)) as fa:
            return [
                (name, _ENCODE[np.frombuffer(fa.fetch(name).encode("ascii"), dtype=np.uint8)])
                for name in fa.references
            ]
    except (OSError, ValueError) as e:  # pysam reports unreadable/unindexable files so
        raise InputFileError(
            reference,
            f"cannot read it as an indexed FASTA ({e}); check it with genomics.reference.check_fasta",
        ) from e


def _write_fasta(fh: IO[bytes], name: str, seq: np.ndarray, width: int = _FASTA_WIDTH) -> None:
    """Write one record of ASCII bases (uint8 array) in lines of ``width``."""
    full = seq.size // width
    body = np.empty((full, width + 1), dtype=np.uint8)
    body[:, :width] = seq[: full * width].reshape(full, width)
    body[:, width] = ord("\n")
    fh.write(b">" + name.encode("ascii") + b"\n")
    fh.write(body.tobytes())
    rest = seq[full * width :]
    if rest.size:
        fh.write(rest.tobytes() + b"\n")


def simulate_reference(
    path: str | os.PathLike[str],
    *,
    n_contigs: int = 3,
    contig_length: int = 200_000,
    gc: float = 0.41,
    seed: int = 0,
) -> Path:
    """Write a random reference genome (FASTA, 60 columns) and its ``.fai``.

    Bases are independent draws with the given GC content; each contig also
    carries about one microsatellite or homopolymer run (8-30 bp) per 10 kb
    and, when it is 20 kb or longer, one gap of 50-200 N in its middle half.
    There are no large repeats, so reads map unambiguously. Contigs are named
    ``chr1``, ``chr2``...

    Parameters
    ----------
    path
        The FASTA to write (through a temporary name); ``path + ".fai"`` too.
    n_contigs, contig_length
        How many contigs, and the length of each (at least 1,000 bp).
    gc
        Expected fraction of G and C, strictly between 0 and 1.
    seed
        Seed of the random generator (a non-negative integer).

    Returns
    -------
    Path
        ``path``.

    Examples
    --------
    >>> import tempfile, pysam
    >>> fa = simulate_reference(Path(tempfile.mkdtemp()) / "ref.fa", n_contigs=2, contig_length=5000)
    >>> ref = pysam.FastaFile(str(fa))
    >>> ref.references, ref.lengths
    (['chr1', 'chr2'], [5000, 5000])
    """
    import pysam

    path = _check_path("path", path)
    n_contigs = _check_int("n_contigs", n_contigs, minimum=1)
    contig_length = _check_int("contig_length", contig_length, minimum=1000)
    gc = _check_float("gc", gc, low=0.0, high=1.0, open_low=True, open_high=True)
    seed = _check_int("seed", seed, minimum=0)

    rng = np.random.default_rng([_SALT_REFERENCE, seed])
    cum = np.cumsum([(1 - gc) / 2, gc / 2, gc / 2])
    with atomic_output(path) as tmp:
        with open(tmp, "wb") as fh:
            for c in range(n_contigs):
                codes = np.empty(contig_length, dtype=np.uint8)
                for b in range(0, contig_length, 1 << 20):  # bounded memory for long contigs
                    u = rng.random(min(1 << 20, contig_length - b))
                    codes[b : b + u.size] = np.searchsorted(cum, u, side="right")
                for _ in range(max(1, contig_length // 10_000)):
                    unit = int(rng.integers(1, 5))
                    size = int(rng.integers(8, 17)) if unit == 1 else int(rng.integers(12, 31))
                    run = np.resize(rng.integers(0, 4, unit).astype(np.uint8), size)
                    start = int(rng.integers(_END_MARGIN, contig_length - _END_MARGIN - size))
                    codes[start : start + size] = run
                if contig_length >= 20_000:
                    gap = int(rng.integers(50, 201))
                    start = int(rng.integers(contig_length // 4, 3 * contig_length // 4))
                    codes[start : start + gap] = 4
                _write_fasta(fh, f"chr{c + 1}", _BASES[codes])
        with atomic_output(f"{path}.fai") as tmp_fai:
            pysam.faidx(str(tmp), "--fai-idx", str(tmp_fai))
    return path


@dataclass
class SimulatedPopulation(_Phased):
    """Phased genotypes of simulated samples at variants with known alleles.

    Attributes
    ----------
    samples
        Sample names, founders first.
    ploidy
        Homologues per sample.
    contig, pos
        (variants,) contig name and 1-based position (VCF convention: the
        anchor base for indels), sorted in reference order.
    ref, alt
        Alleles as in a VCF (biallelic).
    haplotypes
        (samples, ploidy, variants) int8 alleles, 0 (REF) or 1 (ALT).
    mothers, fathers
        Parents of each sample, None for founders (a self has the same name
        twice).
    parameters
        The arguments the population was simulated with (provenance).
    """

    samples: list[str]
    ploidy: int
    contig: np.ndarray
    pos: np.ndarray
    ref: list[str]
    alt: list[str]
    haplotypes: np.ndarray
    mothers: list[str | None]
    fathers: list[str | None]
    parameters: dict[str, Any] = field(default_factory=dict)

    @property
    def n_variants(self) -> int:
        return int(self.pos.size)

    @property
    def is_snp(self) -> np.ndarray:
        """(variants,) True where REF and ALT are single bases."""
        return np.array(
            [len(r) == 1 and len(a) == 1 for r, a in zip(self.ref, self.alt, strict=True)],
            dtype=bool,
        )

    def validate(self) -> None:
        """Check that the arrays agree in shape; raise ValueError if not."""
        n_s, n_v = len(self.samples), self.pos.size
        if self.haplotypes.shape != (n_s, self.ploidy, n_v):
            raise ValueError(
                f"haplotypes must be (samples, ploidy, variants) = {(n_s, self.ploidy, n_v)}, "
                f"not {self.haplotypes.shape}"
            )
        if not (self.contig.size == len(self.ref) == len(self.alt) == n_v):
            raise ValueError("contig, pos, ref and alt must have one entry per variant")
        if not (len(self.mothers) == len(self.fathers) == n_s):
            raise ValueError("mothers and fathers must have one entry per sample")
        if len(set(self.samples)) != n_s:
            raise ValueError("sample names must be unique")


def _sites_to_variants(
    seq: np.ndarray,
    sites: np.ndarray,
    rng: np.random.Generator,
    *,
    indel_fraction: float,
    max_indel: int,
) -> tuple[np.ndarray, np.ndarray, list[str], list[str]]:
    """Turn segregating sites (0-based) into SNPs and indels on ``seq``.

    Returns the indexes of the sites kept, their 0-based anchor positions and
    their REF and ALT alleles. Deletions are left-aligned and insertions are
    drawn so they cannot shift left, so every indel is normalised as
    ``bcftools norm`` would write it.
    """
    n, length = sites.size, seq.size
    is_indel = rng.random(n) < indel_fraction
    is_ins = is_indel & (rng.random(n) < 0.5)
    is_del = is_indel & ~is_ins
    size = np.minimum(rng.geometric(_INDEL_LENGTH_P, n), max_indel)
    kind = rng.random(n)  # transition 2/3, each transversion 1/6
    inserted = rng.integers(0, 4, (n, max_indel), dtype=np.uint8)
    other = rng.integers(1, 4, n, dtype=np.uint8)
    pos = sites.astype(np.int64).copy()
    p: int | np.ndarray  # the anchor being left-aligned, then the anchors of the sites kept
    for i in np.flatnonzero(is_del):  # left-align: one loop per deletion, not per base
        p, d = int(pos[i]), int(size[i])
        while p > 0 and p + d < length and seq[p] < 4 and seq[p] == seq[p + d]:
            p -= 1
        pos[i] = p
    ref_len = np.where(is_del, size + 1, 1)
    end = pos + ref_len - 1
    n_count = np.concatenate([[0], np.cumsum(seq >= 4)])
    ok = (pos >= _END_MARGIN) & (end < length - _END_MARGIN)
    ok &= n_count[np.minimum(end, length - 1) + 1] == n_count[pos]
    idx = np.flatnonzero(ok)
    idx = idx[np.argsort(pos[idx], kind="stable")]
    p, e = pos[idx], end[idx]
    close = np.zeros(idx.size, dtype=bool)
    if idx.size > 1:
        near = p[1:] - np.maximum.accumulate(e)[:-1] <= _MIN_GAP
        close[1:] |= near
        close[:-1] |= near
    idx = idx[~close]

    refb = seq[pos[idx]]
    transition = refb ^ 2
    transversion = np.where(kind[idx] < 5 / 6, refb ^ 1, refb ^ 3)
    snp_alt = np.where(kind[idx] < 2 / 3, transition, transversion)
    last = (refb + other[idx]) % 4  # an insertion never ends with its anchor base
    ref: list[str] = []
    alt: list[str] = []
    for j, i in enumerate(idx):
        a, k = int(pos[i]), int(size[i])
        anchor = chr(_BASES[refb[j]])
        if is_del[i]:
            ref.append(_BASES[seq[a : a + k + 1]].tobytes().decode())
            alt.append(anchor)
        elif is_ins[i]:
            ins = inserted[i, :k].copy()
            ins[-1] = last[j]
            ref.append(anchor)
            alt.append(anchor + _BASES[ins].tobytes().decode())
        else:
            ref.append(anchor)
            alt.append(chr(_BASES[snp_alt[j]]))
    return idx, pos[idx], ref, alt


def _default_mutation_rate(ploidy: int, n_founders: int, population_size: int) -> float:
    # Expected segregating sites per base: a_n * theta, theta = 2 * ploidy * N * mu
    # (msprime's time scale is ploidy * N generations).
    a_n = sum(1.0 / i for i in range(1, n_founders * ploidy))
    return 1.0 / (_TARGET_SPACING * a_n * 2 * ploidy * population_size)


def simulate_population(
    reference: str | os.PathLike[str],
    *,
    ploidy: int,
    n_founders: int = 6,
    n_progeny: int = 14,
    seed: int = 0,
    population_size: int = 10_000,
    mutation_rate: float | None = None,
    recombination_rate: float = 1e-8,
    indel_fraction: float = 0.12,
    max_indel: int = 8,
) -> SimulatedPopulation:
    """Simulate founders by the coalescent on a reference, and progeny by meiosis.

    Founders are ``n_founders`` individuals sampled from a population of
    constant size (msprime's ``sim_ancestry`` and ``sim_mutations`` per
    contig), so allele frequencies follow the neutral spectrum and nearby
    variants are in linkage disequilibrium. Each segregating site becomes a
    SNP (transitions twice as likely as transversions) or, with probability
    ``indel_fraction``, an insertion of random bases or a deletion of
    reference bases, 1 to ``max_indel`` bp (geometric lengths, mean about 2).
    Variants are biallelic, normalised (indels left-aligned), at least 10 bp
    apart, 20 bp or more from contig ends and never on an N; sites that break
    these rules are dropped. Progeny are crosses of two random founders, or
    (one in five) selfs: each parent gives a gamete of ploidy/2 homologues,
    one recombinant chromatid from each of ploidy/2 random bivalents, with a
    Poisson number (mean 1) of crossovers per contig. A haploid (ploidy 1)
    offspring copies one of its parents.

    Parameters
    ----------
    reference
        FASTA of the genome (indexed, or indexable by ``pysam``).
    ploidy
        1 or an even number of homologues per sample.
    n_founders, n_progeny
        Sample counts; samples are named ``S001``, ``S002``..., founders first.
    seed
        Seed (non-negative integer); the same arguments give the same population.
    population_size
        Effective population size of the founders' population (individuals).
    mutation_rate
        Per base and generation; None chooses one that gives about one
        segregating site per 180 bp among the founders (one variant per
        about 200 bp once conflicting sites are dropped), whatever the ploidy.
    recombination_rate
        Per base and generation, for the founders' history.
    indel_fraction, max_indel
        Share of sites that become indels, and their longest length.

    Returns
    -------
    SimulatedPopulation

    References
    ----------
    Baumdicker F. et al. (2022) Efficient ancestry and mutation simulation
    with msprime 1.0. Genetics 220: iyab229.

    Examples
    --------
    >>> import tempfile
    >>> fa = simulate_reference(Path(tempfile.mkdtemp()) / "ref.fa", n_contigs=1, contig_length=20_000)
    >>> pop = simulate_population(fa, ploidy=4, n_founders=3, n_progeny=2, seed=1)
    >>> pop.samples, pop.haplotypes.shape[:2], pop.mothers[3] is not None
    (['S001', 'S002', 'S003', 'S004', 'S005'], (5, 4), True)
    >>> 50 < pop.n_variants < 200 and int(pop.dosages.max()) <= 4
    True
    """
    import msprime

    reference = _check_path("reference", reference)
    ploidy = _check_ploidy(ploidy)
    n_founders = _check_int("n_founders", n_founders, minimum=1)
    n_progeny = _check_int("n_progeny", n_progeny, minimum=0)
    seed = _check_int("seed", seed, minimum=0)
    population_size = _check_int("population_size", population_size, minimum=1)
    if n_founders * ploidy < 2:
        raise ValueError(
            "n_founders * ploidy must be at least 2 (one haploid founder has no variants)"
        )
    if mutation_rate is None:
        mutation_rate = _default_mutation_rate(ploidy, n_founders, population_size)
    mutation_rate = _check_float("mutation_rate", mutation_rate, low=0.0, open_low=True)
    recombination_rate = _check_float("recombination_rate", recombination_rate, low=0.0)
    indel_fraction = _check_float("indel_fraction", indel_fraction, low=0.0, high=1.0)
    max_indel = _check_int("max_indel", max_indel, minimum=1)
    contigs = _read_reference(reference)

    rng = np.random.default_rng([_SALT_POPULATION, seed])
    contig_names: list[np.ndarray] = []
    positions: list[np.ndarray] = []
    refs: list[str] = []
    alts: list[str] = []
    founder_haps: list[np.ndarray] = []
    for name, seq in contigs:
        length = seq.size
        seeds = rng.integers(1, 2**31 - 1, size=2)
        ts = msprime.sim_ancestry(
            samples=n_founders,
            ploidy=ploidy,
            population_size=population_size,
            sequence_length=length,
            recombination_rate=recombination_rate,
            random_seed=int(seeds[0]),
        )
        ts = msprime.sim_mutations(
            ts,
            rate=mutation_rate,
            model=msprime.BinaryMutationModel(),
            discrete_genome=True,
            random_seed=int(seeds[1]),
        )
        column = {int(node): j for j, node in enumerate(ts.samples())}
        nodes = [column[int(node)] for ind in ts.individuals() for node in ind.nodes]
        gt = ts.genotype_matrix()[:, nodes].reshape(ts.num_sites, n_founders, ploidy)
        sites = ts.tables.sites.position.astype(np.int64)
        polymorphic = (gt.min(axis=(1, 2)) == 0) & (gt.max(axis=(1, 2)) == 1)
        gt, sites = gt[polymorphic], sites[polymorphic]
        idx, pos0, ref, alt = _sites_to_variants(
            seq, sites, rng, indel_fraction=indel_fraction, max_indel=max_indel
        )
        contig_names.append(np.full(idx.size, name))
        positions.append(pos0 + 1)
        refs += ref
        alts += alt
        founder_haps.append(gt[idx].astype(np.int8).transpose(1, 2, 0))

    pos = np.concatenate(positions).astype(np.int64)
    founders = np.concatenate(founder_haps, axis=2)
    counts = np.array([p.size for p in positions])
    meiosis = _Meiosis(
        ploidy,
        np.concatenate([[0], np.cumsum(counts)]),
        np.array([seq.size for _, seq in contigs]),
        pos,
        np.full(len(contigs), _CROSSOVERS_PER_CONTIG),
        rng,
    )
    n = n_founders + n_progeny
    width = max(3, len(str(n)))
    samples = [f"S{i + 1:0{width}d}" for i in range(n)]
    mothers: list[str | None] = [None] * n_founders
    fathers: list[str | None] = [None] * n_founders
    haps = np.empty((n, ploidy, pos.size), dtype=np.int8)
    haps[:n_founders] = founders
    for i in range(n_founders, n):
        if n_founders == 1 or rng.random() < _SELF_FRACTION:
            m = f = int(rng.integers(n_founders))
        else:
            m, f = (int(x) for x in rng.choice(n_founders, size=2, replace=False))
        haps[i] = meiosis.cross(haps[m], haps[f])
        mothers.append(samples[m])
        fathers.append(samples[f])
    parameters = {
        "reference": str(reference),
        "ploidy": ploidy,
        "n_founders": n_founders,
        "n_progeny": n_progeny,
        "seed": seed,
        "population_size": population_size,
        "mutation_rate": mutation_rate,
        "recombination_rate": recombination_rate,
        "indel_fraction": indel_fraction,
        "max_indel": max_indel,
    }
    return SimulatedPopulation(
        samples=samples,
        ploidy=ploidy,
        contig=np.concatenate(contig_names) if contig_names else np.array([], dtype=str),
        pos=pos,
        ref=refs,
        alt=alts,
        haplotypes=haps,
        mothers=mothers,
        fathers=fathers,
        parameters=parameters,
    )


def _check_population(population: object) -> SimulatedPopulation:
    if not isinstance(population, SimulatedPopulation):
        raise TypeError(
            f"population must be a SimulatedPopulation (from simulate_population), "
            f"not {type(population).__name__}"
        )
    population.validate()
    return population


def _reference_contigs(reference: Path) -> dict[str, int]:
    import pysam

    if not reference.is_file():
        raise InputFileError(reference, "no such file")
    try:
        with pysam.FastaFile(str(reference)) as fa:
            return dict(zip(fa.references, fa.lengths, strict=True))
    except (OSError, ValueError) as e:
        raise InputFileError(reference, f"cannot read it as an indexed FASTA ({e})") from e


def write_truth_vcf(
    population: SimulatedPopulation,
    reference: str | os.PathLike[str],
    path: str | os.PathLike[str],
) -> Path:
    """Write the population's phased genotypes as a bgzipped, indexed VCF.

    The header has one ``##contig`` line (with its length) per contig of the
    reference, and the parameters of the simulation; records are sorted by
    contig (in reference order) and position, with phased GT of the
    population's ploidy. The tabix index (``.tbi``; ``.csi`` for contigs
    longer than 2^29 bp) is written beside it.

    Parameters
    ----------
    population
        From :func:`simulate_population`.
    reference
        The FASTA the population was simulated on.
    path
        The VCF to write, normally ending in ``.vcf.gz``.

    Returns
    -------
    Path
        ``path``.

    Examples
    --------
    >>> import tempfile, pysam
    >>> d = Path(tempfile.mkdtemp())
    >>> fa = simulate_reference(d / "ref.fa", n_contigs=1, contig_length=20_000)
    >>> pop = simulate_population(fa, ploidy=6, n_founders=2, n_progeny=1)
    >>> vcf = pysam.VariantFile(str(write_truth_vcf(pop, fa, d / "truth.vcf.gz")))
    >>> rec = next(vcf.fetch("chr1"))
    >>> len(rec.samples["S003"]["GT"]), rec.pos == int(pop.pos[0])
    (6, True)
    """
    import json

    import pysam

    from breedhub.base.version import __version__

    population = _check_population(population)
    reference = _check_path("reference", reference)
    path = _check_path("path", path)
    lengths = _reference_contigs(reference)
    unknown = sorted(set(population.contig.tolist()) - set(lengths))
    if unknown:
        raise ValueError(
            f"population has variants on contigs {unknown} that {reference} lacks; "
            "pass the reference the population was simulated on"
        )
    rank = {name: i for i, name in enumerate(lengths)}
    # numpy's stub takes no tuple mixing an array and a list, which lexsort accepts
    order = np.lexsort((population.pos, [rank[c] for c in population.contig.tolist()]))  # type: ignore[arg-type]
    params = json.dumps(population.parameters, sort_keys=True, default=str)
    header = [
        "##fileformat=VCFv4.2",
        f"##source=breedhub {__version__} genomics.simulate",
        f"##reference=file://{reference.resolve()}",
        *(f"##contig=<ID={name},length={n}>" for name, n in lengths.items()),
        '##FORMAT=<ID=GT,Number=1,Type=String,Description="Genotype">',
        f"##breedhubSimulation={params}",
        "\t".join(["#CHROM", "POS", "ID", "REF", "ALT", "QUAL", "FILTER", "INFO", "FORMAT"])
        + "".join("\t" + s for s in population.samples),
    ]
    ploidy, n_samples, n_var = population.ploidy, len(population.samples), order.size
    # Each sample's GT takes 2 * ploidy bytes: alleles, '|' between, a tab (or newline) after.
    block = np.full((n_var, n_samples, 2 * ploidy), ord("|"), dtype=np.uint8)
    block[:, :, 0::2] = ord("0") + population.haplotypes[:, :, order].transpose(2, 0, 1)
    block[:, :, -1] = ord("\t")
    block[:, -1, -1] = ord("\n")
    width = n_samples * 2 * ploidy
    genotypes = memoryview(block.tobytes())
    chunks: list[bytes | memoryview] = ["\n".join(header).encode() + b"\n"]
    contig, pos, ref, alt = population.contig, population.pos, population.ref, population.alt
    for row, i in enumerate(order):
        chunks.append(f"{contig[i]}\t{pos[i]}\t.\t{ref[i]}\t{alt[i]}\t.\tPASS\t.\tGT\t".encode())
        chunks.append(genotypes[row * width : (row + 1) * width])
    csi = max(lengths.values(), default=0) >= 2**29
    with atomic_output(path) as tmp:
        # pysam's stub makes mode and index required; both default to None at runtime
        out = pysam.BGZFile(str(tmp), "wb")  # type: ignore[call-arg]
        try:
            out.write(b"".join(chunks))
        finally:
            out.close()
    with atomic_output(vcf_index_path(path, csi)) as tmp_index:
        pysam.tabix_index(str(path), preset="vcf", force=True, csi=csi, index=str(tmp_index))
    return path


@dataclass(frozen=True)
class ReadSet:
    """The FASTQ files of one sample (``fastq2`` is None for single-end reads)."""

    sample: str
    fastq1: Path
    fastq2: Path | None


class _GzipWriter:
    """gzip output for FASTQ, compressed in a background thread.

    Deflate at level 1 with Huffman coding only: random sequence and noisy
    qualities have no long matches, so this compresses as well as plain
    level 1 and about half as fast again. The header has no name and no
    time, so seeded files are identical. zlib releases the GIL, so the
    compression overlaps the simulation of the next batch of reads.
    """

    def __init__(self, path: Path) -> None:
        self._raw = open(path, "wb")  # noqa: SIM115 (closed in close())
        self._zip = zlib.compressobj(1, zlib.DEFLATED, 31, 9, zlib.Z_HUFFMAN_ONLY)
        self._queue: queue.Queue[memoryview | None] = queue.Queue(maxsize=4)
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while (chunk := self._queue.get()) is not None:
            if self._error is None:
                try:
                    self._raw.write(self._zip.compress(chunk))
                except BaseException as e:  # re-raised in the caller's thread
                    self._error = e

    def write(self, data: memoryview) -> None:
        if self._error is not None:
            raise self._error
        self._queue.put(data)

    def close(self) -> None:
        self._queue.put(None)
        self._thread.join()
        try:
            if self._error is None:
                self._raw.write(self._zip.flush())
        finally:
            self._raw.close()
        if self._error is not None:
            raise self._error


# Quality noise is Binomial(8, 1/2) - 4 (sd 1.4), the bit count of a random byte; a
# byte of 0 (one base in 256) is a dip to Q5-15 instead.
_POPCOUNT = np.array([bin(i).count("1") for i in range(256)], dtype=np.uint8)
_bit_count = getattr(np, "bitwise_count", lambda a: _POPCOUNT[a])  # numpy >= 2 has it
_MIN_Q, _MAX_Q, _N_Q = 2, 41, 2
# Errors: a base of quality Q is wrong with probability 10^(-Q/10). Bases of Q20 or
# more are wrong at most 1% of the time, so only a random 1% of them (the bases whose
# uniform uint16 would be below _CANDIDATE) are tested; all bases below Q20 are. A
# uint16 below the whole part of 65536 p is an error; one equal to it is an error
# with the probability of the fractional part.
_LOW_Q = 20
_CANDIDATE = 656  # > 65536 * 10^(-2)
_ERROR_SCALED = 10.0 ** (-np.arange(64) / 10.0) * 65536.0
_ERROR_WHOLE = np.floor(_ERROR_SCALED).astype(np.int64)
_ERROR_FRACTION = _ERROR_SCALED - _ERROR_WHOLE
_COMPLEMENT = np.arange(256, dtype=np.uint8)
_COMPLEMENT[np.frombuffer(b"ACGTacgt", dtype=np.uint8)] = np.frombuffer(b"TGCAtgca", dtype=np.uint8)


def _quality_curve(read_length: int, second: bool) -> np.ndarray:
    """Mean Phred quality along a read: about 37.5 at the start, 27.5 at the end."""
    x = np.arange(read_length) / max(read_length - 1, 1)
    return np.rint(37.5 - 10.0 * x**2 - (1.0 if second else 0.0)).astype(np.int16)


def _qualities(n: int, read_length: int, rng: np.random.Generator, *, second: bool) -> np.ndarray:
    """(n, read_length) int16 Phred scores of Illumina-like reads.

    The mean decays from about 37.5 to 27.5 along the read (one lower for
    read 2); each read has its own offset (sd 1) and each base its own noise
    (sd 1.4); about one base in 256 dips to Q5-15, and 3% of reads lose
    quality (Q8-15) from a random point in their second half.
    """
    noise = np.frombuffer(rng.bytes(n * read_length), dtype=np.uint8).reshape(n, read_length)
    offset = np.rint(rng.normal(0.0, 1.0, (n, 1))).astype(np.int16) - 4
    q = _quality_curve(read_length, second) + offset + _bit_count(noise)
    dip = np.flatnonzero(noise == 0)
    q.flat[dip] = rng.integers(5, 16, dip.size, dtype=np.int16)
    bad = np.flatnonzero(rng.random(n) < 0.03)
    if bad.size:
        tail = np.arange(read_length) >= rng.integers(read_length // 2, read_length, (bad.size, 1))
        floor = rng.integers(8, 16, (bad.size, 1), dtype=np.int16)
        q[bad] = np.where(tail, np.minimum(q[bad], floor), q[bad])
    return np.clip(q, _MIN_Q, _MAX_Q, out=q)


def _add_errors(seq: np.ndarray, q: np.ndarray, rng: np.random.Generator) -> None:
    """Make each base wrong with probability 10^(-Q/10), in place; N gets Q2.

    ``seq`` is an (n, length) view of ASCII bases, ``q`` their qualities.
    """
    length = seq.shape[1]
    unknown = np.flatnonzero(seq == ord("N"))
    q.flat[unknown] = _N_Q
    flat_q = q.ravel()
    low = np.flatnonzero(flat_q < _LOW_Q)
    candidate = rng.choice(
        flat_q.size, rng.binomial(flat_q.size, _CANDIDATE / 65536), replace=False
    )
    candidate = candidate[flat_q[candidate] >= _LOW_Q]
    index = np.concatenate([candidate, low])
    u = np.concatenate(
        [rng.integers(0, _CANDIDATE, candidate.size), rng.integers(0, 65536, low.size)]
    )
    whole = _ERROR_WHOLE[flat_q[index]]
    wrong = u < whole
    tie = np.flatnonzero(u == whole)
    wrong[tie] = rng.random(tie.size) < _ERROR_FRACTION[flat_q[index[tie]]]
    row, col = np.divmod(index[wrong], length)
    code = _ENCODE[seq[row, col]]
    keep = code < 4  # an N stays N
    row, col, code = row[keep], col[keep], code[keep]
    seq[row, col] = _BASES[(code + rng.integers(1, 4, code.size, dtype=np.uint8)) % 4]


def _fastq_batch(
    prefix: bytes,
    first: int,
    windows: np.ndarray,
    starts: np.ndarray,
    rng: np.random.Generator,
    *,
    second: bool,
) -> np.ndarray:
    """FASTQ records of the reads at ``windows[starts]``, named ``prefix`` + 1-based number.

    Every number of a batch has as many digits as ``first``, so the records
    are rows of one uint8 array (name, sequence, '+', qualities) written in place.
    """
    n, length = starts.size, windows.shape[1]
    digits = len(str(first))
    a = len(prefix) + digits
    rec = np.empty((n, a + 2 * length + 5), dtype=np.uint8)
    rec[:, : len(prefix)] = np.frombuffer(prefix, dtype=np.uint8)
    numbers = first + np.arange(n, dtype=np.int64)
    rec[:, len(prefix) : a] = (
        ord("0") + (numbers[:, None] // 10 ** np.arange(digits - 1, -1, -1, dtype=np.int64)) % 10
    )
    rec[:, a] = ord("\n")
    seq = rec[:, a + 1 : a + 1 + length]
    seq[...] = windows[starts]
    rec[:, a + 1 + length : a + 4 + length] = np.frombuffer(b"\n+\n", dtype=np.uint8)
    q = _qualities(n, length, rng, second=second)
    _add_errors(seq, q, rng)
    np.add(q, 33, out=rec[:, a + 4 + length : a + 4 + 2 * length], casting="unsafe")
    rec[:, -1] = ord("\n")
    return rec


def _batches(total: int, size: int) -> Iterable[tuple[int, int]]:
    """Ranges [b, e) of at most ``size`` reads whose 1-based numbers have equal digit counts."""
    b = 0
    while b < total:
        e = min(b + size, total, 10 ** len(str(b + 1)) - 1)
        yield b, e
        b = e


@dataclass
class _ContigVariants:
    """The variants of one contig, ready to be applied to its sequence."""

    index: np.ndarray  # into the population's variants, by position
    start: np.ndarray  # 0-based anchor
    ref_len: np.ndarray
    alt: list[np.ndarray]  # base codes


def _contig_variants(
    population: SimulatedPopulation, contigs: list[tuple[str, np.ndarray]], reference: Path
) -> list[_ContigVariants]:
    names = {name for name, _ in contigs}
    unknown = sorted(set(population.contig.tolist()) - names)
    if unknown:
        raise ValueError(
            f"population has variants on contigs {unknown} that {reference} lacks; "
            "pass the reference the population was simulated on"
        )
    out = []
    for name, seq in contigs:
        index = np.flatnonzero(population.contig == name)
        index = index[np.argsort(population.pos[index], kind="stable")]
        start = population.pos[index] - 1
        ref_len = np.array([len(population.ref[i]) for i in index], dtype=np.int64)
        for i, s, n in zip(index, start, ref_len, strict=True):
            if (
                s < 0
                or s + n > seq.size
                or _BASES[seq[s : s + n]].tobytes().decode() != (population.ref[i].upper())
            ):
                raise ValueError(
                    f"variant {name}:{population.pos[i]} has REF {population.ref[i]}, which is not "
                    f"the sequence of {reference} there; pass the reference the population was "
                    "simulated on"
                )
        if np.any(start[1:] < start[:-1] + ref_len[:-1]):
            raise ValueError(
                f"population has overlapping variants on {name}; they cannot be applied"
            )
        alt = [_ENCODE[np.frombuffer(population.alt[i].encode(), dtype=np.uint8)] for i in index]
        out.append(_ContigVariants(index, start, ref_len, alt))
    return out


def _haplotype_sequence(seq: np.ndarray, v: _ContigVariants, alleles: np.ndarray) -> np.ndarray:
    """The contig with the ALT alleles of one homologue applied (one piece per variant)."""
    carried = np.flatnonzero(alleles[v.index] == 1)
    pieces: list[np.ndarray] = []
    prev = 0
    for j in carried:
        pieces.append(seq[prev : v.start[j]])
        pieces.append(v.alt[j])
        prev = int(v.start[j] + v.ref_len[j])
    pieces.append(seq[prev:])
    return np.concatenate(pieces)


def _sample_reads(
    sample: str,
    haplotypes: np.ndarray,
    contigs: list[tuple[str, np.ndarray]],
    variants: list[_ContigVariants],
    fastq1: Path,
    fastq2: Path | None,
    *,
    depth: float,
    read_length: int,
    insert_mean: float,
    insert_sd: float,
    rng: np.random.Generator,
) -> None:
    ploidy = haplotypes.shape[0]
    segments = [
        _haplotype_sequence(seq, v, haplotypes[h])
        for h in range(ploidy)
        for (_, seq), v in zip(contigs, variants, strict=True)
    ]
    genome = np.concatenate(segments)
    seg_len = np.array([s.size for s in segments], dtype=np.int64)
    offset = np.concatenate([[0], np.cumsum(seg_len)[:-1]])
    contig_len = np.tile([seq.size for _, seq in contigs], ploidy)
    paired = fastq2 is not None
    per_fragment = (2 if paired else 1) * read_length
    n_frag = np.rint(depth * contig_len / (ploidy * per_fragment)).astype(np.int64)
    n_frag[seg_len < read_length] = 0
    segment = np.repeat(np.arange(seg_len.size), n_frag)
    total = segment.size
    if paired:
        size = np.rint(rng.normal(insert_mean, insert_sd, total)).astype(np.int64)
        for _ in range(50):  # truncated normal: draw again below the read length
            short = np.flatnonzero(size < read_length)
            if not short.size:
                break
            size[short] = np.rint(rng.normal(insert_mean, insert_sd, short.size))
        size = np.clip(size, read_length, seg_len[segment])
    else:
        size = np.full(total, read_length, dtype=np.int64)
    start = offset[segment] + (rng.random(total) * (seg_len[segment] - size + 1)).astype(np.int64)
    forward = rng.random(total) < 0.5
    order = rng.permutation(total)
    start, size, forward = start[order], size[order], forward[order]

    # Reads are rows of a sliding window over the haplotypes and their reverse complement:
    # a forward read starts at x in the first half, the reverse complement of the bases
    # ending at y starts at 2G - 1 - y in the second.
    g = genome.size
    both = np.concatenate([_BASES[genome], _COMPLEMENT[_BASES[genome[::-1]]]])
    windows = np.lib.stride_tricks.sliding_window_view(both, read_length)
    reverse = 2 * g - start - size
    mates = [np.where(forward, start, reverse)]  # read 1 from the fragment's start if forward
    if paired:
        mates.append(np.where(forward, reverse, start))
    prefix = f"@{sample}:".encode()
    with contextlib.ExitStack() as stack:
        writers = []
        for fq in (fastq1, fastq2)[: len(mates)]:
            assert fq is not None
            w = _GzipWriter(stack.enter_context(atomic_output(fq)))
            stack.callback(w.close)
            writers.append(w)
        for b, e in _batches(total, _READ_BATCH):
            for m, (starts, writer) in enumerate(zip(mates, writers, strict=True)):
                rec = _fastq_batch(prefix, b + 1, windows, starts[b:e], rng, second=m == 1)
                writer.write(rec.data)


def simulate_reads(
    reference: str | os.PathLike[str],
    population: SimulatedPopulation,
    out_dir: str | os.PathLike[str],
    *,
    depth: float = 15.0,
    read_length: int = 150,
    insert_mean: float = 400,
    insert_sd: float = 60,
    paired: bool = True,
    seed: int = 0,
    samples: Sequence[str] | None = None,
) -> list[ReadSet]:
    """Sequence each sample: Illumina-like reads from its haplotypes, as gzip FASTQ.

    For each homologue of a sample the variants it carries are applied to
    the reference, and fragments are drawn uniformly along it, as many as
    give ``depth / ploidy`` (so ``depth`` in all). Fragment lengths are
    Normal(``insert_mean``, ``insert_sd``) truncated below at the read
    length; the strand is random; read 1 comes from one end, read 2 (the
    reverse complement) from the other. Base qualities start about Q37 and
    decay to about Q27 at the end of the read, with noise, rare dips and a
    few reads that go bad at the end; each base is wrong with probability
    10^(-Q/10), so the qualities are honest. A reference N gives an N of Q2.
    Reads come in random order, named ``{sample}:{n}`` in both files.

    Parameters
    ----------
    reference
        The FASTA the population was simulated on.
    population
        From :func:`simulate_population`.
    out_dir
        Folder for ``{sample}_R1.fastq.gz`` (and ``_R2``), created if needed.
    depth
        Mean read depth per sample (reads x read length / genome length).
    read_length, insert_mean, insert_sd
        Read and fragment lengths (bp).
    paired
        Paired-end reads (two files), or single-end (one).
    seed
        Seed; a sample's reads depend only on the seed, the sample's
        position in the population and the other arguments.
    samples
        Names of the samples to sequence; None for all.

    Returns
    -------
    list of ReadSet
        One per sample, in the order of ``samples`` (or the population's).

    Examples
    --------
    >>> import tempfile, gzip
    >>> d = Path(tempfile.mkdtemp())
    >>> fa = simulate_reference(d / "ref.fa", n_contigs=1, contig_length=10_000)
    >>> pop = simulate_population(fa, ploidy=2, n_founders=2, n_progeny=0)
    >>> rs = simulate_reads(fa, pop, d / "reads", depth=3, samples=["S002"])
    >>> rs[0].fastq1.name, gzip.open(rs[0].fastq2, "rt").readline().strip()
    ('S002_R1.fastq.gz', '@S002:1')
    >>> sum(1 for _ in gzip.open(rs[0].fastq1)) // 4  # 3 x 10 kb / (2 x 150 bp)
    100
    """
    reference = _check_path("reference", reference)
    population = _check_population(population)
    out_dir = _check_path("out_dir", out_dir)
    depth = _check_float("depth", depth, low=0.0, open_low=True)
    read_length = _check_int("read_length", read_length, minimum=10)
    insert_mean = _check_float("insert_mean", insert_mean, low=0.0, open_low=True)
    insert_sd = _check_float("insert_sd", insert_sd, low=0.0)
    if not isinstance(paired, bool):
        raise TypeError(f"paired must be True or False, not {paired!r}")
    seed = _check_int("seed", seed, minimum=0)
    if samples is None:
        chosen = list(range(len(population.samples)))
    else:
        if isinstance(samples, str) or not isinstance(samples, Iterable):
            raise TypeError("samples must be a list of sample names (or None for all)")
        where = {s: i for i, s in enumerate(population.samples)}
        missing = [s for s in samples if s not in where]
        if missing:
            raise ValueError(
                f"samples {missing[:5]} are not in the population; choose from "
                f"{population.samples[:5]}..."
            )
        chosen = [where[s] for s in samples]
    contigs = _read_reference(reference)
    if max(seq.size for _, seq in contigs) < read_length:
        raise ValueError(f"read_length {read_length} is longer than every contig of {reference}")
    variants = _contig_variants(population, contigs, reference)

    read_sets = []
    for i in chosen:
        name = population.samples[i]
        fastq1 = out_dir / f"{name}_R1.fastq.gz"
        fastq2 = out_dir / f"{name}_R2.fastq.gz" if paired else None
        _sample_reads(
            name,
            population.haplotypes[i],
            contigs,
            variants,
            fastq1,
            fastq2,
            depth=depth,
            read_length=read_length,
            insert_mean=insert_mean,
            insert_sd=insert_sd,
            rng=np.random.default_rng([_SALT_READS, seed, i]),
        )
        read_sets.append(ReadSet(name, fastq1, fastq2))
    return read_sets


@dataclass
class SimulatedDataset:
    """What :func:`simulate_dataset` wrote, and the truth behind it."""

    out_dir: Path
    reference: Path
    truth_vcf: Path
    reads_dir: Path
    sample_sheet: Path
    population: SimulatedPopulation
    read_sets: list[ReadSet]

    @property
    def ploidy(self) -> int:
        return self.population.ploidy

    @property
    def samples(self) -> list[str]:
        return self.population.samples


_REFERENCE_OPTIONS = ("gc",)
_POPULATION_OPTIONS = (
    "population_size",
    "mutation_rate",
    "recombination_rate",
    "indel_fraction",
    "max_indel",
)
_READ_OPTIONS = ("read_length", "insert_mean", "insert_sd", "paired")


def simulate_dataset(
    out_dir: str | os.PathLike[str],
    *,
    ploidy: int,
    n_samples: int = 20,
    depth: float = 15.0,
    n_contigs: int = 3,
    contig_length: int = 200_000,
    seed: int = 0,
    **options: Any,
) -> SimulatedDataset:
    """Write a complete sequencing data set with known truth, in one call.

    ``out_dir`` gets ``reference.fa`` (and ``.fai``), ``truth.vcf.gz`` (and
    ``.tbi``), the reads under ``reads/`` and ``samples.tsv`` (columns
    sample, fastq1, fastq2, absolute paths; fastq2 empty for single-end).
    About a third of the samples are founders, the rest their progeny.

    Parameters
    ----------
    out_dir
        Folder to write into (created if needed).
    ploidy
        1 or an even number.
    n_samples, depth, n_contigs, contig_length, seed
        Samples in all, read depth per sample, and the genome's shape.
    **options
        Passed on: ``gc`` to :func:`simulate_reference`; ``population_size``,
        ``mutation_rate``, ``recombination_rate``, ``indel_fraction``,
        ``max_indel`` to :func:`simulate_population`; ``read_length``,
        ``insert_mean``, ``insert_sd``, ``paired`` to :func:`simulate_reads`.

    Returns
    -------
    SimulatedDataset

    Examples
    --------
    >>> import tempfile
    >>> ds = simulate_dataset(tempfile.mkdtemp(), ploidy=4, n_samples=3, depth=2,
    ...                       n_contigs=1, contig_length=10_000, read_length=100)
    >>> ds.samples, ds.population.mothers, ds.read_sets[0].fastq1.name
    (['S001', 'S002', 'S003'], [None, 'S001', 'S001'], 'S001_R1.fastq.gz')
    >>> ds.sample_sheet.read_text().splitlines()[0].split()
    ['sample', 'fastq1', 'fastq2']
    """
    out_dir = _check_path("out_dir", out_dir)
    ploidy = _check_ploidy(ploidy)
    n_samples = _check_int("n_samples", n_samples, minimum=2 if ploidy == 1 else 1)
    unknown = sorted(set(options) - {*_REFERENCE_OPTIONS, *_POPULATION_OPTIONS, *_READ_OPTIONS})
    if unknown:
        raise TypeError(
            f"simulate_dataset() got unexpected options {unknown}; it passes on "
            f"{sorted({*_REFERENCE_OPTIONS, *_POPULATION_OPTIONS, *_READ_OPTIONS})}"
        )
    n_founders = min(n_samples, max(2 if ploidy == 1 else 1, round(n_samples / 3)))

    out_dir.mkdir(parents=True, exist_ok=True)
    reference = simulate_reference(
        out_dir / "reference.fa",
        n_contigs=n_contigs,
        contig_length=contig_length,
        seed=seed,
        **{k: v for k, v in options.items() if k in _REFERENCE_OPTIONS},
    )
    population = simulate_population(
        reference,
        ploidy=ploidy,
        n_founders=n_founders,
        n_progeny=n_samples - n_founders,
        seed=seed,
        **{k: v for k, v in options.items() if k in _POPULATION_OPTIONS},
    )
    truth = write_truth_vcf(population, reference, out_dir / "truth.vcf.gz")
    reads_dir = out_dir / "reads"
    read_sets = simulate_reads(
        reference,
        population,
        reads_dir,
        depth=depth,
        seed=seed,
        **{k: v for k, v in options.items() if k in _READ_OPTIONS},
    )
    sheet = out_dir / "samples.tsv"
    with atomic_output(sheet) as tmp:
        rows = ["sample\tfastq1\tfastq2"] + [
            f"{r.sample}\t{r.fastq1.resolve()}\t{r.fastq2.resolve() if r.fastq2 else ''}"
            for r in read_sets
        ]
        tmp.write_text("\n".join(rows) + "\n")
    return SimulatedDataset(out_dir, reference, truth, reads_dir, sheet, population, read_sets)
