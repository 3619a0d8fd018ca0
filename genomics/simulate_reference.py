"""Simulated reference genomes: seeded random contigs written as indexed FASTA, and reading them back as base codes."""

from __future__ import annotations

import os
from pathlib import Path
from typing import IO

import numpy as np

from breedhub.base.checks import check_float, check_int, check_path
from breedhub.base.files import atomic_output
from breedhub.genomics.exceptions import InputFileError

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

    path = check_path("path", path)
    n_contigs = check_int("n_contigs", n_contigs, minimum=1)
    contig_length = check_int("contig_length", contig_length, minimum=1000)
    gc = check_float("gc", gc, low=0.0, high=1.0, open_low=True, open_high=True)
    seed = check_int("seed", seed, minimum=0)

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
