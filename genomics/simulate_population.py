"""Simulated populations on a reference: founders with segregating variants, progeny by meiosis, and the truth VCF."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from breedhub.base.checks import check_float, check_int, check_path, check_ploidy
from breedhub.base.files import atomic_output
from breedhub.base.provenance import provenance
from breedhub.base.regions import fasta_contigs
from breedhub.genomics.exceptions import as_genomics_error
from breedhub.genomics.files import vcf_index_path
from breedhub.genomics.simulate_pedigree import _Meiosis, _Phased
from breedhub.genomics.simulate_reference import (
    _BASES,
    _END_MARGIN,
    _SALT_POPULATION,
    _read_reference,
)

_MIN_GAP = 10  # at least this many bases between two variants
_INDEL_LENGTH_P = 0.45  # indel lengths are geometric (mean about 2), capped at max_indel
_TARGET_SPACING = 180  # default mutation rate: one segregating site per this many bases
_SELF_FRACTION = 0.2  # share of progeny that are selfs
_CROSSOVERS_PER_CONTIG = 1.0  # mean crossovers per bivalent and contig


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
    p, e = np.asarray(pos[idx]), np.asarray(end[idx])
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
    >>> from breedhub.genomics.simulate_reference import simulate_reference
    >>> import tempfile
    >>> fa = simulate_reference(Path(tempfile.mkdtemp()) / "ref.fa", n_contigs=1, contig_length=20_000)
    >>> pop = simulate_population(fa, ploidy=4, n_founders=3, n_progeny=2, seed=1)
    >>> pop.samples, pop.haplotypes.shape[:2], pop.mothers[3] is not None
    (['S001', 'S002', 'S003', 'S004', 'S005'], (5, 4), True)
    >>> 50 < pop.n_variants < 200 and int(pop.dosages.max()) <= 4
    True
    """
    import msprime

    reference = check_path("reference", reference)
    ploidy = check_ploidy(ploidy, even=True)
    n_founders = check_int("n_founders", n_founders, minimum=1)
    n_progeny = check_int("n_progeny", n_progeny, minimum=0)
    seed = check_int("seed", seed, minimum=0)
    population_size = check_int("population_size", population_size, minimum=1)
    if n_founders * ploidy < 2:
        raise ValueError(
            "n_founders * ploidy must be at least 2 (one haploid founder has no variants)"
        )
    if mutation_rate is None:
        mutation_rate = _default_mutation_rate(ploidy, n_founders, population_size)
    mutation_rate = check_float("mutation_rate", mutation_rate, low=0.0, open_low=True)
    recombination_rate = check_float("recombination_rate", recombination_rate, low=0.0)
    indel_fraction = check_float("indel_fraction", indel_fraction, low=0.0, high=1.0)
    max_indel = check_int("max_indel", max_indel, minimum=1)
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
    with as_genomics_error():
        return fasta_contigs(reference)


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
    >>> from breedhub.genomics.simulate_reference import simulate_reference
    >>> import tempfile, pysam
    >>> d = Path(tempfile.mkdtemp())
    >>> fa = simulate_reference(d / "ref.fa", n_contigs=1, contig_length=20_000)
    >>> pop = simulate_population(fa, ploidy=6, n_founders=2, n_progeny=1)
    >>> vcf = pysam.VariantFile(str(write_truth_vcf(pop, fa, d / "truth.vcf.gz")))
    >>> rec = next(vcf.fetch("chr1"))
    >>> len(rec.samples["S003"]["GT"]), rec.pos == int(pop.pos[0])
    (6, True)
    """
    import pysam

    from breedhub.base.version import __version__

    population = _check_population(population)
    reference = check_path("reference", reference)
    path = check_path("path", path)
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
    params = provenance(
        "breedhub.genomics.simulate_population.write_truth_vcf",
        inputs=[reference],
        parameters=population.parameters,
    ).to_json()
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
