"""Simulated sequencing reads: paired FASTQ from a population's haplotypes, with an Illumina-like quality curve and errors."""

from __future__ import annotations

import contextlib
import os
import queue
import threading
import zlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from breedhub.base.checks import check_float, check_int, check_path
from breedhub.base.files import atomic_output
from breedhub.genomics.simulate_population import SimulatedPopulation, _check_population
from breedhub.genomics.simulate_reference import _BASES, _ENCODE, _SALT_READS, _read_reference

_READ_BATCH = 8192  # fragments simulated (and compressed) together


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
    >>> from breedhub.genomics.simulate_population import simulate_population
    >>> from breedhub.genomics.simulate_reference import simulate_reference
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
    reference = check_path("reference", reference)
    population = _check_population(population)
    out_dir = check_path("out_dir", out_dir)
    depth = check_float("depth", depth, low=0.0, open_low=True)
    read_length = check_int("read_length", read_length, minimum=10)
    insert_mean = check_float("insert_mean", insert_mean, low=0.0, open_low=True)
    insert_sd = check_float("insert_sd", insert_sd, low=0.0)
    if not isinstance(paired, bool):
        raise TypeError(f"paired must be True or False, not {paired!r}")
    seed = check_int("seed", seed, minimum=0)
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
