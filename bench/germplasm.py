#!/usr/bin/env python
"""Germplasm database at scale: import rates and search latency, SQLite and PostgreSQL.

Generates (seeded, vectorised, not timed) an MCPD passport file of N accessions
(a quarter with an ``INSTCODE:number`` OTHERNUMB) and long-layout observation
files of M observations over them, then for each engine:

1. a fresh database (SQLite file; a durable PostgreSQL 15 started here),
   ``init_database``;
2. times ``import_passport`` and ``import_observations`` (rows/s, peak RSS of
   this process during the step);
3. times re-importing one observation file (must change nothing);
4. measures the engine's raw bulk-load rate for the same files in the same run
   (SQLite: ``sqlite3`` ``executemany`` into a bare table of the same text
   columns, no index; PostgreSQL: ``COPY`` of the file into a bare table) and
   reports ``our rate / raw rate``: absolute times on shared machines are
   noisy, the ratio much less so;
5. gives 5 % of the accessions a sample in a genotype dataset (untimed), then
   times every search (each filter, sorts by a column and by a trait, the
   deepest page, the accession page; p50/p95 over ``--reps`` random terms),
   next to a ``SELECT 1`` round trip through a fresh session as the floor.

Prints the tables and writes JSON (default ``bench/results/germplasm.json``)::

    {"accessions": N, "observations": M,
     "postgresql": {"import": {"passports": {"ratio": r, ...}, "observations": {...}},
                    "reimport": {...}, "search": {"<query>": {"p50_ms": x, "p95_ms": y}}},
     "sqlite": {...}, "machine": {...}, "params": {...}}

    python bench/germplasm.py --quick
    python bench/germplasm.py                       # 1M accessions, 10M observations
    python bench/germplasm.py --engines sqlite --accessions 200000 --observations 2000000
    python bench/germplasm.py --workdir /tmp/b --keep         # build once, keep the databases
    python bench/germplasm.py --workdir /tmp/b --search-only  # then re-measure the searches
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import math
import os
import platform
import random
import resource
import shutil
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

# This file is named like the package it measures: keep its own folder off the import path.
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).resolve().parent]

import numpy as np  # noqa: E402
import polars as pl  # noqa: E402

from breedhub.germplasm import (  # noqa: E402
    AccessionQuery,
    TraitRange,
    accession_detail,
    default_registry,
    init_database,
    load_traits,
    make_engine,
    search_accessions,
    session_factory,
)
from breedhub.germplasm.mcpd import COLLSRC, COLUMNS, SAMPSTAT, countries  # noqa: E402
from breedhub.germplasm.passport import import_passport  # noqa: E402
from breedhub.germplasm.phenotypes import LONG_COLUMNS, import_observations  # noqa: E402
from breedhub.germplasm.queries import MAX_RESULTS  # noqa: E402
from breedhub.testing import PostgresServer, find_pg_bindir  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
OBS_PER_FILE = 1_000_000
OTHERNUMB_SHARE = 0.25
GENOTYPED_SHARE = 0.05  # accessions with a sample in a genotype dataset
N_STUDIES, N_REPS = 5, 2
INSTITUTES = [f"CHN{i:03d}" for i in range(1, 21)]
ORIGINS = ["CHN", "IND", "PHL", "IDN", "VNM", "THA", "BGD", "JPN", "KOR", "NPL", "PAK", "MMR",
           "LAO", "KHM", "LKA", "BRA", "USA", "FRA", "DEU", "CAN", "AUS", "NGA", "MDG", "EGY",
           "MEX", "PER", "COL", "GBR", "NLD", "ITA"]  # fmt: skip
PREFIX = ["Zhong", "Hua", "Nan", "Xiang", "Yun", "Gui", "Feng", "Jin", "Long", "Chuan", "Shan",
          "Huang", "Bai", "Qing", "Tai", "Min", "Lu", "Ning", "Su", "Wan"]  # fmt: skip
SUFFIX = ["you", "dao", "ai", "zhan", "hong", "xiang", "nuo", "za", "mei", "feng"]
LOCATIONS = ["Wuhan", "Hangzhou", "Changsha", "Nanning", "Kunming", "Chengdu", "Harbin", "Hefei"]


# --------------------------------------------------------------------------- helpers


def reset_peak_rss() -> bool:
    """Reset this process's peak RSS (Linux: clear_refs 5); False where unsupported."""
    try:
        Path("/proc/self/clear_refs").write_text("5")
        return True
    except OSError:
        return False


def peak_rss_mb() -> float:
    """Peak RSS since the last reset (VmHWM), else since start (getrusage)."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def timed(fn: Callable[[], Any]) -> tuple[Any, float, float]:
    """(result, seconds, peak RSS MB during the call)."""
    reset_peak_rss()
    t0 = time.perf_counter()
    out = fn()
    return out, time.perf_counter() - t0, round(peak_rss_mb(), 1)


def log(msg: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", flush=True)


def pick(values: list[Any], idx: np.ndarray) -> pl.Series:
    """``values[idx]`` as a polars Series (a vectorised gather)."""
    return pl.Series(values)[idx]


def dates(rng: np.random.Generator, n: int, start: str, end: str) -> pl.Series:
    lo = np.datetime64(start, "D").astype(np.int64)
    hi = np.datetime64(end, "D").astype(np.int64)
    days = rng.integers(lo, hi, n)
    return pl.Series(days.astype("datetime64[D]")).cast(pl.Date)


# --------------------------------------------------------------------------- data


def generate_passport(path: Path, n: int, rng: np.random.Generator) -> pl.DataFrame:
    """Write an MCPD CSV of ``n`` valid accessions; return (instcode, accenumb, species, name)."""
    species = list(default_registry())
    sp_idx = rng.integers(0, len(species), n)
    p1, s1 = rng.integers(0, len(PREFIX), n), rng.integers(0, len(SUFFIX), n)
    p2, s2 = rng.integers(0, len(PREFIX), n), rng.integers(0, len(SUFFIX), n)
    num1, num2 = rng.integers(1, 10_000, n), rng.integers(1, 1000, n)
    two_names = rng.random(n) < 0.5
    origins = [c for c in ORIGINS if c in countries()]
    df = pl.DataFrame(
        {
            "INSTCODE": pick(INSTITUTES, rng.integers(0, len(INSTITUTES), n)),
            "ACCENUMB": pl.int_range(1, n + 1, eager=True).cast(pl.String).str.zfill(7),
            "GENUS": pick([s.genus for s in species], sp_idx),
            "SPECIES": pick([s.species for s in species], sp_idx),
            "CROPNAME": pick([s.common_name_en for s in species], sp_idx),
            "_species": pick([s.key for s in species], sp_idx),
            "_p1": pick(PREFIX, p1),
            "_s1": pick(SUFFIX, s1),
            "_n1": pl.Series(num1).cast(pl.String),
            "_p2": pick(PREFIX, p2),
            "_s2": pick(SUFFIX, s2),
            "_n2": pl.Series(num2).cast(pl.String),
            "_two": pl.Series(two_names),
            "ACQDATE": dates(rng, n, "1970-01-01", "2023-12-31"),
            "COLLDATE": dates(rng, n, "1950-01-01", "1969-12-31"),
            "ORIGCTY": pick(origins, rng.integers(0, len(origins), n)),
            "DECLATITUDE": pl.Series(np.round(rng.uniform(-45, 55, n), 4)),
            "DECLONGITUDE": pl.Series(np.round(rng.uniform(-120, 150, n), 4)),
            "ELEVATION": pl.Series(rng.integers(0, 3000, n)),
            "SAMPSTAT": pick([str(c) for c in SAMPSTAT], rng.integers(0, len(SAMPSTAT), n)),
            "COLLSRC": pick([str(c) for c in COLLSRC], rng.integers(0, len(COLLSRC), n)),
            "STORAGE": pick(["13", "12;13", "13;20", "20"], rng.integers(0, 4, n)),
            "MLSSTAT": pick(["0", "1"], rng.integers(0, 2, n)),
            "DONORCODE": pick(["", *INSTITUTES[:5]], rng.integers(0, 6, n)),
            "_other": pl.Series(rng.random(n) < OTHERNUMB_SHARE),
            "_oinst": pick(INSTITUTES, rng.integers(0, len(INSTITUTES), n)),
        }
    )
    name1 = pl.concat_str([pl.col("_p1"), pl.col("_s1"), pl.lit(" "), pl.col("_n1")])
    name2 = pl.concat_str([pl.col("_p2"), pl.col("_s2"), pl.lit(" No."), pl.col("_n2")])
    df = df.with_columns(
        ACCENUMB=pl.concat_str([pl.lit("BH"), pl.col("ACCENUMB")]),
        ACCENAME=pl.when(pl.col("_two"))
        .then(pl.concat_str([name1, pl.lit(";"), name2]))
        .otherwise(name1),
        ACQDATE=pl.col("ACQDATE").dt.strftime("%Y%m%d"),
        COLLDATE=pl.col("COLLDATE").dt.strftime("%Y%m%d"),
        DECLATITUDE=pl.col("DECLATITUDE").cast(pl.String),
        DECLONGITUDE=pl.col("DECLONGITUDE").cast(pl.String),
        ELEVATION=pl.col("ELEVATION").cast(pl.String),
        REMARKS=pl.lit("benchmark"),
        # MCPD "INSTCODE:number" (a quarter of the accessions), found with or without the prefix
        OTHERNUMB=pl.when(pl.col("_other"))
        .then(pl.concat_str([pl.col("_oinst"), pl.lit(":ZD-"), pl.col("ACCENUMB").str.slice(2)]))
        .otherwise(pl.lit("")),
    )
    out = df.select([pl.col(c) if c in df.columns else pl.lit("").alias(c) for c in COLUMNS])
    out.write_csv(path)
    return df.select(
        pl.col("INSTCODE").alias("instcode"),
        pl.col("ACCENUMB").alias("accenumb"),
        pl.col("_species").alias("species"),
        name1.alias("name"),
        pl.col("ORIGCTY").alias("origin"),
        pl.col("INSTCODE").alias("institute"),
        pl.col("SAMPSTAT").cast(pl.Int64).alias("sampstat"),
        pl.col("OTHERNUMB").alias("othernumb"),
    )


def generate_observations(
    workdir: Path, accessions: pl.DataFrame, m: int, rng: np.random.Generator
) -> tuple[list[Path], int]:
    """Write long-layout observation files (one trial, ~1M rows each); return (files, rows).

    Each file is one trial of one species: N_STUDIES studies (location x year),
    N_REPS replicate plots per accession, one value per plot for each of the
    species' numerical variables, inside the variable's [min, max].
    """
    variables = load_traits(default_registry())
    by_species: dict[str, list[Any]] = {}
    for v in variables:
        if v.data_type == "numerical":
            by_species.setdefault(v.species, []).append(v)
    species_keys = sorted(by_species)
    n_files = max(2, math.ceil(m / OBS_PER_FILE))
    per_file = m // n_files
    files, total = [], 0
    for f in range(n_files):
        sp = species_keys[f % len(species_keys)]
        vars_ = by_species[sp]
        pool = accessions.filter(pl.col("species") == sp)
        n_acc = min(pool.height, max(1, per_file // (N_STUDIES * N_REPS * len(vars_))))
        chosen = pool[np.sort(rng.choice(pool.height, n_acc, replace=False))]
        n_var = len(vars_)
        n = N_STUDIES * n_acc * N_REPS * n_var
        # Grid study x accession x replicate x variable, in that order.
        st = np.repeat(np.arange(N_STUDIES), n_acc * N_REPS * n_var)
        acc = np.tile(np.repeat(np.arange(n_acc), N_REPS * n_var), N_STUDIES)
        rep = np.tile(np.repeat(np.arange(N_REPS), n_var), N_STUDIES * n_acc)
        var = np.tile(np.arange(n_var), N_STUDIES * n_acc * N_REPS)
        plot = acc * N_REPS + rep
        means = np.array([v.mean for v in vars_])
        sds = np.array([v.sd for v in vars_])
        h2 = np.array([v.heritability for v in vars_])
        lo = np.array([v.min if v.min is not None else -np.inf for v in vars_])
        hi = np.array([v.max if v.max is not None else np.inf for v in vars_])
        genetic = rng.normal(0, 1, (n_acc, n_var)) * sds * np.sqrt(h2)
        value = (
            means[var] + genetic[acc, var] + rng.normal(0, 1, n) * sds[var] * np.sqrt(1 - h2[var])
        )
        value = np.round(np.clip(value, lo[var], hi[var]), 2)
        year = 2016 + st
        study_date = np.array(
            [np.datetime64(f"{2016 + s}-05-01") for s in range(N_STUDIES)], dtype="datetime64[D]"
        )
        obs_date = study_date[st] + (30 + 20 * var + rng.integers(0, 10, N_STUDIES)[st])
        trial = f"BENCH-{sp}-{f:02d}"
        studies = [f"{trial}-{LOCATIONS[s % len(LOCATIONS)]}-{2016 + s}" for s in range(N_STUDIES)]
        df = pl.DataFrame(
            {
                "trial": pl.Series([trial]).new_from_index(0, n),
                "study": pick(studies, st),
                "location": pick(LOCATIONS, st % len(LOCATIONS)),
                "year": pl.Series(year).cast(pl.String),
                "season": pick(["wet", "dry"], st % 2),
                "instcode": chosen["instcode"][acc],
                "accenumb": chosen["accenumb"][acc],
                "unit": pl.Series(plot).cast(pl.String).str.zfill(6),
                "replicate": pl.Series(rep + 1).cast(pl.String),
                "block": pl.Series(rep + 1).cast(pl.String),
                "row": pl.Series(plot // 50 + 1).cast(pl.String),
                "col": pl.Series(plot % 50 + 1).cast(pl.String),
                "date": pl.Series(obs_date).cast(pl.Date).dt.strftime("%Y-%m-%d"),
                "variable": pick([v.name for v in vars_], var),
                "value": pl.Series(value).cast(pl.String),
            }
        )
        df = df.with_columns(unit=pl.concat_str([pl.lit("P"), pl.col("unit")]))
        assert tuple(df.columns) == LONG_COLUMNS
        path = workdir / f"observations_{f:02d}.csv"
        df.write_csv(path)
        files.append(path)
        total += n
    return files, total


# --------------------------------------------------------------------------- raw baselines


def raw_sqlite(db: Path, table: str, files: list[Path]) -> float:
    """Seconds to read the CSV files and executemany them into a bare SQLite table."""
    db.unlink(missing_ok=True)
    con = sqlite3.connect(db)
    con.execute("PRAGMA journal_mode=WAL")
    con.execute("PRAGMA synchronous=NORMAL")
    cols = pl.read_csv(files[0], n_rows=1, infer_schema=False).columns
    con.execute(f"CREATE TABLE {table} ({', '.join(f'{c} TEXT' for c in cols)})")
    con.commit()
    sql = f"INSERT INTO {table} VALUES ({', '.join('?' * len(cols))})"
    t0 = time.perf_counter()
    for path in files:
        df = pl.read_csv(path, infer_schema=False)
        cur = con.cursor()
        for start in range(0, df.height, 50_000):
            cur.executemany(sql, df.slice(start, 50_000).iter_rows())
        con.commit()
    seconds = time.perf_counter() - t0
    con.close()
    for suffix in ("", "-wal", "-shm"):
        Path(f"{db}{suffix}").unlink(missing_ok=True)
    return seconds


def raw_postgres(url: str, table: str, files: list[Path]) -> float:
    """Seconds to COPY the CSV files into a bare (logged, index-free) PostgreSQL table."""
    import psycopg

    with psycopg.connect(url.replace("postgresql+psycopg", "postgresql")) as con:
        cols = pl.read_csv(files[0], n_rows=1, infer_schema=False).columns
        con.execute(f"DROP TABLE IF EXISTS {table}")
        con.execute(f"CREATE TABLE {table} ({', '.join(f'{c} text' for c in cols)})")
        con.commit()
        t0 = time.perf_counter()
        with con.cursor() as cur:
            for path in files:
                with (
                    cur.copy(f"COPY {table} FROM STDIN WITH (FORMAT csv, HEADER true)") as copy,
                    open(path, "rb") as fh,
                ):
                    while chunk := fh.read(8 << 20):
                        copy.write(chunk)
                con.commit()
        seconds = time.perf_counter() - t0
        con.execute(f"DROP TABLE {table}")
        con.commit()
    return seconds


# --------------------------------------------------------------------------- searches


def search_cases(accessions: pl.DataFrame, rng: random.Random) -> dict[str, Callable[[], Any]]:
    """Query name -> a function returning a fresh random query callable(session).

    Each filter alone, the usual combinations, a sort by a column and by a
    trait, the deepest pages a search allows, and the accession page.
    """
    variables = [v for v in load_traits(default_registry()) if v.data_type == "numerical"]
    species = sorted(accessions["species"].unique().to_list())
    names = accessions["name"].to_list()
    numbers = accessions["accenumb"].to_list()
    others = [o for o in accessions["othernumb"].to_list() if o]
    refs = accessions.select(pl.concat_str(["instcode", "accenumb"], separator=":"))
    refs = refs.to_series().to_list()
    institutes = sorted(accessions["institute"].unique().to_list())
    origins = [c for c in ORIGINS if c in countries()]
    last_page = MAX_RESULTS // 25  # the deepest page of 25 a search may ask for

    def search(**kw: Any) -> Any:
        return lambda s: search_accessions(s, AccessionQuery(**kw))

    def name_prefix() -> Any:
        name = rng.choice(names)
        return search(text=name[: name.index(" ") + 2])  # "Zhongyou 1": a few hundred hits at 1M

    def trait_range() -> Any:
        v = rng.choice(variables)
        a = v.mean + rng.uniform(-1.0, 0.5) * v.sd
        return search(traits=(TraitRange(v.name, a, a + 0.5 * v.sd),), sort=v.name, descending=True)

    def trait_sort() -> Any:
        v = rng.choice(variables)
        return search(traits=(TraitRange(v.name),), sort=v.name, descending=True)

    def detail() -> Any:
        ref = rng.choice(refs)
        return lambda s: accession_detail(s, ref)

    return {
        "name prefix": name_prefix,
        "accession number": lambda: search(text=rng.choice(numbers)),
        "other number with INSTCODE: prefix": lambda: search(text=rng.choice(others)),
        "no filter, page 1": lambda: search(),
        "species": lambda: search(species=rng.choice(species)),
        "institute": lambda: search(institute=rng.choice(institutes)),
        "origin": lambda: search(origin=rng.choice(origins)),
        "sampstat": lambda: search(sampstat=rng.choice([100, 300, 400, 410, 500])),
        "species + origin + sampstat": lambda: search(
            species=rng.choice(species),
            origin=rng.choice(origins),
            sampstat=rng.choice([100, 300, 400, 410, 500]),
        ),
        "genotyped": lambda: search(genotyped=True),
        "species + not genotyped": lambda: search(species=rng.choice(species), genotyped=False),
        "species, sort name": lambda: search(species=rng.choice(species), sort="name"),
        "species, sort accenumb desc": lambda: search(
            species=rng.choice(species), sort="accenumb", descending=True
        ),
        "trait mean range, sort by trait": trait_range,
        "trait, sort by trait": trait_sort,
        "species, page 200": lambda: search(species=rng.choice(species), page=200),
        f"species, page {last_page} (deepest)": lambda: search(
            species=rng.choice(species), page=last_page
        ),
        "accession detail": detail,
    }


def measure_searches(
    engine: Any, accessions: pl.DataFrame, reps: int, seed: int
) -> dict[str, dict[str, float | None | str]]:
    from sqlalchemy import text

    factory = session_factory(engine)
    cases = search_cases(accessions, random.Random(seed))

    def floor() -> Any:
        return lambda s: s.execute(text("SELECT 1")).scalar()

    out: dict[str, dict[str, Any]] = {}
    for name, make in {"SELECT 1 (floor)": floor, **cases}.items():
        times, hits = [], []
        try:
            for i in range(reps + 2):
                q = make()
                t0 = time.perf_counter()
                with factory() as s:
                    res = q(s)
                ms = (time.perf_counter() - t0) * 1000
                if i >= 2:  # two warm-up runs
                    times.append(ms)
                    hits.append(getattr(res, "total", 1))
        except Exception as exc:  # a failing query is a finding: record it, measure the rest
            msg = f"{type(exc).__name__}: {str(exc).splitlines()[0]}"
            out[name] = {"p50_ms": None, "p95_ms": None, "error": msg}
            log(f"  {name}: FAILED {msg}")
            continue
        times.sort()
        out[name] = {
            "p50_ms": round(statistics.median(times), 3),
            "p95_ms": round(times[min(len(times) - 1, math.ceil(0.95 * len(times)) - 1)], 3),
            "max_ms": round(times[-1], 3),
            "median_hits": statistics.median(hits),
        }
        log(f"  {name}: p50 {out[name]['p50_ms']:.1f} ms, p95 {out[name]['p95_ms']:.1f} ms")
    return out


# --------------------------------------------------------------------------- per engine


def add_genotypes(engine: Any, share: float, seed: int) -> int:
    """Give ``share`` of the accessions a sample in their species' genotype dataset (untimed).

    The "genotyped" filters then have both kinds of accession to tell apart.
    """
    from sqlalchemy import select

    from breedhub.germplasm.bulk import insert_frame
    from breedhub.germplasm.models import (
        Accession,
        GenotypeDataset,
        GenotypeDatasetSample,
        Sample,
    )

    rng = np.random.default_rng(seed)
    with session_factory(engine)() as s, s.begin():
        acc = pl.DataFrame(
            s.execute(select(Accession.id, Accession.species_id)).all(),
            schema=["accession_id", "species_id"],
            orient="row",
        )
        chosen = acc.filter(pl.Series(rng.random(acc.height) < share))
        insert_frame(
            s,
            Sample,
            chosen.select(
                pl.concat_str([pl.lit("BENCH-S"), pl.col("accession_id").cast(pl.String)]).alias(
                    "name"
                ),
                "accession_id",
                tissue=pl.lit("leaf"), plate=pl.lit(""), well=pl.lit(""), notes=pl.lit(""),
            ),
        )  # fmt: skip
        ids = pl.DataFrame(
            s.execute(
                select(Sample.id, Sample.accession_id).where(Sample.name.like("BENCH-S%"))
            ).all(),
            schema=["sample_id", "accession_id"],
            orient="row",
        )
        chosen = chosen.join(ids, on="accession_id")
        for (species_id,), part in chosen.group_by(["species_id"]):
            ds = GenotypeDataset(name=f"BENCH-GT-{species_id}", species_id=species_id,
                                 path="/nonexistent", ploidy=2, n_samples=part.height)  # fmt: skip
            s.add(ds)
            s.flush()
            insert_frame(
                s,
                GenotypeDatasetSample,
                part.select(
                    pl.lit(ds.id).alias("dataset_id"),
                    "sample_id",
                    pl.int_range(0, part.height).alias("column_index"),
                ),
            )
    return chosen.height


def import_all(
    name: str,
    engine: Any,
    raw_load: Callable[[str, list[Path]], float],
    passport: Path,
    obs_files: list[Path],
    n_obs: int,
    accessions: pl.DataFrame,
    args: argparse.Namespace,
) -> dict[str, Any]:
    """Time the imports and the re-import, and the engine's raw load of the same files."""
    registry = default_registry()
    init_database(engine, registry, load_traits(registry))
    res: dict[str, Any] = {}

    log(f"{name}: import_passport {passport.name}")
    rep, secs, rss = timed(lambda: import_passport(engine, passport, registry=registry))
    assert rep.inserted == accessions.height, rep
    res["passports"] = {"rows": rep.rows, "inserted": rep.inserted, "seconds": round(secs, 2),
                        "rows_per_s": round(rep.rows / secs), "peak_rss_mb": rss}  # fmt: skip
    log(f"{name}: passport {rep.rows} rows in {secs:.1f} s ({rep.rows / secs:,.0f}/s)")

    per_file, peak = [], 0.0
    t_obs = 0.0
    for path in obs_files:
        rep, secs, rss = timed(lambda p=path: import_observations(engine, p))
        assert rep.inserted == rep.rows, rep
        t_obs += secs
        peak = max(peak, rss)
        per_file.append({"file": path.name, "rows": rep.rows, "seconds": round(secs, 2),
                         "rows_per_s": round(rep.rows / secs), "peak_rss_mb": rss})  # fmt: skip
        log(f"{name}: {path.name} {rep.rows} rows in {secs:.1f} s ({rep.rows / secs:,.0f}/s)")
    res["observations"] = {"rows": n_obs, "files": len(obs_files), "seconds": round(t_obs, 2),
                           "rows_per_s": round(n_obs / t_obs), "peak_rss_mb": peak,
                           "per_file": per_file}  # fmt: skip

    log(f"{name}: re-import {obs_files[0].name}")
    rep, secs, rss = timed(lambda: import_observations(engine, obs_files[0]))
    res["reimport"] = {"file": obs_files[0].name, "rows": rep.rows, "inserted": rep.inserted,
                       "updated": rep.updated, "unchanged": rep.unchanged,
                       "seconds": round(secs, 2), "rows_per_s": round(rep.rows / secs),
                       "peak_rss_mb": rss}  # fmt: skip
    log(f"{name}: re-import {rep} in {secs:.1f} s")

    log(f"{name}: raw baseline")
    raw_p = raw_load("raw_passport", [passport])
    raw_o = raw_load("raw_observation", obs_files)
    for key, raw_s in (("passports", raw_p), ("observations", raw_o)):
        r = res[key]
        r["raw_seconds"] = round(raw_s, 2)
        r["raw_rows_per_s"] = round(r["rows"] / raw_s)
        r["ratio"] = round(r["rows_per_s"] / r["raw_rows_per_s"], 3)
    return res


def bench_engine(
    name: str,
    url: str,
    raw_load: Callable[[str, list[Path]], float],
    passport: Path,
    obs_files: list[Path],
    n_obs: int,
    accessions: pl.DataFrame,
    args: argparse.Namespace,
) -> dict[str, Any]:
    """Import (unless ``--search-only``), then measure the searches."""
    engine = make_engine(url)
    res: dict[str, Any] = {"size": {"accessions": accessions.height, "observations": n_obs}}
    if not args.search_only:
        imported = import_all(name, engine, raw_load, passport, obs_files, n_obs, accessions, args)
        res["reimport"] = imported.pop("reimport")
        res["import"] = imported
        n = add_genotypes(engine, GENOTYPED_SHARE, args.seed)
        log(f"{name}: {n:,} accessions given a genotyped sample")
    if engine.dialect.name == "postgresql":
        # What autovacuum does within a minute of a load (PostgreSQL >= 13 vacuums
        # insert-only tables too): statistics, and the visibility map that lets
        # index-only scans skip the table. Done here for repeatability.
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as c:
            c.exec_driver_sql("VACUUM ANALYZE")
    log(f"{name}: searches ({args.reps} reps each)")
    res["search"] = measure_searches(engine, accessions, args.reps, args.seed)
    engine.dispose()
    return res


def pg_version(url: str) -> str:
    from sqlalchemy import text

    eng = make_engine(url)
    with eng.connect() as c:
        v = c.execute(text("SHOW server_version")).scalar()
    eng.dispose()
    return str(v)


class BenchPostgres(PostgresServer):
    """A durable PostgreSQL server whose cluster can be kept and started again."""

    def start(self) -> None:
        if not (self.datadir / "PG_VERSION").exists():
            super().start()
            return
        opts = f"-p {self.port} -k {self.root} -c listen_addresses=127.0.0.1"
        self._run(str(self.bindir / "pg_ctl"), "-D", str(self.datadir), "-l",
                  str(self.root / "log"), "-w", "-t", "60", "start", "-o", opts)  # fmt: skip

    def stop(self, keep: bool = False) -> None:
        if not keep:
            super().stop()
            return
        subprocess.run([*self.as_user, str(self.bindir / "pg_ctl"), "-D", str(self.datadir),
                        "-m", "fast", "stop"], capture_output=True)  # fmt: skip


# --------------------------------------------------------------------------- main


def _ms(v: float | None) -> str:
    return "error" if v is None else f"{v:.1f}"


def print_tables(doc: dict[str, Any], engines: list[str]) -> None:
    print()
    print(f"{doc['accessions']:,} accessions, {doc['observations']:,} observations")
    print()
    head = f"{'engine':<11} {'step':<13} {'rows':>11} {'seconds':>9} {'rows/s':>10} " \
           f"{'raw rows/s':>11} {'ratio':>6} {'peak RSS MB':>12}"  # fmt: skip
    print(head)
    print("-" * len(head))
    for eng in engines:
        r = doc[eng]
        steps = {**r.get("import", {}), "reimport": r.get("reimport")}
        for step, x in steps.items():
            if not x:
                continue
            raw = f"{x['raw_rows_per_s']:>11,}" if "raw_rows_per_s" in x else f"{'':>11}"
            ratio = f"{x['ratio']:>6.2f}" if "ratio" in x else f"{'':>6}"
            print(f"{eng:<11} {step:<13} {x['rows']:>11,} {x['seconds']:>9.1f} "
                  f"{x['rows_per_s']:>10,} {raw} {ratio} {x['peak_rss_mb']:>12,.0f}")  # fmt: skip
    print()
    head = f"{'query':<38}" + "".join(f" {e + ' p50':>15} {e + ' p95':>15}" for e in engines)
    print(head + "   (ms)")
    print("-" * len(head))
    queries = list(dict.fromkeys(q for e in engines for q in doc[e].get("search", {})))
    for q in queries:
        cells = "".join(
            f" {_ms(doc[e].get('search', {}).get(q, {}).get('p50_ms')):>15}"
            f" {_ms(doc[e].get('search', {}).get(q, {}).get('p95_ms')):>15}"
            for e in engines
        )
        print(f"{q:<38}{cells}")
    print()


def parse_args() -> argparse.Namespace:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--accessions", type=int, default=1_000_000)
    ap.add_argument("--observations", type=int, default=10_000_000)
    ap.add_argument("--engines", default="sqlite,postgresql")
    ap.add_argument("--out", type=Path, default=ROOT / "bench" / "results" / "germplasm.json")
    ap.add_argument("--workdir", type=Path, default=None, help="default: a temporary directory")
    ap.add_argument("--reps", type=int, default=50, help="repetitions per search")
    ap.add_argument("--seed", type=int, default=20240601)
    ap.add_argument("--quick", action="store_true", help="20,000 accessions, 200,000 observations")
    ap.add_argument(
        "--keep",
        action="store_true",
        help="keep the work directory and its databases (for --search-only)",
    )
    ap.add_argument(
        "--search-only",
        action="store_true",
        help="measure the searches on the databases a --keep run left in --workdir",
    )
    args = ap.parse_args()  # fmt: skip
    if args.quick:
        args.accessions, args.observations = 20_000, 200_000
    args.engine_list = [e.strip() for e in args.engines.split(",") if e.strip()]
    unknown = set(args.engine_list) - {"sqlite", "postgresql"}
    if unknown:
        ap.error(f"unknown engine(s): {', '.join(sorted(unknown))}")
    if args.search_only and (args.workdir is None or not (args.workdir / "build.json").exists()):
        ap.error("--search-only needs the --workdir of an earlier --keep run")
    return args


def prepare_data(args: argparse.Namespace, workdir: Path) -> tuple[pl.DataFrame, list[Path], int]:
    """Generate the files (or, for --search-only, read what the kept run generated)."""
    if args.search_only:
        build = json.loads((workdir / "build.json").read_text())
        accessions = pl.read_parquet(workdir / "accessions.parquet")
        log(f"reusing {workdir}: {accessions.height:,} accessions, "
            f"{build['observations']:,} observations")  # fmt: skip
        return accessions, [workdir / f for f in build["observation_files"]], build["observations"]
    rng = np.random.default_rng(args.seed)
    log(f"generating {args.accessions:,} accessions, {args.observations:,} observations "
        f"in {workdir}")  # fmt: skip
    t0 = time.perf_counter()
    accessions = generate_passport(workdir / "passport.csv", args.accessions, rng)
    obs_files, n_obs = generate_observations(workdir, accessions, args.observations, rng)
    log(f"generated in {time.perf_counter() - t0:.0f} s: {len(obs_files)} observation "
        f"files, {n_obs:,} rows")  # fmt: skip
    if args.keep:
        accessions.write_parquet(workdir / "accessions.parquet")
        (workdir / "build.json").write_text(json.dumps({
            "accessions": accessions.height, "observations": n_obs,
            "observation_files": [p.name for p in obs_files]}))  # fmt: skip
    return accessions, obs_files, n_obs


def new_document(args: argparse.Namespace, accessions: int, n_obs: int, n_files: int) -> dict:
    """The result file's frame: sizes, machine, parameters; engines are added as they run."""
    return {
        "benchmark": "germplasm",
        "accessions": accessions,
        "observations": n_obs,
        "machine": {
            "cpu_count": os.cpu_count(),
            "cpu": platform.processor() or platform.machine(),
            "memory_gb": round(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30, 1),
            "python": platform.python_version(),
            "polars": pl.__version__,
            "sqlite": sqlite3.sqlite_version,
            "postgresql": None,
        },
        "params": {
            "observation_files": n_files,
            "studies_per_file": N_STUDIES,
            "replicates": N_REPS,
            "othernumb_share": OTHERNUMB_SHARE,
            "genotyped_share": GENOTYPED_SHARE,
            "engines": args.engine_list,
            "search_reps": args.reps,
            "seed": args.seed,
            "quick": args.quick,
            "search_only": args.search_only,
            "postgresql_durable": True,
            "ratio": "our rows/s divided by the raw engine's bulk-load rows/s of the same "
            "CSV files in the same run (SQLite: executemany into a bare TEXT table; "
            "PostgreSQL: COPY into a bare table)",
            "search": "p50/p95 over --reps random terms per query, one client, warm cache, "
            "each through a fresh session; PostgreSQL after VACUUM ANALYZE",
        },
    }


def write_json(doc: dict[str, Any], out: Path) -> None:
    """Write ``doc``; what this run did not measure is kept from ``out`` if of the same size.

    (An engine not run, or the imports of a --search-only run.)
    """
    doc["date"] = dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")
    before: dict[str, Any] = {}
    if out.exists():
        try:
            before = json.loads(out.read_text())
        except ValueError:
            before = {}
    if (before.get("accessions"), before.get("observations")) == (
        doc["accessions"], doc["observations"]):  # fmt: skip
        for eng in ("sqlite", "postgresql"):
            if isinstance(before.get(eng), dict):
                doc[eng] = {**before[eng], **doc.get(eng, {})}
        if not doc["machine"]["postgresql"]:
            doc["machine"]["postgresql"] = before.get("machine", {}).get("postgresql")
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(doc, indent=2) + "\n")
    log(f"wrote {out}")


def run_sqlite(args: argparse.Namespace, workdir: Path, data: tuple, keep: bool) -> dict:
    passport, obs_files, n_obs, accessions = data
    db = workdir / "bench.sqlite"
    if not args.search_only:
        for p in workdir.glob("bench.sqlite*"):
            p.unlink()
    res = bench_engine(
        "sqlite", f"sqlite:///{db}",
        lambda table, files: raw_sqlite(workdir / "raw.sqlite", table, files),
        passport, obs_files, n_obs, accessions, args,
    )  # fmt: skip
    res["db_size_mb"] = round(sum(p.stat().st_size for p in workdir.glob("bench.sqlite*")) / 2**20)
    if not keep:
        for p in workdir.glob("bench.sqlite*"):
            p.unlink()
    return res


def run_postgres(
    args: argparse.Namespace, workdir: Path, data: tuple, keep: bool, machine: dict
) -> dict | None:
    passport, obs_files, n_obs, accessions = data
    bindir = find_pg_bindir()
    if bindir is None:
        log("postgresql: no pg_ctl found; skipped")
        return None
    server = BenchPostgres(bindir, workdir / "pg", durable=True)
    if not args.search_only:
        shutil.rmtree(server.root, ignore_errors=True)
    server.start()
    try:
        if args.search_only:
            url, raw_url = server.url("bench"), server.url("raw")
        else:
            url, raw_url = server.create_database("bench"), server.create_database("raw")
        machine["postgresql"] = pg_version(url)
        res = bench_engine(
            "postgresql", url, lambda table, files: raw_postgres(raw_url, table, files),
            passport, obs_files, n_obs, accessions, args,
        )  # fmt: skip
        size = subprocess.run(
            ["du", "-sm", str(server.datadir)], capture_output=True, text=True
        ).stdout.split()
        res["db_size_mb"] = int(size[0]) if size else None
        return res
    finally:
        server.stop(keep=keep)


def main() -> int:
    args = parse_args()
    own_workdir = args.workdir is None
    workdir = Path(tempfile.mkdtemp(prefix="bench-germplasm-")) if own_workdir else args.workdir
    workdir.mkdir(parents=True, exist_ok=True)
    os.chmod(workdir, 0o755)  # the PostgreSQL server runs as user postgres
    keep = args.keep or args.search_only
    ran: list[str] = []
    try:
        accessions, obs_files, n_obs = prepare_data(args, workdir)
        doc = new_document(args, accessions.height, n_obs, len(obs_files))
        data = (workdir / "passport.csv", obs_files, n_obs, accessions)
        for name in args.engine_list:
            if name == "sqlite":
                res = run_sqlite(args, workdir, data, keep)
            else:
                res = run_postgres(args, workdir, data, keep, doc["machine"])
            if res is not None:
                doc[name] = res
                ran.append(name)
                write_json(doc, args.out)  # partial results survive a later failure
    finally:
        if own_workdir and not keep:
            shutil.rmtree(workdir, ignore_errors=True)
    if not ran:
        log("no engine ran")
        return 1
    print_tables(doc, ran)
    return 0


if __name__ == "__main__":
    sys.exit(main())
