"""Data of the breeder's journey test: a real small rice programme with a published model run.

The same steps as ``predict_setup`` of ``tests/pipelines/conftest.py`` (which
a web test cannot import as a fixture), plus the pedigree: 40 simulated rice
accessions with their parents, one trial's phenotypes, a gene-dropped genotype store registered
as the dataset ``rice-gbs``; then :func:`fit_and_publish` publishes a GBLUP
run over every phenotyped trait, and the users of every role are added.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import Engine

DATASET = "rice-gbs"
RUN_NAME = "rice-gebv-2025"
INSTCODE_USERS = "PHL001"
#: a simulation whose grain yield and days to heading are heritable (h2 0.49, 0.43)
SEED = 3

#: username -> (role, institute code); every password is ``pw-<username>``.
USERS = {
    "admin": ("admin", None),
    "bea": ("breeder", INSTCODE_USERS),
    "bio": ("bioinformatician", INSTCODE_USERS),
}


@dataclass
class Journey:
    """What the journey test needs to know about its data."""

    run_id: int
    traits: list[str]
    n_genotyped: int
    accession_keys: list[str]  # "INSTCODE:ACCENUMB" of the simulated accessions
    crossbred: str  # ACCENUMB of the newest accession with both parents known


def setup_programme(home: Path, engine: Engine, registry, variables) -> Journey:
    """Import the programme, register its genotypes, publish a run, add the users.

    Parameters
    ----------
    home
        The data directory (the genotype store is written under it).
    engine
        A fresh, migrated germplasm database.
    registry, variables
        The species registry and trait variables (the session fixtures).

    Returns
    -------
    Journey
        The published run's id and traits, and the accessions' keys.
    """
    from breedhub.genomics.simulate import gene_drop
    from breedhub.genomics.store import write_genotype_store
    from breedhub.germplasm.db import transaction
    from breedhub.germplasm.institutes import upsert_institutes
    from breedhub.germplasm.passport import import_passport
    from breedhub.germplasm.pedigree import import_pedigree
    from breedhub.germplasm.phenotypes import import_observations
    from breedhub.germplasm.queries import species_accession_ids
    from breedhub.germplasm.simulate import simulate_germplasm
    from breedhub.germplasm.tabular import write_table
    from breedhub.germplasm.users import add_user
    from breedhub.pipelines.publish import fit_and_publish
    from breedhub.pipelines.register import register_genotype_dataset

    sim = simulate_germplasm(
        registry["rice"], variables, n_accessions=40, n_trials=1, n_reps=2, seed=SEED
    )
    folder = home / "journey-input"
    folder.mkdir(parents=True, exist_ok=True)
    write_table(sim.passport, folder / "passport.csv")
    write_table(sim.observations, folder / "observations.csv")
    upsert_institutes(engine, sim.institutes.iter_rows())
    upsert_institutes(engine, [(INSTCODE_USERS, "Breeding programme of the journey", "PHL")])
    import_passport(engine, folder / "passport.csv", registry=registry)
    import_observations(engine, folder / "observations.csv")
    write_table(sim.pedigree, folder / "pedigree.csv")
    import_pedigree(engine, folder / "pedigree.csv")

    ped = sim.pedigree
    keys = [f"{i}:{a}" for i, a in zip(ped["INSTCODE"], ped["ACCENUMB"], strict=True)]

    def parent(inst: str, p: str | None) -> str | None:
        return None if not p else (p if ":" in p else f"{inst}:{p}")

    geno = gene_drop(
        keys,
        [parent(i, p) for i, p in zip(ped["INSTCODE"], ped["FEMALE_PARENT"], strict=True)],
        [parent(i, p) for i, p in zip(ped["INSTCODE"], ped["MALE_PARENT"], strict=True)],
        ploidy=2, n_markers=400, n_chromosomes=4, genome_size_mb=40.0,
        cross_types=ped["CROSS_TYPE"].to_list(), generations=ped["GENERATION"].to_list(), seed=SEED,
    )  # fmt: skip
    with transaction(engine) as s:
        ids = species_accession_ids(s, "rice")
    samples = [f"{k}:DNA1" for k in keys]
    path = home / "genotypes" / f"{DATASET}.h5"
    path.parent.mkdir(parents=True, exist_ok=True)
    write_genotype_store(
        path, samples=samples, chrom=geno.chrom, pos=geno.pos_bp, gt=geno.genotype_calls,
        species="rice", reference="test",
    )  # fmt: skip
    register_genotype_dataset(
        engine, name=DATASET, species="rice", path=str(path), ploidy=2, n_variants=400,
        samples=[(s, ids[tuple(k.split(":", 1))]) for s, k in zip(samples, keys, strict=True)],
    )  # fmt: skip
    crossbred = max(
        (g, a)
        for a, f, m, g in zip(
            ped["ACCENUMB"],
            ped["FEMALE_PARENT"],
            ped["MALE_PARENT"],
            ped["GENERATION"],
            strict=True,
        )
        if f and m
    )[1]
    summary = fit_and_publish(engine, dataset=DATASET, name=RUN_NAME, cv_folds=3)

    with transaction(engine) as s:
        for name, (role, inst) in USERS.items():
            add_user(s, name, role=role, institute=inst, password=f"pw-{name}")
    return Journey(
        run_id=int(summary["model_run_id"]),
        traits=sorted(summary.get("traits") or []),
        n_genotyped=len(samples),
        accession_keys=keys,
        crossbred=crossbred,
    )
