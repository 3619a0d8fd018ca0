"""Data for the portal load benchmark: accessions, a genotype store and one large model run.

Used by ``bench/portal.py``; not a benchmark on its own. Reuses
``bench/germplasm.py`` for the MCPD passport (generated and imported the way
that benchmark does), then adds what the portal's prediction pages need:

- a genotype dataset: a real HDF5 store (``genomics.store.write_genotype_store``)
  of ``n_genotyped`` accessions of the main species x ``n_markers`` markers,
  homozygous lines (the cross planner's progeny variance needs inbred parents),
  ploidy from the species registry, registered with its samples;
- one model run of that species with ``n_traits`` traits x enough accessions
  to make ``n_predictions`` predictions, ranked in each trait's breeding
  direction as ``pipelines.register`` ranks them, loaded with PostgreSQL
  ``COPY`` (``add_model_run`` writes the run row, with no predictions).

A genebank is rarely uniform over species: when the main species holds too
few accessions for the run, the passport file is rewritten so that the main
species holds what the run needs (the others share the rest).
"""

from __future__ import annotations

import importlib.util
import io
import math
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl

from breedhub.base.provenance import provenance
from breedhub.genomics.store import write_genotype_store
from breedhub.germplasm import default_registry, init_database, load_traits, make_engine
from breedhub.germplasm.db import transaction
from breedhub.germplasm.model_runs import add_model_run
from breedhub.germplasm.passport import import_passport
from breedhub.germplasm.queries import species_accession_ids
from breedhub.germplasm.users import add_user
from breedhub.pipelines.register import register_genotype_dataset

BENCH = Path(__file__).resolve().parent


def _bench_germplasm() -> Any:
    """``bench/germplasm.py`` as a module (its name would shadow nothing on import, but be safe)."""
    name = "bench_germplasm"
    if name in sys.modules:
        return sys.modules[name]
    spec = importlib.util.spec_from_file_location(name, BENCH / "germplasm.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


bg = _bench_germplasm()
log = bg.log

USER, PASSWORD, INSTITUTE = "bench", "pw-bench-portal", "CHN001"


@dataclass
class PortalData:
    """What the client needs to make realistic requests, and how long loading took."""

    species: str
    run_id: int
    dataset_id: int
    traits: list[str]
    directions: dict[str, str]
    accession_ids: np.ndarray  # every accession id
    predicted_ids: np.ndarray  # accessions of the run
    genotyped_ids: np.ndarray  # accessions in the genotype store (a subset of predicted_ids)
    name_prefixes: list[str]
    species_keys: list[str]
    n_accessions: int
    n_predictions: int
    seconds: dict[str, float] = field(default_factory=dict)


def _skew_species(
    passport: Path, acc: pl.DataFrame, main: str, need: int, seed: int
) -> pl.DataFrame:
    """Give species ``main`` at least ``need`` accessions by rewriting others' species columns."""
    have = int((acc["species"] == main).sum())
    if have >= need:
        return acc
    rng = np.random.default_rng(seed)
    others = np.flatnonzero((acc["species"] != main).to_numpy())
    moved = np.zeros(acc.height, dtype=bool)
    moved[rng.choice(others, need - have, replace=False)] = True
    sp = default_registry()[main]
    df = pl.read_csv(passport, infer_schema=False)
    mask = pl.Series(moved)
    df = df.with_columns(
        GENUS=pl.when(mask).then(pl.lit(sp.genus)).otherwise(pl.col("GENUS")),
        SPECIES=pl.when(mask).then(pl.lit(sp.species)).otherwise(pl.col("SPECIES")),
        CROPNAME=pl.when(mask).then(pl.lit(sp.common_name_en)).otherwise(pl.col("CROPNAME")),
    )
    df.write_csv(passport)
    return acc.with_columns(species=pl.when(mask).then(pl.lit(main)).otherwise(pl.col("species")))


def _rank(gebv: np.ndarray, direction: str, optimum: float | None, baseline: float) -> np.ndarray:
    """Rank 1 = best in the trait's direction (as ``pipelines.register`` ranks a run)."""
    if direction == "lower":
        key = gebv
    elif direction == "optimum" and optimum is not None:
        key = np.abs(baseline + gebv - optimum)
    else:
        key = -gebv
    order = np.argsort(key, kind="stable")
    rank = np.empty(len(order), dtype=np.int64)
    rank[order] = np.arange(1, len(order) + 1)
    return rank


def _genotypes(n_samples: int, n_markers: int, ploidy: int, n_chrom: int, genome_mb: float,
               rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray, np.ndarray]:  # fmt: skip
    """Homozygous lines: (gt (markers, samples, ploidy), chrom, pos), markers sorted by position."""
    freq = rng.uniform(0.1, 0.9, n_markers)
    allele = (rng.random((n_markers, n_samples)) < freq[:, None]).astype(np.int8)
    gt = np.repeat(allele[:, :, None], ploidy, axis=2)
    chrom_idx = np.sort(rng.integers(0, n_chrom, n_markers))
    chrom_len = max(1, int(genome_mb * 1e6 / n_chrom))
    pos = np.empty(n_markers, dtype=np.int64)
    for c in range(n_chrom):
        sel = chrom_idx == c
        pos[sel] = np.sort(rng.choice(chrom_len, int(sel.sum()), replace=False)) + 1
    chrom = np.array([str(c + 1) for c in chrom_idx])
    return gt, chrom, pos


def _copy_predictions(url: str, frame: pl.DataFrame) -> None:
    """COPY (model_run_id, accession_id, variable_id, gebv, reliability, rank) rows in."""
    import psycopg

    cols = "model_run_id, accession_id, variable_id, gebv, reliability, rank"
    with psycopg.connect(url.replace("postgresql+psycopg", "postgresql")) as con:
        with con.cursor() as cur:
            with cur.copy(f"COPY prediction ({cols}) FROM STDIN WITH (FORMAT csv)") as copy:
                for start in range(0, frame.height, 200_000):
                    buf = io.BytesIO()
                    frame.slice(start, 200_000).write_csv(buf, include_header=False)
                    copy.write(buf.getvalue())
        con.commit()
        con.autocommit = True
        con.execute("ANALYZE")


def build(url: str, home: Path, workdir: Path, *, n_accessions: int, n_predictions: int,
          n_traits: int = 2, n_genotyped: int = 60, n_markers: int = 300,
          species: str = "rice", seed: int = 20240601) -> PortalData:  # fmt: skip
    """Load the benchmark's data into the (empty) database at ``url``; return what it holds."""
    if not url.startswith("postgresql"):
        raise ValueError("the predictions are loaded with PostgreSQL COPY: give a PostgreSQL URL")
    registry = default_registry()
    sp = registry[species]
    variables = [
        v for v in load_traits(registry) if v.species == species and v.data_type == "numerical"
    ]
    traits = variables[:n_traits]
    if len(traits) < n_traits:
        raise ValueError(f"{species} has {len(variables)} numerical traits, not {n_traits}")
    per_trait = min(n_accessions, math.ceil(n_predictions / n_traits))
    if per_trait < n_genotyped:
        raise ValueError(f"{n_predictions} predictions over {n_traits} traits: fewer accessions "
                         f"than the {n_genotyped} genotyped ones")  # fmt: skip
    rng = np.random.default_rng(seed)
    seconds: dict[str, float] = {}

    t0 = time.perf_counter()
    passport = workdir / "passport.csv"
    acc = bg.generate_passport(passport, n_accessions, rng)
    acc = _skew_species(passport, acc, species, per_trait, seed)
    seconds["generate"] = time.perf_counter() - t0
    log(f"generated {n_accessions:,} passports in {seconds['generate']:.0f} s "
        f"({int((acc['species'] == species).sum()):,} {species})")  # fmt: skip

    engine = make_engine(url)
    t0 = time.perf_counter()
    init_database(engine, registry, load_traits(registry))
    rep = import_passport(engine, passport, registry=registry)
    assert rep.inserted == n_accessions, rep
    seconds["import_passport"] = time.perf_counter() - t0
    log(f"import_passport: {rep.inserted:,} accessions in {seconds['import_passport']:.0f} s")

    t0 = time.perf_counter()
    with transaction(engine) as s:
        add_user(s, USER, role="breeder", institute=INSTITUTE, password=PASSWORD,
                 full_name="Portal benchmark")  # fmt: skip
        by_key = species_accession_ids(s, species)
    main_ids = np.array(sorted(by_key.values()), dtype=np.int64)
    predicted = np.sort(rng.choice(main_ids, per_trait, replace=False))
    genotyped = np.sort(rng.choice(predicted, n_genotyped, replace=False))
    key_of = {v: k for k, v in by_key.items()}

    n_chrom = max(1, sp.chromosome_number // sp.ploidy)
    gt, chrom, pos = _genotypes(n_genotyped, n_markers, sp.ploidy, n_chrom, sp.genome_size_mb, rng)
    samples = [f"{key_of[int(a)][0]}:{key_of[int(a)][1]}:DNA1" for a in genotyped]
    store = home / "genotypes" / f"{species}-bench.h5"
    write_genotype_store(
        store, samples=samples, chrom=chrom, pos=pos, gt=gt, species=species,
        reference=sp.reference_assembly.name,
        provenance={"simulated": "bench/portal_data.py", "seed": seed, "markers": n_markers},
    )  # fmt: skip
    dataset_id = register_genotype_dataset(
        engine, name=f"{species}-bench", species=species, path=str(store), ploidy=sp.ploidy,
        samples=list(zip(samples, [int(a) for a in genotyped], strict=True)),
        n_variants=n_markers, reference=sp.reference_assembly.name,
        provenance=provenance("bench/portal_data.py", inputs=[store],
                              parameters={"seed": seed, "markers": n_markers},
                              species=species).to_dict(),
    )  # fmt: skip
    seconds["genotypes"] = time.perf_counter() - t0

    # GEBVs: the genotyped lines' from marker effects (so the planner's genotypes agree with
    # them), the others' drawn with the same spread; ranks in each trait's direction.
    t0 = time.perf_counter()
    dosage = gt.sum(axis=2).T.astype(np.float64)  # samples x markers
    dosage -= dosage.mean(axis=0)
    geno_pos = np.searchsorted(predicted, genotyped)
    frames, metrics = [], {}
    with transaction(engine) as s:
        from breedhub.germplasm.queries_registry import variable_ids

        var_ids = variable_ids(s, [v.name for v in traits])
        run_id = add_model_run(
            s, name=f"GBLUP {sp.common_name_en} (portal benchmark)", method="gblup",
            species=species, predictions={}, genotype_dataset_id=dataset_id,
            parameters={"method": "gblup", "benchmark": "bench/portal.py"},
            metrics={}, provenance={"simulated": "bench/portal_data.py", "seed": seed},
        )  # fmt: skip
    for v in traits:
        sd_g = v.sd * math.sqrt(v.heritability)
        gebv = rng.normal(0.0, sd_g, per_trait)
        beta = rng.normal(0.0, 1.0, n_markers)
        g = dosage @ beta
        gebv[geno_pos] = (g - g.mean()) / (g.std() or 1.0) * sd_g
        rel = np.round(rng.uniform(0.2, 0.6, per_trait), 4)
        rel[geno_pos] = np.round(rng.uniform(0.6, 0.9, n_genotyped), 4)
        rank = _rank(gebv, v.direction, v.optimum, v.mean)
        frames.append(
            pl.DataFrame({
                "model_run_id": np.full(per_trait, run_id, dtype=np.int64),
                "accession_id": predicted,
                "variable_id": np.full(per_trait, var_ids[v.name], dtype=np.int64),
                "gebv": np.round(gebv, 6),
                "reliability": rel,
                "rank": rank,
            })
        )  # fmt: skip
        metrics[v.name] = {
            "method": "gblup", "direction": v.direction, "optimum": v.optimum,
            "n_ranked": per_trait, "cv_mean_r": 0.45, "cv_sd_r": 0.05, "h2": v.heritability,
            "phenotype_mean": v.mean, "n_phenotyped": n_genotyped,
        }  # fmt: skip
    with transaction(engine) as s:
        from breedhub.germplasm.models import ModelRun

        s.get(ModelRun, run_id).metrics = metrics  # type: ignore[union-attr]
    engine.dispose()
    frame = pl.concat(frames)
    _copy_predictions(url, frame)
    seconds["predictions_copy"] = time.perf_counter() - t0
    log(
        f"predictions: {frame.height:,} rows (COPY + ANALYZE) in {seconds['predictions_copy']:.0f} s"
    )

    prefixes = sorted({n[: n.index(" ") + 2] for n in acc["name"].head(20_000).to_list()})
    all_ids = np.array(sorted(species_ids_all(url)), dtype=np.int64)
    return PortalData(
        species=species, run_id=run_id, dataset_id=dataset_id,
        traits=[v.name for v in traits], directions={v.name: v.direction for v in traits},
        accession_ids=all_ids, predicted_ids=predicted, genotyped_ids=genotyped,
        name_prefixes=prefixes, species_keys=sorted(acc["species"].unique().to_list()),
        n_accessions=n_accessions, n_predictions=frame.height, seconds=seconds,
    )  # fmt: skip


def species_ids_all(url: str) -> list[int]:
    """Every accession id (read straight from PostgreSQL: a benchmark helper, not a query API)."""
    import psycopg

    with psycopg.connect(url.replace("postgresql+psycopg", "postgresql")) as con:
        return [r[0] for r in con.execute("SELECT id FROM accession")]
