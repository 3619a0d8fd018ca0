"""A seeded simulator of breeding germplasm: passports, pedigrees, trials, truth.

:func:`simulate_germplasm` makes one species' worth of demo data, with the
biology of the species registry built in: inbred lines for selfing crops,
clonal selections for tea, oil-tea and dendrobium, litters of sires and dams
for pig and full-sib families for grass carp. Its outputs are the tables that
the imports read (an MCPD passport table, a pedigree table, phenotypes in the
long layout) plus the simulated genetic values, so that tests, docs, the demo
and benchmarks can check an estimate against the truth.

Everything is a pure function of the arguments: the same seed gives the same
tables (only the provenance records when they were made), and no database
or network is touched. Dates lie on or before :data:`PRESENT` (the end of
2024), so they never fall in the future.

Names of accessions, institutes and places of collection are invented in the
style of each crop's breeding programmes; a match with a real variety, line
or animal is a coincidence. Institute codes are WIEWS-shaped (ISO country +
three digits, ``9xx``) demo codes.

The simulator's parts live in one module each: the species' demo worlds
(:mod:`germplasm.simulate_profiles`), random draws
(:mod:`germplasm.simulate_draws`), the breeding history
(:mod:`germplasm.simulate_breeding`) and the trials
(:mod:`germplasm.simulate_trials`).

References
----------
Henderson CR (1976). A simple method for computing the inverse of a numerator
relationship matrix used in prediction of breeding values. Biometrics 32:69-83.

Falconer DS, Mackay TFC (1996). Introduction to Quantitative Genetics, 4th ed.
Longman (Mendelian sampling variance, inbred lines, backcrosses).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import polars as pl

from breedhub.base.checks import check_int
from breedhub.base.provenance import provenance as make_provenance
from breedhub.germplasm.mcpd import countries
from breedhub.germplasm.simulate_breeding import PEDIGREE_COLUMNS, Simulator
from breedhub.germplasm.simulate_draws import PRESENT
from breedhub.germplasm.simulate_profiles import FOREIGN_DONOR
from breedhub.germplasm.simulate_trials import (
    OBSERVATION_COLUMNS,
    empty_table,
    simulate_observations,
)
from breedhub.germplasm.species import Species
from breedhub.germplasm.traits import Variable

__all__ = [
    "CROSS_TYPES",
    "GENETIC_VALUE_COLUMNS",
    "MAX_ACCESSIONS",
    "OBSERVATION_COLUMNS",
    "PEDIGREE_COLUMNS",
    "PRESENT",
    "SimulatedGermplasm",
    "simulate_germplasm",
]

GENETIC_VALUE_COLUMNS = ("instcode", "accenumb", "variable", "genetic_value")
CROSS_TYPES = (
    "BIPARENTAL", "SELF", "OPEN_POLLINATED", "BACKCROSS", "CLONAL", "DOUBLE_HAPLOID", "UNKNOWN",
)  # fmt: skip
MAX_ACCESSIONS = 100_000


@dataclass
class SimulatedGermplasm:
    """One species' simulated germplasm, as the import files would hold it.

    Attributes
    ----------
    species
        The species key.
    passport
        MCPD v2.1 passport table: every column of :data:`germplasm.mcpd.COLUMNS`,
        in that order, as text (``""`` when empty).
    pedigree
        One row per accession (founders with blank parents), columns
        :data:`PEDIGREE_COLUMNS` as text. A parent is its ACCENUMB when the same
        institute holds it, ``INSTCODE:ACCENUMB`` otherwise; parents always come
        in earlier rows.
    observations
        Phenotypes in the long layout, columns :data:`OBSERVATION_COLUMNS` as
        text; missing values are left out.
    genetic_values
        The simulated additive genetic values (deviations from the variable's
        mean, not rounded): ``instcode``, ``accenumb``, ``variable`` (text) and
        ``genetic_value`` (Float64).
    institutes
        The demo institutes: ``code``, ``name``, ``country`` (text), the
        holders of the accessions followed by any donor institutes.
    provenance
        What made the data: the :func:`breedhub.base.provenance.provenance`
        record (``command``, ``parameters``, ``version``, ``created``...), with
        the simulated "today" in ``extra["present"]``.
    """

    species: str
    passport: pl.DataFrame
    pedigree: pl.DataFrame
    observations: pl.DataFrame
    genetic_values: pl.DataFrame
    institutes: pl.DataFrame = field(
        default_factory=lambda: empty_table(("code", "name", "country"))
    )
    provenance: dict[str, Any] = field(default_factory=dict)


def _check_args(
    species: object,
    variables: object,
    n_accessions: object,
    n_trials: object,
    n_reps: object,
    seed: object,
) -> tuple[int, int, int, int, list[Variable]]:
    if not isinstance(species, Species):
        raise TypeError(
            f"species must be a germplasm.Species (from load_registry()[key]), not {type(species).__name__}"
        )
    if isinstance(variables, str | bytes) or not isinstance(variables, Sequence):
        raise TypeError(
            f"variables must be a list of germplasm.Variable, not {type(variables).__name__}"
        )
    bad = [i for i, v in enumerate(variables) if not isinstance(v, Variable)]
    if bad:
        raise TypeError(f"variables[{bad[0]}] is a {type(variables[bad[0]]).__name__}, not a Variable "
                        f"(entries {bad[:10]}); pass load_traits(registry)")  # fmt: skip
    n = check_int(
        "n_accessions", n_accessions, minimum=10, maximum=MAX_ACCESSIONS,
        fix="ask for at least 10 accessions",
    )  # fmt: skip
    t = check_int("n_trials", n_trials, minimum=0, maximum=20, fix="use 0 for no trials")
    r = check_int("n_reps", n_reps, minimum=1, maximum=10, fix="use 1 to 10 replicates")
    s = check_int("seed", seed, minimum=0, maximum=2**63 - 1, fix="use a non-negative seed")
    own = [v for v in variables if v.species == species.key]
    return n, t, r, s, own


# ---------------------------------------------------------------------------


def simulate_germplasm(
    species: Species,
    variables: list[Variable],
    *,
    n_accessions: int = 300,
    n_trials: int = 2,
    n_reps: int = 2,
    seed: int = 0,
) -> SimulatedGermplasm:
    """Simulate one species' germplasm: passports, pedigree, phenotypes and the true values.

    Founders (wild collections, landraces, old and foreign cultivars, base
    animals) get additive genetic values drawn from N(0, h2 sd^2); later
    accessions descend from crosses among earlier ones over several
    generations, following the species' biology: inbred lines (rice, rapeseed,
    pepper; also backcrosses, doubled haploids and F1 hybrids), clonal and
    open-pollinated selections (tea, oil-tea, dendrobium), litters of sires and
    dams (pig), full-sib families (grass carp). A progeny's value is its parents'
    average plus Mendelian sampling, with the variance reduced by the parents'
    inbreeding (the tabular method of Henderson 1976); clones equal their
    parent. Parents are chosen with a preference for high values of the first
    yield-like variable, so there is genetic progress over the years.

    Phenotypes are ``mean + g + study + replicate + residual``, with the
    residual variance ``(1 - h2) sd^2`` so that plot-level heritability is about
    ``h2``, clipped to the variable's scale, mapped to the nearest category for
    ordinal variables, rounded, and about 2 % left out as missing.

    Parameters
    ----------
    species
        The species, e.g. ``load_registry()["rice"]``.
    variables
        Observation variables; those of other species are ignored, so the whole
        of :func:`germplasm.load_traits` may be passed.
    n_accessions
        Number of accessions, 10 to 100 000.
    n_trials
        Number of trials (each with one or two studies), 0 to 20.
    n_reps
        Replicates per study, 1 to 10 (animals are recorded once per study).
    seed
        Seed of the random generator; with the species key it fixes the output.

    Returns
    -------
    SimulatedGermplasm

    Raises
    ------
    TypeError
        If ``species`` is not a :class:`~germplasm.Species`, ``variables`` not a
        list of :class:`~germplasm.Variable`, or a count not an int.
    ValueError
        If a count is out of range (e.g. fewer than 10 accessions).

    Examples
    --------
    >>> from breedhub.germplasm import load_registry, load_traits
    >>> reg = load_registry()
    >>> sim = simulate_germplasm(reg["rice"], load_traits(reg), n_accessions=50, seed=1)
    >>> sim.passport.height, sim.passport["GENUS"][0]
    (50, 'Oryza')
    >>> sorted(sim.genetic_values["variable"].unique())[:2]
    ['DaysToHeading_d', 'GrainYield_t_ha']
    """
    n, t, r, seed, own = _check_args(species, variables, n_accessions, n_trials, n_reps, seed)
    sim = Simulator(species, own, n, seed)
    sim.run()
    nums = sim.accenumbs()
    passport = sim.passport(nums)
    pedigree = sim.pedigree(nums)
    observations = simulate_observations(sim, nums, t, r)
    insts = [c for c, _, _ in sim.prof.institutes]
    gv = pl.DataFrame(
        {
            "instcode": np.repeat([insts[a.inst] for a in sim.accs], len(own)).astype(object),
            "accenumb": np.repeat(np.array(nums, dtype=object), len(own)),
            "variable": np.tile(np.array([v.name for v in own], dtype=object), n),
            "genetic_value": sim.g.reshape(-1),
        },
        schema={"instcode": pl.String, "accenumb": pl.String, "variable": pl.String,
                "genetic_value": pl.Float64},
    )  # fmt: skip
    all_codes = countries()
    inst_rows = [(c, name, c[:3]) for c, name, _ in sim.prof.institutes]
    inst_rows += [(c, f"{FOREIGN_DONOR} ({all_codes.get(c[:3], c[:3])})", c[:3])
                  for c in sorted(sim.known_institutes - set(insts))]  # fmt: skip
    institutes = pl.DataFrame(inst_rows, schema={"code": pl.String, "name": pl.String,
                                                 "country": pl.String}, orient="row")  # fmt: skip
    provenance = make_provenance(
        "breedhub.germplasm.simulate.simulate_germplasm",
        parameters={"species": species.key, "variables": [v.name for v in own], "n_accessions": n,
                    "n_trials": t, "n_reps": r, "seed": seed},
        present=PRESENT.isoformat(),
    ).to_dict()  # fmt: skip
    return SimulatedGermplasm(
        species.key, passport, pedigree, observations, gv, institutes, provenance
    )
