"""The short-read mapper around mappy: hits, mate pairing, supplementary alignments and SAM lines, as minimap2's sr preset writes them."""

from __future__ import annotations

import os
import re
import threading
from pathlib import Path
from typing import Any

import numpy as np

from breedhub.genomics.exceptions import InputFileError
from breedhub.genomics.fastq import _parse_block, _parse_pair_block

#: minimap2's short-read preset: longest fragment, shortest gap allowance, scores.
SR_MAX_FRAG_LEN = 800
SR_MAX_GAP = 100
SR_K, SR_W = 21, 11
_MATCH, _MISMATCH, _AMBIGUOUS = 2, 8, 1
_GAP = ((12, 2), (24, 1))  # two-piece affine: open, extend

_COMP = str.maketrans("ACGTNRYSWKMBDHVacgtnryswkmbdhv", "TGCANYRSWMKVHDBtgcanyrswmkvhdb")
_OPS = "MIDNSHP=XB"
_ACGT = np.frombuffer(b"ACGT", dtype=np.uint8)
_CS_ENDS = re.compile(r":(\d+)\D.*:(\d+)\Z", re.DOTALL)  # first and last match runs
_M_CIGARS = [f"{n}M" for n in range(1024)]
_CS_TOKEN = re.compile(r":(\d+)|\*(.)(.)|[+-]([a-z]+)")
_MATE_SUFFIX = re.compile(r"/[0-9]$", re.MULTILINE)


def _cs_events(cs: str) -> tuple[list[int], list[int]]:
    """Score and exact-match run length of each event of a cs string (run 0: not a match)."""
    scores: list[int] = []
    runs: list[int] = []
    for m, ref, qry, gap in _CS_TOKEN.findall(cs):
        if m:
            n = int(m)
            scores.append(_MATCH * n)
            runs.append(n)
        elif ref:
            scores.append(-_AMBIGUOUS if ref == "n" or qry == "n" else -_MISMATCH)
            runs.append(0)
        else:
            scores.append(-_gap_cost(len(gap)))
            runs.append(0)
    return scores, runs


def _ref_events(ref: str, qry: str, cigar: list[list[int]]) -> tuple[list[int], list[int]]:
    """:func:`_cs_events` from the aligned reference and query (both forward on the reference)."""
    scores: list[int] = []
    runs: list[int] = []
    r = q = 0
    for n, op in cigar:
        if op == 0 or op == 7 or op == 8:
            a = np.frombuffer(ref[r : r + n].upper().encode("ascii"), dtype=np.uint8)
            b = np.frombuffer(qry[q : q + n].upper().encode("ascii"), dtype=np.uint8)
            ambiguous = ~np.isin(a, _ACGT) | ~np.isin(b, _ACGT)
            last = 0
            for i in np.flatnonzero(ambiguous | (a != b)).tolist():
                if i > last:
                    scores.append(_MATCH * (i - last))
                    runs.append(i - last)
                scores.append(-_AMBIGUOUS if ambiguous[i] else -_MISMATCH)
                runs.append(0)
                last = i + 1
            if n > last:
                scores.append(_MATCH * (n - last))
                runs.append(n - last)
            r += n
            q += n
        elif op == 1 or op == 2:
            scores.append(-_gap_cost(n))
            runs.append(0)
            if op == 1:
                q += n
            else:
                r += n
    return scores, runs


def _gap_cost(n: int) -> int:
    return min(o + n * e for o, e in _GAP)


def _dp_score(scores: list[int], runs: list[int]) -> int:
    """minimap2's AS (DP score) of an alignment from its events (:func:`_cs_events`).

    The score of the whole alignment under the short-read scoring, except that
    a stretch at either end, outside the first and last seed (an exact match
    of k bases), that lowers the score (a mismatch in the last few bases, kept
    because reaching the read's end earns a bonus) counts as minimap2's
    extension does: not at all.
    """
    total = sum(scores)
    seeds = [i for i, n in enumerate(runs) if n >= SR_K]
    lo, hi = (seeds[0], seeds[-1]) if seeds else (len(scores), len(scores))
    worst = s = 0
    for v in scores[:lo]:
        s += v
        worst = min(worst, s)
    total -= worst
    worst = s = 0
    for v in reversed(scores[hi + 1 :]):
        s += v
        worst = min(worst, s)
    return total - worst


class _Mapper:
    """What a worker needs to map and format reads; module state in forked workers."""

    def __init__(self, aligner: Any, rg_id: str, max_frag_len: int):
        self.aligner = aligner
        self.rg = f"RG:Z:{rg_id}"
        self.max_frag_len = max_frag_len
        self.map_kw: dict[str, Any] = {"cs": True}
        if max_frag_len != SR_MAX_FRAG_LEN:
            self.map_kw["max_frag_len"] = max_frag_len
        self._buf: Any = None
        self._pid = -1

    def buf(self) -> Any:
        if self._pid != os.getpid():  # one ThreadBuffer per process
            import mappy

            self._buf, self._pid = mappy.ThreadBuffer(), os.getpid()
        return self._buf

    def hits(
        self, seq: str, seq2: str | None, name: str, buf: Any
    ) -> tuple[list[tuple[Any, ...]], list[tuple[Any, ...]]]:
        """The primary and supplementary hits of each read, as tuples.

        A hit: (contig, ref start, ref end, reverse, query start, query end,
        MAPQ, CIGAR without clips, NM, AS, CIGAR with soft clips), query
        coordinates on the read as sequenced. Secondary hits are dropped.
        """
        one: list[tuple[Any, ...]] = []
        two: list[tuple[Any, ...]] = []
        n1 = len(seq)
        n2 = len(seq2) if seq2 is not None else 0
        m_cigars = _M_CIGARS
        ends = _CS_ENDS.match
        for h in self.aligner.map(seq, seq2, name=name, buf=buf, **self.map_kw):
            if not h.is_primary:
                continue
            cig = h.cigar
            nm = h.NM
            if len(cig) == 1 and cig[0][1] == 0 and cig[0][0] < len(m_cigars):
                core = m_cigars[cig[0][0]]
                gaps = 0
            else:
                core = "".join([f"{n}{_OPS[op]}" for n, op in cig])
                gaps = sum([n for n, op in cig if op == 1 or op == 2])
            rev = h.strand < 0
            if h.read_num == 2:
                # mappy maps read 2 reverse-complemented and flips only the strand back:
                # its query coordinates are on the reverse complement, and so is its cs
                # string unless the clipping is symmetric
                qlen, qs, qe = n2, n2 - h.q_en, n2 - h.q_st
                cs_ok = qs == h.q_st
                hits = two
            else:
                qlen, qs, qe = n1, h.q_st, h.q_en
                cs_ok = True
                hits = one
            if nm == 0:
                score = _MATCH * (qe - qs)
            elif cs_ok:
                cs = h.cs
                e = ends(cs)
                if e is not None and int(e[1]) >= SR_K and int(e[2]) >= SR_K:
                    # seeds at both ends: the score of the whole alignment
                    mlen, blen = h.mlen, h.blen
                    score = (
                        _MATCH * mlen
                        - _MISMATCH * (blen - mlen - gaps)
                        - _AMBIGUOUS * (nm - blen + mlen)
                    )
                    if gaps:
                        score -= sum([_gap_cost(n) for n, op in cig if op == 1 or op == 2])
                else:
                    score = _dp_score(*_cs_events(cs))
            else:
                assert seq2 is not None
                part = seq2[qs:qe]
                if rev:
                    part = part.translate(_COMP)[::-1]
                ref = self.aligner.seq(h.ctg, h.r_st, h.r_en)
                score = _dp_score(*_ref_events(ref, part, cig))
            lead, trail = (qlen - qe, qs) if rev else (qs, qlen - qe)
            soft = core if not lead and not trail else _clipped(core, lead, trail, "S")
            hits.append((h.ctg, h.r_st, h.r_en, rev, qs, qe, h.mapq, core, nm, score, soft))
        return one, two


def _clipped(core: str, lead: int, trail: int, clip: str) -> str:
    return (f"{lead}{clip}" if lead else "") + core + (f"{trail}{clip}" if trail else "")


def _proper(a: tuple[Any, ...], b: tuple[Any, ...], max_gap: int) -> bool:
    """minimap2's proper pair: same contig, FR, forward read first, gap within bounds."""
    if a[0] != b[0] or a[3] == b[3]:
        return False
    fwd, rev = (b, a) if a[3] else (a, b)
    return fwd[1] <= rev[1] and rev[1] - fwd[2] <= max_gap


def _hard_clipped(h: tuple[Any, ...], qlen: int) -> str:
    lead, trail = (qlen - h[5], h[4]) if h[3] else (h[4], qlen - h[5])
    return _clipped(h[7], lead, trail, "H")


def _sa_tag(hits: list[tuple[Any, ...]], skip: int, qlen: int) -> str:
    parts = []
    for i, q in enumerate(hits):
        if i == skip:
            continue
        lq, lr = q[5] - q[4], q[2] - q[1]
        c5, c3 = (qlen - q[5], q[4]) if q[3] else (q[4], qlen - q[5])
        cig = (f"{c5}S" if c5 else "") + (f"{min(lq, lr)}M")
        cig += f"{lr - lq}D" if lr > lq else (f"{lq - lr}I" if lq > lr else "")
        cig += f"{c3}S" if c3 else ""
        parts.append(f"{q[0]},{q[1] + 1},{'-+'[not q[3]]},{cig},{q[6]},{q[8]};")
    return "\tSA:Z:" + "".join(parts)


def _seq_qual(seq: str, qual: str, rev: bool) -> str:
    if not seq:
        return "*\t*"
    if rev:
        return f"{seq.translate(_COMP)[::-1]}\t{qual[::-1]}"
    return f"{seq}\t{qual}"


def _read_records(
    out: list[str],
    qname: str,
    seq: str,
    qual: str,
    hits: list[tuple[Any, ...]],
    flag0: int,
    mate: tuple[Any, ...] | None,
    proper: bool,
    rg: str,
    mate_tags: str,
) -> None:
    """Append the SAM lines of one read: its primary (or unmapped) record, then supplementaries.

    ``hits`` has the primary first.
    ``flag0`` holds the pairing bits (0x1, 0x40/0x80, 0x8, 0x20); ``mate`` the
    mate's primary hit (None when unmapped or single-end); ``mate_tags`` the
    MC and ms tags of a paired read.
    """
    qlen = len(seq)
    paired = flag0 & 1
    if not hits:
        where = (
            f"{mate[0]}\t{mate[1] + 1}\t0\t*\t=\t{mate[1] + 1}\t0"
            if mate
            else "*\t0\t0\t*\t*\t0\t0"
        )
        out.append(
            f"{qname}\t{flag0 | 4}\t{where}\t{_seq_qual(seq, qual, False)}\t{rg}{mate_tags}\n"
        )
        return
    multi = len(hits) > 1
    for i, h in enumerate(hits):
        ctg, rs, re_, rev = h[0], h[1], h[2], h[3]
        flag = flag0 | (0x10 if rev else 0)
        if i == 0:
            if proper:
                flag |= 2
            cigar = h[10]
            sq = _seq_qual(seq, qual, rev)
            tags = mate_tags
        else:
            flag |= 0x800
            cigar = _hard_clipped(h, qlen)
            sq = _seq_qual(seq[h[4] : h[5]], qual[h[4] : h[5]], rev)
            tags = ""
        if not paired:
            mate_fields = "*\t0\t0"
        elif mate is None:
            mate_fields = f"=\t{rs + 1}\t0"
        elif mate[0] == ctg:
            tlen = (mate[2] - 1 if mate[3] else mate[1]) - (re_ - 1 if rev else rs)
            tlen += 1 if tlen > 0 else (-1 if tlen < 0 else 0)
            mate_fields = f"=\t{mate[1] + 1}\t{tlen}"
        else:
            mate_fields = f"{mate[0]}\t{mate[1] + 1}\t0"
        if multi:
            tags += _sa_tag(hits, i, qlen)
        out.append(
            f"{qname}\t{flag}\t{ctg}\t{rs + 1}\t{h[6]}\t{cigar}\t{mate_fields}\t{sq}\t"
            f"NM:i:{h[8]}\tAS:i:{h[9]}\t{rg}{tags}\n"
        )


def _order(hits: list[tuple[Any, ...]], pri: int) -> list[tuple[Any, ...]]:
    return hits if pri == 0 else [hits[pri], *hits[:pri], *hits[pri + 1 :]]


# Phred+33 character -> its quality if 15 or more, else 0 (samtools' duplicate score)
_SCORE_BYTES = bytes(c - 33 if c - 33 >= 15 else 0 for c in range(128)) + bytes(128)


def _quality_scores(quals: list[str]) -> list[int]:
    """samtools' read score for duplicate marking: the sum of base qualities of 15 or more."""
    lengths = np.fromiter(map(len, quals), dtype=np.int64, count=len(quals))
    if not quals or not lengths.all():
        return [sum(c - 33 for c in q.encode() if c - 33 >= 15) for q in quals]
    values = np.frombuffer("".join(quals).encode("ascii").translate(_SCORE_BYTES), dtype=np.uint8)
    starts = np.zeros(len(quals), dtype=np.int64)
    np.cumsum(lengths[:-1], out=starts[1:])
    return np.add.reduceat(values, starts, dtype=np.int64).tolist()


def _mate_line(
    qn: str,
    flag: int,
    hit: tuple[Any, ...],
    mate_hit: tuple[Any, ...],
    mate: str,
    seq: str,
    qual: str,
    rg: str,
    mate_score: int,
    comp: dict[int, int],
) -> str:
    """The SAM line of one uniquely mapped mate of a pair whose other mate maps uniquely too.

    ``flag`` holds the pair bits; the strand bits come from ``hit`` and ``mate_hit``, and the
    read is reverse-complemented when ``hit`` is on the reverse strand.
    """
    if hit[3]:
        flag |= 0x10
        seq, qual = seq.translate(comp)[::-1], qual[::-1]
    if mate_hit[3]:
        flag |= 0x20
    return (
        f"{qn}\t{flag}\t{hit[0]}\t{hit[1] + 1}\t{hit[6]}\t{hit[10]}\t{mate}\t{seq}\t{qual}\t"
        f"NM:i:{hit[8]}\tAS:i:{hit[9]}\t{rg}\tMC:Z:{mate_hit[10]}\tms:i:{mate_score}\n"
    )


_MAPPER: _Mapper | None = None  # set while forking the workers, under _FORK_LOCK
_FORK_LOCK = threading.Lock()


def _map_pairs(
    path1: Path,
    lines1: list[str],
    path2: Path,
    lines2: list[str],
    first: int,
    mapper: _Mapper | None = None,
) -> tuple[bytes, int, tuple[Any, ...] | None]:
    """Check, map and format a block of pairs: (SAM text, longest read, error).

    ``mapper`` is the forked workers' module state unless given.
    """
    try:
        names, seqs1, quals1, _, seqs2, quals2 = _parse_pair_block(
            path1, lines1, path2, lines2, first
        )
    except InputFileError as e:
        return b"", 0, (e.path, e.problem, e.record)
    m = mapper or _MAPPER
    assert m is not None
    qnames = _MATE_SUFFIX.sub("", "\n".join(names)).split("\n")
    score1, score2 = _quality_scores(quals1), _quality_scores(quals2)
    max_gap0 = m.max_frag_len
    rg = m.rg
    out: list[str] = []
    add = out.append
    hits = m.hits
    buf = m.buf()
    comp = _COMP
    for name, qn, s1, q1, s2, q2, sc1, sc2 in zip(
        names, qnames, seqs1, quals1, seqs2, quals2, score1, score2, strict=True
    ):
        # the read name seeds minimap2's choice among equal hits, as in its command line
        one, two = hits(s1, s2, name, buf) if s1 and s2 else _hits_split(m, s1, s2, name)
        if len(one) == 1 and len(two) == 1:  # the common case, inline
            a, b = one[0], two[0]
            ar, br = a[3], b[3]
            proper = False
            if a[0] == b[0]:
                if ar != br:
                    fwd, rev = (b, a) if ar else (a, b)
                    proper = fwd[1] <= rev[1] and rev[1] - fwd[2] <= max(
                        max_gap0 - len(s1) - len(s2), SR_MAX_GAP
                    )
                t = (b[2] - 1 if br else b[1]) - (a[2] - 1 if ar else a[1])
                t = t + 1 if t > 0 else (t - 1 if t < 0 else 0)
                mate1, mate2 = f"=\t{b[1] + 1}\t{t}", f"=\t{a[1] + 1}\t{-t}"
            else:
                mate1, mate2 = f"{b[0]}\t{b[1] + 1}\t0", f"{a[0]}\t{a[1] + 1}\t0"
            add(_mate_line(qn, 0x43 if proper else 0x41, a, b, mate1, s1, q1, rg, sc2, comp))
            add(_mate_line(qn, 0x83 if proper else 0x81, b, a, mate2, s2, q2, rg, sc1, comp))
            continue
        p1 = p2 = 0
        proper = False
        if one and two:
            max_gap = max(max_gap0 - len(s1) - len(s2), SR_MAX_GAP)
            for i, a in enumerate(one):
                for j, b in enumerate(two):
                    if _proper(a, b, max_gap):
                        p1, p2, proper = i, j, True
                        break
                if proper:
                    break
        m1 = one[p1] if one else None
        m2 = two[p2] if two else None
        f1, f2 = 0x41, 0x81
        if m2 is None:
            f1 |= 8
        elif m2[3]:
            f1 |= 0x20
        if m1 is None:
            f2 |= 8
        elif m1[3]:
            f2 |= 0x20
        t1 = (f"\tMC:Z:{m2[10]}" if m2 else "") + f"\tms:i:{sc2}"
        t2 = (f"\tMC:Z:{m1[10]}" if m1 else "") + f"\tms:i:{sc1}"
        _read_records(out, qn, s1, q1, _order(one, p1), f1, m2, proper, rg, t1)
        _read_records(out, qn, s2, q2, _order(two, p2), f2, m1, proper, rg, t2)
    longest = max(max(map(len, seqs1), default=0), max(map(len, seqs2), default=0))
    return "".join(out).encode("ascii"), longest, None


def _hits_split(
    m: _Mapper, s1: str, s2: str, qn: str
) -> tuple[list[tuple[Any, ...]], list[tuple[Any, ...]]]:
    """Hits of a pair one of whose reads is empty: map the other alone."""
    one = m.hits(s1, None, qn, m.buf())[0] if s1 else []
    two: list[tuple[Any, ...]] = []
    if s2:
        # mapped alone, read 2's hits come back as read 1's, in its own coordinates
        two = m.hits(s2, None, qn, m.buf())[0]
    return one, two


def _map_singles(
    path: Path, lines: list[str], first: int, mapper: _Mapper | None = None
) -> tuple[bytes, int, tuple[Any, ...] | None]:
    """Check, map and format a block of single-end reads (see :func:`_map_pairs`)."""
    try:
        names, seqs, quals = _parse_block(path, lines, first)
    except InputFileError as e:
        return b"", 0, (e.path, e.problem, e.record)
    m = mapper or _MAPPER
    assert m is not None
    rg = m.rg
    out: list[str] = []
    buf = m.buf()
    for qn, s, q in zip(names, seqs, quals, strict=True):
        hits = m.hits(s, None, qn, buf)[0] if s else []
        _read_records(out, qn, s, q, hits, 0, None, False, rg, "")
    return "".join(out).encode("ascii"), max(map(len, seqs), default=0), None
