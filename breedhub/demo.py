"""The demo data directory: realistic germplasm for every species, built by the real importers.

:func:`build_demo` simulates passports, pedigrees and trials for each species
of the registry (``germplasm.simulate``), writes them as the files an institute
would send, and imports them through the same code as ``breedhub germplasm
import``, so the demo exercises the product rather than a shortcut.
"""

from __future__ import annotations

import shutil
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import Engine

from breedhub.base.config import Settings
from breedhub.base.errors import BreedhubError

MARKER = ".breedhub-demo"


class DemoError(BreedhubError):
    """The demo directory cannot be built where asked."""


@dataclass
class DemoReport:
    """What :func:`build_demo` made."""

    home: Path
    database_url: str
    accessions: int = 0
    observations: int = 0
    pedigrees: int = 0
    seconds: float = 0.0
    per_species: dict[str, dict[str, int]] = field(default_factory=dict)
    predictions: dict[str, dict[str, dict[str, float]]] = field(default_factory=dict)
    #: username -> (role, password) of the demo's accounts (also in ``demo-logins.txt``)
    logins: dict[str, tuple[str, str]] = field(default_factory=dict)


def demo_settings(home: str | Path) -> Settings:
    """The demo always uses the embedded defaults: SQLite inside its own directory."""
    root = Path(home).absolute()
    return Settings(home=root, database_url=f"sqlite:///{root / 'breedhub.sqlite'}")


def build_demo(
    home: str | Path,
    *,
    n_accessions: int = 300,
    seed: int = 0,
    progress: Callable[[str], None] = lambda msg: None,
) -> DemoReport:
    """Build (or rebuild) a demo data directory at ``home``.

    Parameters
    ----------
    home
        The directory. It must be absent, empty, or an earlier demo directory
        (marked by a ``.breedhub-demo`` file): real data is never overwritten.
    n_accessions
        Accessions per species.
    seed
        Seed of the simulation: the same seed builds the same data.
    progress
        Called with a line of text after each step.

    Raises
    ------
    DemoError
        If ``home`` holds something that is not a demo directory.
    """
    from breedhub.germplasm import init_database, load_registry, load_traits, make_engine
    from breedhub.germplasm.institutes import upsert_institutes
    from breedhub.germplasm.passport import import_passport
    from breedhub.germplasm.pedigree import import_pedigree
    from breedhub.germplasm.phenotypes import import_observations
    from breedhub.germplasm.simulate import simulate_germplasm
    from breedhub.germplasm.tabular import write_table
    from breedhub.pipelines.demo import genotype_and_predict

    if n_accessions < 10:
        raise ValueError(f"n_accessions must be at least 10, not {n_accessions}")
    start = time.perf_counter()
    root = Path(home).absolute()
    if root.exists() and any(root.iterdir()) and not (root / MARKER).exists():
        raise DemoError(
            f"{root} exists and is not a breedhub demo directory: choose another --home"
        )
    if root.exists():
        shutil.rmtree(root)
    settings = demo_settings(root)
    settings.ensure_dirs()
    (root / MARKER).write_text("built by `breedhub demo`; safe to delete\n")

    registry = load_registry()
    variables = load_traits(registry)
    engine = make_engine(settings.database_url)
    init_database(engine, registry, variables)
    progress(f"database {settings.database_url}")
    report = DemoReport(home=root, database_url=settings.database_url)
    inputs = root / "demo-input"
    for i, sp in enumerate(registry):
        sim = simulate_germplasm(sp, variables, n_accessions=n_accessions, seed=seed + i)
        folder = inputs / sp.key
        folder.mkdir(parents=True)
        write_table(sim.passport, folder / "passport.csv")
        write_table(sim.pedigree, folder / "pedigree.csv")
        write_table(sim.observations, folder / "observations.csv")
        write_table(sim.genetic_values, folder / "genetic_values.csv")
        upsert_institutes(engine, sim.institutes.iter_rows())
        p = import_passport(engine, folder / "passport.csv", registry=registry)
        ped = import_pedigree(engine, folder / "pedigree.csv")
        obs = import_observations(engine, folder / "observations.csv")
        gp = genotype_and_predict(engine, root, sp, sim.pedigree, seed=seed + i)
        report.per_species[sp.key] = {
            "accessions": p.rows,
            "pedigrees": ped.rows,
            "observations": obs.rows,
            "markers": 2000,
            "traits_predicted": len(gp["traits"]),
        }
        report.predictions[sp.key] = gp["traits"]
        report.accessions += p.rows
        report.pedigrees += ped.rows
        report.observations += obs.rows
        progress(
            f"{sp.common_name_en:<22} {p.rows:>5} accessions {ped.rows:>5} pedigrees "
            f"{obs.rows:>7} observations, GEBVs for {len(gp['traits'])} traits"
        )
    report.logins = _demo_accounts(engine, root)
    progress(f"accounts: {', '.join(report.logins)} (passwords in {root / LOGINS})")
    engine.dispose()
    report.seconds = time.perf_counter() - start
    return report


#: The file of a demo directory that keeps its accounts' passwords.
LOGINS = "demo-logins.txt"


def _demo_accounts(engine: Engine, root: Path) -> dict[str, tuple[str, str]]:
    """An admin, a bioinformatician and a breeder, with fresh random passwords.

    Random, not fixed: a demo served on a reachable address must not open
    with a password everyone has read in the README.
    """
    import secrets

    from breedhub.germplasm.db import transaction
    from breedhub.germplasm.queries_registry import institute_codes
    from breedhub.germplasm.users import add_user

    out: dict[str, tuple[str, str]] = {}
    with transaction(engine) as s:
        codes = institute_codes(s)
        inst = codes[0] if codes else None
        for name, role in (("admin", "admin"), ("bioinfo", "bioinformatician"),
                           ("breeder", "breeder")):  # fmt: skip
            password = secrets.token_urlsafe(9)
            add_user(s, name, role=role, institute=inst, password=password,
                     full_name=f"Demo {role}")  # fmt: skip
            out[name] = (role, password)
    lines = [f"{n}\t{role}\t{pw}" for n, (role, pw) in out.items()]
    (root / LOGINS).write_text("username\trole\tpassword\n" + "\n".join(lines) + "\n")
    (root / LOGINS).chmod(0o600)
    return out
