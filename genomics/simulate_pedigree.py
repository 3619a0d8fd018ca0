"""Gene drop: marker genotypes dropped down a pedigree through meiosis, for any even ploidy."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from breedhub.base.checks import check_ploidy


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
        ploidy = check_ploidy(ploidy, even=True)
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
