"""Queries of the species dashboard and the accession page's pedigree drawing and GEBVs.

Every count hides what the viewer may not see (restricted trials, genotype
datasets and model runs of other institutes, :func:`germplasm.access.visible_clause`),
and every function is a fixed number of aggregate statements, or one per
pedigree generation, whatever the size of the collection.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import case, distinct, func, or_, select
from sqlalchemy.orm import Session

from breedhub.germplasm.access import Viewer, visible_clause
from breedhub.germplasm.mcpd import SAMPSTAT
from breedhub.germplasm.models import (
    Accession,
    GenotypeDataset,
    GenotypeDatasetSample,
    Institute,
    ModelRun,
    ObservationVariable,
    Pedigree,
    Prediction,
    Sample,
    SpeciesRow,
    TraitSummary,
    Trial,
)

__all__ = [
    "PedigreeNode",
    "PedigreeTree",
    "SampleInfo",
    "SpeciesCounts",
    "TraitHistogram",
    "accession_gebvs",
    "dataset_sample_info",
    "largest_visible_dataset",
    "pedigree_tree",
    "species_by_key",
    "species_counts",
    "species_summaries",
    "trait_histograms",
]

_CHUNK = 500


def species_by_key(session: Session, key: str) -> SpeciesRow | None:
    """The species with key ``key`` (``rice``), or None.

    Parameters
    ----------
    session
        An open database session.
    key
        Species key.

    Returns
    -------
    SpeciesRow or None
    """
    return session.scalars(select(SpeciesRow).where(SpeciesRow.key == key)).first()


def _genotyped_accessions(viewer: Viewer) -> Any:
    """(species id, accession id) of accessions with a sample in a dataset ``viewer`` sees."""
    return (
        select(GenotypeDataset.species_id, Sample.accession_id)
        .join(GenotypeDatasetSample, GenotypeDatasetSample.dataset_id == GenotypeDataset.id)
        .join(Sample, Sample.id == GenotypeDatasetSample.sample_id)
        .where(visible_clause(GenotypeDataset, viewer))
    )


def species_summaries(session: Session, viewer: Viewer) -> list[dict[str, Any]]:
    """Every species with its counts, for the species overview.

    Parameters
    ----------
    session
        An open database session.
    viewer
        Who is looking: trials, genotype datasets and model runs are counted
        only when visible to them.

    Returns
    -------
    list of dict
        ``species`` (SpeciesRow), ``accessions``, ``genotyped``, ``trials``,
        ``genotype_datasets``, ``model_runs``; ordered by common name. Five
        ``GROUP BY`` statements.
    """
    species = list(session.scalars(select(SpeciesRow).order_by(SpeciesRow.common_name_en)))
    accessions = dict(
        session.execute(select(Accession.species_id, func.count()).group_by(Accession.species_id))
        .tuples()
        .all()
    )
    geno = _genotyped_accessions(viewer).subquery()
    genotyped = dict(
        session.execute(
            select(geno.c.species_id, func.count(distinct(geno.c.accession_id))).group_by(
                geno.c.species_id
            )
        )
        .tuples()
        .all()
    )

    def per_species(model: Any) -> dict[int, int]:
        return dict(
            session.execute(
                select(model.species_id, func.count())
                .where(visible_clause(model, viewer))
                .group_by(model.species_id)
            )
            .tuples()
            .all()
        )

    trials, datasets, runs = per_species(Trial), per_species(GenotypeDataset), per_species(ModelRun)
    return [
        {
            "species": s,
            "accessions": accessions.get(s.id, 0),
            "genotyped": genotyped.get(s.id, 0),
            "trials": trials.get(s.id, 0),
            "genotype_datasets": datasets.get(s.id, 0),
            "model_runs": runs.get(s.id, 0),
        }
        for s in species
    ]


@dataclass(frozen=True)
class SpeciesCounts:
    """What a species holds, as one viewer sees it.

    Attributes
    ----------
    accessions
        Accessions of the species.
    by_institute
        ``(institute code, institute name, accessions)``, most first.
    by_status
        ``(MCPD SAMPSTAT code or None, its label, accessions)``, by code (None last).
    genotyped
        Accessions with a sample in a genotype dataset the viewer sees.
    phenotyped
        Accessions with a trait mean of any variable.
    trials, genotype_datasets, model_runs
        Those the viewer sees.
    """

    accessions: int
    by_institute: list[tuple[str, str, int]]
    by_status: list[tuple[int | None, str, int]]
    genotyped: int
    phenotyped: int
    trials: int
    genotype_datasets: int
    model_runs: int


def species_counts(session: Session, species_id: int, viewer: Viewer) -> SpeciesCounts:
    """Counts of the species dashboard.

    Parameters
    ----------
    session
        An open database session.
    species_id
        ``species.id``.
    viewer
        Who is looking.

    Returns
    -------
    SpeciesCounts
        Seven aggregate statements.
    """
    by_inst = session.execute(
        select(Institute.code, Institute.name, func.count())
        .select_from(Accession)
        .join(Institute, Institute.id == Accession.institute_id)
        .where(Accession.species_id == species_id)
        .group_by(Institute.code, Institute.name)
        .order_by(func.count().desc(), Institute.code)
    ).all()
    by_status_rows = session.execute(
        select(Accession.sampstat, func.count())
        .where(Accession.species_id == species_id)
        .group_by(Accession.sampstat)
    ).all()
    by_status = sorted(
        (
            (code, SAMPSTAT.get(code, "") if code is not None else "", n)
            for code, n in by_status_rows
        ),
        key=lambda r: (r[0] is None, r[0] or 0),
    )
    geno = _genotyped_accessions(viewer).where(GenotypeDataset.species_id == species_id).subquery()
    genotyped = session.scalar(select(func.count(distinct(geno.c.accession_id)))) or 0
    phenotyped = (
        session.scalar(
            select(func.count(distinct(TraitSummary.accession_id)))
            .join(Accession, Accession.id == TraitSummary.accession_id)
            .where(Accession.species_id == species_id)
        )
        or 0
    )

    def visible(model: Any) -> int:
        return (
            session.scalar(
                select(func.count())
                .select_from(model)
                .where(model.species_id == species_id, visible_clause(model, viewer))
            )
            or 0
        )

    return SpeciesCounts(
        accessions=sum(n for _, _, n in by_inst),
        by_institute=[(c, name, n) for c, name, n in by_inst],
        by_status=by_status,
        genotyped=int(genotyped),
        phenotyped=int(phenotyped),
        trials=visible(Trial),
        genotype_datasets=visible(GenotypeDataset),
        model_runs=visible(ModelRun),
    )


def largest_visible_dataset(
    session: Session, species_id: int, viewer: Viewer
) -> GenotypeDataset | None:
    """The species' genotype dataset with the most samples that ``viewer`` may see.

    Parameters
    ----------
    session
        An open database session.
    species_id
        ``species.id``.
    viewer
        Who is looking.

    Returns
    -------
    GenotypeDataset or None
        Ties go to the newest (highest id); None when the viewer sees none.
    """
    return session.scalars(
        select(GenotypeDataset)
        .where(GenotypeDataset.species_id == species_id, visible_clause(GenotypeDataset, viewer))
        .order_by(GenotypeDataset.n_samples.desc(), GenotypeDataset.id.desc())
        .limit(1)
    ).first()


@dataclass(frozen=True)
class SampleInfo:
    """The accession behind one column of a genotype store, with what can colour it."""

    accession_id: int
    accenumb: str
    name: str
    institute: str
    sampstat: int | None
    subtaxa: str


def dataset_sample_info(session: Session, dataset_id: int) -> dict[str, SampleInfo]:
    """Sample name -> its accession's number, name, institute, status and subtaxa.

    Parameters
    ----------
    session
        An open database session.
    dataset_id
        ``genotype_dataset.id``.

    Returns
    -------
    dict
        One statement for the whole dataset.
    """
    rows = session.execute(
        select(
            Sample.name, Accession.id, Accession.accenumb, Accession.name, Institute.code,
            Accession.sampstat, Accession.subtaxa,
        )
        .join(GenotypeDatasetSample, GenotypeDatasetSample.sample_id == Sample.id)
        .join(Accession, Accession.id == Sample.accession_id)
        .join(Institute, Institute.id == Accession.institute_id)
        .where(GenotypeDatasetSample.dataset_id == dataset_id)
    ).all()  # fmt: skip
    return {r[0]: SampleInfo(r[1], r[2], r[3] or "", r[4], r[5], r[6] or "") for r in rows}


@dataclass(frozen=True)
class TraitHistogram:
    """The distribution of a variable's accession means in one species.

    Attributes
    ----------
    variable
        The variable (detached from nothing: read its name, trait and unit).
    edges
        ``bins + 1`` bin edges, lowest mean to highest.
    counts
        Accessions per bin (the last bin includes the highest mean).
    n, mean
        Accessions with a mean, and the mean of their means.
    """

    variable: ObservationVariable
    edges: list[float]
    counts: list[int]
    n: int
    mean: float


def trait_histograms(session: Session, species_id: int, *, bins: int = 20) -> list[TraitHistogram]:
    """Histograms of the accession means of each numerical variable of a species.

    Parameters
    ----------
    session
        An open database session.
    species_id
        ``species.id``.
    bins
        Bins per histogram (1 to 100).

    Returns
    -------
    list of TraitHistogram
        Variables with at least one mean, by name. One statement for the
        ranges, then one per variable that counts its bins in the database
        (no mean is sent to Python).

    Raises
    ------
    ValueError
        If ``bins`` is outside 1..100.
    """
    if isinstance(bins, bool) or not isinstance(bins, int) or not 1 <= bins <= 100:
        raise ValueError(f"bins must be a whole number from 1 to 100, not {bins!r}")
    ranges = session.execute(
        select(
            ObservationVariable,
            func.min(TraitSummary.mean),
            func.max(TraitSummary.mean),
            func.avg(TraitSummary.mean),
            func.count(TraitSummary.mean),
        )
        .join(TraitSummary, TraitSummary.variable_id == ObservationVariable.id)
        .where(
            ObservationVariable.species_id == species_id,
            ObservationVariable.data_type != "nominal",
            TraitSummary.mean.is_not(None),
        )
        .group_by(ObservationVariable.id)
        .order_by(ObservationVariable.name)
    ).all()
    out = []
    for var, lo, hi, avg, n in ranges:
        if not n or lo is None or hi is None:
            continue
        lo, hi = float(lo), float(hi)
        width = (hi - lo) / bins if hi > lo else 1.0
        edges = [lo + i * width for i in range(bins + 1)] if hi > lo else [lo - 0.5, lo + 0.5]
        k = len(edges) - 1
        if k == 1:  # every mean is the same value
            out.append(TraitHistogram(var, edges, [int(n)], int(n), float(avg)))
            continue
        # Bin index by comparisons (no floor(): SQLite may lack it); the top edge
        # falls in the last bin. Counted in a subquery, as PostgreSQL will not
        # GROUP BY an expression whose bound values differ from the SELECT's.
        index = case(
            *[(TraitSummary.mean >= edges[i], i) for i in range(k - 1, 0, -1)], else_=0
        ).label("bin")
        sub = (
            select(index)
            .where(TraitSummary.variable_id == var.id, TraitSummary.mean.is_not(None))
            .subquery()
        )
        counts = [0] * k
        for b, c in session.execute(select(sub.c.bin, func.count()).group_by(sub.c.bin)).all():
            counts[int(b)] = int(c)
        out.append(TraitHistogram(var, edges, counts, int(n), float(avg)))
    return out


@dataclass
class PedigreeNode:
    """One accession of a pedigree drawing; ``depth`` < 0 for ancestors, > 0 for progeny."""

    id: int
    accenumb: str
    name: str
    depth: int


@dataclass
class PedigreeTree:
    """An accession's ancestors and progeny, as nodes and parent -> child edges.

    Attributes
    ----------
    root
        The accession drawn.
    nodes
        id -> node (the root included, depth 0).
    edges
        ``(parent id or None, child id, "female" | "male")``; None is an
        unknown parent that the pedigree records as unknown.
    truncated
        True when the node cap or the generation limit left recorded relatives out.
    """

    root: int
    nodes: dict[int, PedigreeNode] = field(default_factory=dict)
    edges: list[tuple[int | None, int, str]] = field(default_factory=list)
    truncated: bool = False


def _pedigree_rows(
    session: Session, ids: Iterable[int]
) -> list[tuple[int, int | None, int | None]]:
    ids = list(ids)
    out: list[tuple[int, int | None, int | None]] = []
    for i in range(0, len(ids), _CHUNK):
        out += session.execute(
            select(Pedigree.accession_id, Pedigree.female_parent_id, Pedigree.male_parent_id).where(
                Pedigree.accession_id.in_(ids[i : i + _CHUNK])
            )
        ).tuples()
    return out


def _check_limit(name: str, value: object, lo: int, hi: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or not lo <= value <= hi:
        raise ValueError(f"{name} must be a whole number from {lo} to {hi}, not {value!r}")


def _add_ancestors(
    session: Session, tree: PedigreeTree, depth_of: dict[int, int], generations: int, cap: int
) -> None:
    """Ancestors of ``tree.root`` by generation, nearest first, while under ``cap`` accessions."""
    frontier = [tree.root]
    for gen in range(1, generations + 1):
        if not frontier:
            return
        nxt: list[int] = []
        for child, female, male in sorted(_pedigree_rows(session, frontier)):
            for parent, role in ((female, "female"), (male, "male")):
                if parent is None:
                    tree.edges.append((None, child, role))
                elif parent in depth_of:  # drawn already: a shared ancestor, or a loop
                    tree.edges.append((parent, child, role))
                elif len(depth_of) < cap:
                    depth_of[parent] = -gen
                    nxt.append(parent)
                    tree.edges.append((parent, child, role))
                else:
                    tree.truncated = True
        frontier = nxt
    if frontier:  # older generations recorded but not drawn?
        older = _pedigree_rows(session, frontier)
        tree.truncated = tree.truncated or any(f is not None or m is not None for _, f, m in older)


def _add_progeny(
    session: Session, tree: PedigreeTree, depth_of: dict[int, int], generations: int, cap: int
) -> None:
    """Descendants of ``tree.root`` by generation, while under ``cap`` accessions."""
    frontier = [tree.root]
    for gen in range(1, generations + 1):
        if not frontier:
            return
        rows = session.execute(
            select(Pedigree.accession_id, Pedigree.female_parent_id, Pedigree.male_parent_id)
            .where(
                or_(Pedigree.female_parent_id.in_(frontier), Pedigree.male_parent_id.in_(frontier))
            )
            .order_by(Pedigree.accession_id)
            .limit(cap + 1)
        ).all()
        parents = set(frontier)
        nxt = []
        for child, female, male in rows:
            if child not in depth_of:
                if len(depth_of) >= cap:
                    tree.truncated = True
                    continue
                depth_of[child] = gen
                nxt.append(child)
            for parent, role in ((female, "female"), (male, "male")):
                if parent in parents and (parent, child, role) not in tree.edges:
                    tree.edges.append((parent, child, role))
        frontier = nxt


def pedigree_tree(
    session: Session,
    accession_id: int,
    *,
    generations: int = 4,
    progeny_generations: int = 1,
    max_nodes: int = 60,
) -> PedigreeTree:
    """An accession's pedigree: ``generations`` of ancestors and its progeny.

    Parameters
    ----------
    session
        An open database session.
    accession_id
        The accession at the centre.
    generations
        Generations of ancestors (parents are 1), 0 to 20.
    progeny_generations
        Generations of descendants, 0 to 5.
    max_nodes
        The most accessions in the drawing (the root included), 1 to 1000;
        ancestors are added nearest first, then progeny.

    Returns
    -------
    PedigreeTree
        One statement per generation, and one for the accessions' names. A
        pedigree that loops (an accession its own ancestor) ends where it
        meets an accession already drawn.

    Raises
    ------
    ValueError
        For a limit out of range.
    """
    _check_limit("generations", generations, 0, 20)
    _check_limit("progeny_generations", progeny_generations, 0, 5)
    _check_limit("max_nodes", max_nodes, 1, 1000)
    tree = PedigreeTree(root=accession_id)
    depth_of: dict[int, int] = {accession_id: 0}
    _add_ancestors(session, tree, depth_of, generations, max_nodes)
    _add_progeny(session, tree, depth_of, progeny_generations, max_nodes)
    ids = list(depth_of)
    for i in range(0, len(ids), _CHUNK):
        for aid, number, name in session.execute(
            select(Accession.id, Accession.accenumb, Accession.name).where(
                Accession.id.in_(ids[i : i + _CHUNK])
            )
        ).tuples():
            tree.nodes[aid] = PedigreeNode(aid, number, name or "", depth_of[aid])
    return tree


def accession_gebvs(session: Session, accession_id: int, viewer: Viewer) -> list[dict[str, Any]]:
    """The accession's GEBVs in every model run ``viewer`` sees, grouped by run.

    Parameters
    ----------
    session
        An open database session.
    accession_id
        ``accession.id``.
    viewer
        Who is looking: restricted runs of other institutes are left out.

    Returns
    -------
    list of dict
        Newest run first: ``id``, ``name``, ``method``, ``created_at`` and
        ``rows``, one per trait by variable name: ``variable`` (name),
        ``variable_row`` (the ObservationVariable), ``unit``, ``direction``,
        ``optimum``, ``gebv``, ``reliability``, ``rank``, ``of_n`` (the run's
        ``n_ranked`` for the trait, or its highest rank when the run did not
        record it), ``standing`` (1 for rank 1 down to 1/N for the last;
        None without a rank) and ``cv_mean_r``.
    """
    rows = session.execute(
        select(ModelRun, ObservationVariable, Prediction)
        .join(Prediction, Prediction.model_run_id == ModelRun.id)
        .join(ObservationVariable, ObservationVariable.id == Prediction.variable_id)
        .where(Prediction.accession_id == accession_id, visible_clause(ModelRun, viewer))
        .order_by(ModelRun.created_at.desc(), ModelRun.id.desc(), ObservationVariable.name)
    ).all()
    runs: dict[int, dict[str, Any]] = {}
    for run, var, pred in rows:
        m = (run.metrics or {}).get(var.name)
        m = m if isinstance(m, dict) else {}
        of_n = m.get("n_ranked")
        if not isinstance(of_n, int) or isinstance(of_n, bool):
            # the index (model_run_id, variable_id, rank) answers this with one probe
            of_n = session.scalar(
                select(func.max(Prediction.rank)).where(
                    Prediction.model_run_id == run.id, Prediction.variable_id == var.id
                )
            )
        cv = m.get("cv_mean_r")
        rank = pred.rank
        entry = runs.setdefault(
            run.id,
            {"id": run.id, "name": run.name, "method": run.method,
             "created_at": run.created_at, "rows": []},
        )  # fmt: skip
        entry["rows"].append(
            {
                "variable": var.name,
                "variable_row": var,
                "unit": var.unit,
                "direction": var.direction,
                "optimum": var.optimum,
                "gebv": pred.gebv,
                "reliability": pred.reliability,
                "rank": rank,
                "of_n": of_n,
                "standing": 1 - (rank - 1) / of_n if rank and of_n and of_n >= rank else None,
                "cv_mean_r": float(cv) if isinstance(cv, int | float) and cv is not True else None,
            }
        )
    return list(runs.values())
