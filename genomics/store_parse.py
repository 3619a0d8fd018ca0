"""Parsing blocks of VCF record lines into genotype arrays, vectorised over whole blocks."""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from breedhub.genomics.exceptions import InputFileError
from breedhub.genomics.store_layout import (
    _COLON,
    _COMMA,
    _DOT,
    _INT16_MAX,
    _NL,
    _PIPE,
    _SLASH,
    _TAB,
    ALT,
    ALT_NUMBER,
    CALL_FIELDS,
    CHROM,
    FORMAT_FIELDS,
    GT,
    ID,
    POS,
    QUAL,
    REF,
)

# ---------------------------------------------------------------------------
# Parsing blocks of record lines, vectorised over sample fields


class _Block:
    """Where a block's rows are in the file, to name them in errors."""

    def __init__(
        self, path: Path, samples: list[str], first_record: int, first_line: int | None
    ) -> None:
        self.path, self.samples = path, samples
        self.first_record, self.first_line = first_record, first_line
        self.where: list[tuple[bytes, bytes]] = []

    def record(self, i: int) -> str:
        text = f"record {self.first_record + i}"
        if i < len(self.where):
            chrom, pos = self.where[i]
            text += f" ({chrom.decode(errors='replace')}:{pos.decode(errors='replace')})"
        if self.first_line is not None:
            text += f", line {self.first_line + i}"
        return text

    def error(self, i: int, problem: str) -> InputFileError:
        return InputFileError(self.path, problem, record=self.record(i))


def _piece(seps: np.ndarray, s: np.ndarray, e: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """Bounds of the k-th piece of each span [s, e) split at the positions ``seps``.

    An absent piece is the empty span (e, e).
    """
    if seps.size == 0:
        return (s, e) if k == 0 else (e, e)
    last = seps.size - 1
    if k:
        i = np.searchsorted(seps, s) + (k - 1)
        c = seps[np.minimum(i, last)]
        s = np.where((i <= last) & (c < e), c + 1, e)
    j = np.searchsorted(seps, s)
    c = seps[np.minimum(j, last)]
    return s, np.where((j <= last) & (c < e), c, e)


def _parse_ints(
    a: np.ndarray, s: np.ndarray, e: np.ndarray, bad: Callable[[int, str], InputFileError]
) -> tuple[np.ndarray, int]:
    """Non-negative integers in spans [s, e) as int16 (-1 for "." or empty); and how
    many were larger than int16 holds (stored as its maximum)."""
    n = s.size
    out = np.full(n, -1, dtype=np.int64)
    length = e - s
    missing = (length == 0) | ((length == 1) & (a[s] == _DOT))
    fast = np.flatnonzero(~missing & (length <= 9))
    if fast.size:
        lf = length[fast]
        width = int(lf.max())
        cols = np.arange(width)
        inside = cols < lf[:, None]
        digits = a[np.where(inside, s[fast, None] + cols, s[fast, None])].astype(np.int64) - 48
        ok = (((digits >= 0) & (digits <= 9)) | ~inside).all(axis=1)
        value = np.zeros(fast.size, dtype=np.int64)
        for c in range(width):
            value = np.where(inside[:, c], value * 10 + digits[:, c], value)
        out[fast[ok]] = value[ok]
        slow = np.r_[fast[~ok], np.flatnonzero(~missing & (length > 9))]
    else:
        slow = np.flatnonzero(~missing & (length > 9))
    for j in slow.tolist():
        text = a[s[j] : e[j]].tobytes().decode("ascii", "replace")
        if not text.isdigit():
            raise bad(j, f"{text!r} is not a non-negative integer")
        out[j] = int(text)
    over = int((out > _INT16_MAX).sum())
    if over:
        np.minimum(out, _INT16_MAX, out=out)
    return out.astype(np.int16), over


def _gt_ploidy(text: bytes) -> int:
    return text.count(b"/") + text.count(b"|") + 1


# Byte -> allele index (digits), -1 ("."), or 100 (not part of a GT).
_ALLELE = np.full(256, 100, dtype=np.int8)
_ALLELE[48:58] = np.arange(10)
_ALLELE[_DOT] = -1
_SEPARATOR = np.zeros(256, dtype=bool)
_SEPARATOR[[_SLASH, _PIPE]] = True


def _parse_gt(
    a: np.ndarray,
    s: np.ndarray,
    e: np.ndarray,
    ploidy: int,
    bad: Callable[[int, str], InputFileError],
) -> np.ndarray:
    """GT spans [s, e) as (n, ploidy) int8 allele indexes, -1 missing.

    Calls of single-digit alleles (``0/1``, ``0|1|1|.``) are decoded at once,
    one allele position at a time; others (``10/1``, a lone ``.``, another
    ploidy, garbage) one by one.
    """
    out = np.full((s.size, ploidy), -1, dtype=np.int8)
    width = 2 * ploidy - 1
    length = e - s
    fast = np.flatnonzero(length == width)
    if fast.size:
        start = s[fast]
        ok = np.ones(fast.size, dtype=bool)
        values = np.empty((fast.size, ploidy), dtype=np.int8)
        for k in range(ploidy):
            values[:, k] = _ALLELE[a[start + 2 * k]]
            if k:
                ok &= _SEPARATOR[a[start + 2 * k - 1]]
        ok &= (values != 100).all(axis=1) if ploidy > 1 else values[:, 0] != 100
        if ok.all():
            out[fast] = values
            todo = np.flatnonzero(length != width)
        else:
            out[fast[ok]] = values[ok]
            todo = np.sort(np.r_[fast[~ok], np.flatnonzero(length != width)])
    else:
        todo = np.arange(s.size)
    if todo.size:  # a lone "." is missing at any ploidy
        todo = todo[~((length[todo] == 1) & (a[s[todo]] == _DOT))]
    for j in todo.tolist():
        text = a[s[j] : e[j]].tobytes()
        alleles = re.split(rb"[/|]", text)
        if len(alleles) != ploidy:
            raise bad(
                j,
                f"GT {text.decode('ascii', 'replace')!r} has ploidy {len(alleles)} "
                f"but expected {ploidy}",
            )
        for k, allele in enumerate(alleles):
            if allele == b".":
                continue
            if not allele.isdigit() or int(allele) > 127:
                raise bad(j, f"GT {text.decode('ascii', 'replace')!r} is not a genotype (like 0/1)")
            out[j, k] = int(allele)
    return out


def _gt_columns(text: bytes, s: np.ndarray, e: np.ndarray, ploidy: int) -> np.ndarray | None:
    """(lines, samples, ploidy) GT when every call of these lines is a GT-only field of
    single-digit alleles (the common case), decoded through a strided view; else None."""
    width = 2 * ploidy - 1
    if not ((e - s) == width).all():
        return None
    span = s.shape[1] * (width + 1)
    rows = b"".join(text[x : x + span] for x in s[:, 0].tolist())
    columns = np.frombuffer(rows, dtype=np.uint8).reshape(s.shape[0], s.shape[1], width + 1)
    values = _ALLELE[columns[:, :, 0:width:2]]
    if (values == 100).any() or not _SEPARATOR[columns[:, :, 1:width:2]].all():
        return None
    return values


@dataclass
class _Parsed:
    block: dict[str, np.ndarray]
    ploidy: int
    n_alt_dropped: int  # records with more ALT alleles than ALT_NUMBER
    n_clipped: int  # FORMAT values above int16's maximum


def _split_records(
    text: bytes, n_samples: int, where: _Block
) -> tuple[bytes, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Find a block's lines and tabs, checking that every line has all its columns.

    Returns the text (``\\r\\n`` line ends made ``\\n``), its bytes, each
    line's start and end, and the (lines, 8 + samples) tab positions.
    """
    if b"\r" in text:
        text = text.replace(b"\r\n", b"\n")
    a = np.frombuffer(text, dtype=np.uint8)
    ends = np.flatnonzero(a == _NL)
    tabs = np.flatnonzero(a == _TAB)
    n, per = ends.size, 8 + n_samples
    starts = np.r_[0, ends[:-1] + 1]
    fits = tabs.size == n * per
    if fits:
        t = tabs.reshape(n, per)
        fits = bool((t[:, -1] < ends).all() and (t[:, 0] > starts - 1).all())
    if not fits:
        counts = np.bincount(np.searchsorted(ends, tabs), minlength=n)[:n]
        i = int(np.flatnonzero(counts != per)[0])
        if ends[i] == starts[i]:
            raise where.error(i, "an empty line: remove it")
        raise where.error(i, f"{counts[i] + 1} tab-separated columns, but the header has {per + 1}")
    return text, a, starts, ends, t


def _fixed_columns(
    text: bytes, starts: np.ndarray, t: np.ndarray, where: _Block
) -> tuple[dict[str, np.ndarray], np.ndarray, int, tuple[bytes, ...]]:
    """The eight fixed columns, line by line.

    Returns the store's CHROM, POS, ID, REF, ALT and QUAL arrays, each
    record's number of ALT alleles, how many records have more than
    ALT_NUMBER, and each record's FORMAT.
    """
    n = starts.size
    heads = [text[i:j].split(b"\t") for i, j in zip(starts.tolist(), t[:, 8].tolist(), strict=True)]
    c_b, p_b, id_b, ref_b, alt_b, qual_b, _filter, _info, fmt = zip(*heads, strict=True)
    where.where = list(zip(c_b, p_b, strict=True))
    chrom = np.array([c.decode() for c in c_b], dtype=object)
    if not all(c_b):
        raise where.error(c_b.index(b""), "empty CHROM")
    try:
        pos64 = np.array(p_b).astype(np.int64)
    except ValueError:
        pos64 = np.array([int(p) if p.isdigit() else -1 for p in p_b])
    out_of_range = np.flatnonzero((pos64 < 0) | (pos64 > 2**31 - 1))
    if out_of_range.size:
        i = int(out_of_range[0])
        raise where.error(i, f"POS {p_b[i].decode(errors='replace')!r} is not a position")
    pos = pos64.astype(np.int32)
    try:
        qual = np.array([np.nan if q == b"." else float(q) for q in qual_b], dtype=np.float32)
    except ValueError:
        i = next(i for i, q in enumerate(qual_b) if q != b"." and not _is_float(q))
        raise where.error(
            i, f"QUAL {qual_b[i].decode(errors='replace')!r} is not a number"
        ) from None
    alts = [[] if x == b"." else x.decode().split(",") for x in alt_b]
    n_alt = np.array([len(x) for x in alts])
    dropped = int((n_alt > ALT_NUMBER).sum())
    pad = [""] * ALT_NUMBER
    alt = np.array([(x + pad)[:ALT_NUMBER] for x in alts], dtype=object).reshape(n, ALT_NUMBER)
    ids = np.array([x.decode() for x in id_b], dtype=object)
    ref = np.array([x.decode() for x in ref_b], dtype=object)
    columns = {CHROM: chrom, POS: pos, ID: ids, REF: ref, ALT: alt, QUAL: qual}
    return columns, n_alt, dropped, fmt


def _gt_field(
    a: np.ndarray,
    fs: np.ndarray,
    fe: np.ndarray,
    columns: np.ndarray | None,
    ploidy: int,
    n_samples: int,
    row_index: np.ndarray,
    n_alt: np.ndarray,
    where: _Block,
    bad: Callable[[int, str], InputFileError],
) -> np.ndarray:
    """The GT of the rows ``row_index`` (spans [fs, fe), row by row, sample by sample)
    as (rows, samples, ploidy), checked against each record's number of ALT alleles.

    ``columns`` is the GT already decoded by :func:`_gt_columns`, or None.
    """
    values = columns if columns is not None else _parse_gt(a, fs, fe, ploidy, bad)
    n_rows = len(row_index)
    top = values.reshape(n_rows, n_samples * ploidy).max(axis=1)
    over = np.flatnonzero(top > n_alt[row_index])
    if over.size:
        i = int(row_index[over[0]])
        raise where.error(
            i, f"GT has allele {top[over[0]]} but the record has {n_alt[i]} ALT alleles"
        )
    return values.reshape(n_rows, n_samples, ploidy)


def _per_allele_ints(
    a: np.ndarray,
    commas: np.ndarray,
    fs: np.ndarray,
    fe: np.ndarray,
    n_rows: int,
    n_samples: int,
    bad: Callable[[int, str], InputFileError],
) -> tuple[np.ndarray, int]:
    """A Number=R field (spans [fs, fe), row by row, sample by sample) as
    (rows, samples, ALT_NUMBER + 1) int16; and how many values were clipped."""
    out = np.empty((n_rows, n_samples, ALT_NUMBER + 1), dtype=np.int16)
    clipped = 0
    for v in range(ALT_NUMBER + 1):
        vs, ve = _piece(commas, fs, fe, v)
        values, c = _parse_ints(a, vs, ve, bad)
        out[:, :, v] = values.reshape(n_rows, n_samples)
        clipped += c
    return out, clipped


def _parse_block(
    text: bytes,
    where: _Block,
    *,
    n_samples: int,
    ploidy: int | None,
    formats: Sequence[str],
) -> _Parsed:
    """Parse whole VCF record lines into the store's arrays."""
    text, a, starts, ends, t = _split_records(text, n_samples, where)
    n = ends.size
    block, n_alt, dropped, fmt = _fixed_columns(text, starts, t, where)

    # The sample columns, vectorised per FORMAT.
    s_all = t[:, 8:] + 1
    e_all = np.empty_like(s_all)
    e_all[:, :-1] = t[:, 9:]
    e_all[:, -1] = ends
    colons = np.flatnonzero(a == _COLON)
    commas = np.flatnonzero(a == _COMMA) if "AD" in formats else colons[:0]
    gt: np.ndarray | None = None
    calls = {
        key: np.full(
            (n, n_samples, ALT_NUMBER + 1) if FORMAT_FIELDS[key] == "R" else (n, n_samples),
            -1,
            dtype=np.int16,
        )
        for key in formats
    }
    clipped = 0
    rows_of: dict[bytes, list[int]] = {}
    for i, f in enumerate(fmt):
        rows_of.setdefault(f, []).append(i)
    for f, rows_list in rows_of.items():
        rows = slice(None) if len(rows_list) == n else np.array(rows_list)
        row_index = np.arange(n)[rows]
        keys = f.split(b":")
        if b"GT" in keys and keys[0] != b"GT":
            raise where.error(
                int(row_index[0]), f"GT must be the first FORMAT field, not in {f.decode()!r}"
            )
        s_, e_ = s_all[rows].ravel(), e_all[rows].ravel()

        def bad(j: int, problem: str, rows: np.ndarray = row_index) -> InputFileError:
            return where.error(
                int(rows[j // n_samples]), f"sample {where.samples[j % n_samples]}: {problem}"
            )

        for k, key in enumerate(keys):
            name = key.decode()
            if name != "GT" and name not in formats:
                continue
            fs, fe = (s_, e_) if len(keys) == 1 else _piece(colons, s_, e_, k)
            if name == "GT":
                if ploidy is None:
                    ploidy = _first_ploidy(a, fs, fe)
                    if ploidy is None:
                        continue
                if gt is None:
                    gt = np.full((n, n_samples, ploidy), -1, dtype=np.int8)
                columns = (
                    _gt_columns(text, s_all[rows], e_all[rows], ploidy) if len(keys) == 1 else None
                )
                gt[rows] = _gt_field(
                    a, fs, fe, columns, ploidy, n_samples, row_index, n_alt, where, bad
                )
            elif FORMAT_FIELDS[name] == "R":
                calls[name][rows], c = _per_allele_ints(
                    a, commas, fs, fe, len(row_index), n_samples, bad
                )
                clipped += c
            else:
                values, c = _parse_ints(a, fs, fe, bad)
                calls[name][rows] = values.reshape(len(row_index), n_samples)
                clipped += c
    if ploidy is None:
        raise where.error(
            0, "no called genotype (GT) in the first records to tell the ploidy: pass ploidy="
        )
    if gt is None:
        gt = np.full((n, n_samples, ploidy), -1, dtype=np.int8)
    block[GT] = gt
    block.update({CALL_FIELDS[k]: v for k, v in calls.items()})
    return _Parsed(block, ploidy, dropped, clipped)


def _is_float(text: bytes) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def _first_ploidy(a: np.ndarray, s: np.ndarray, e: np.ndarray) -> int | None:
    """The ploidy of the first GT that is not a lone "."."""
    for j in range(s.size):
        text = a[s[j] : e[j]].tobytes()
        if text and text != b".":
            return _gt_ploidy(text)
    return None
