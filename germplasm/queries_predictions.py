"""Queries behind the portal's Predictions pages: model runs, ranked GEBVs, saved selection indexes.

Every function takes the :class:`~germplasm.access.Viewer` it answers for where
visibility matters: a restricted model run, trial or selection index of another
institute is answered exactly like one that does not exist (``None`` or left
out), so that its existence is not revealed.

The ranking of one trait of one run is read in the run's stored rank order
(``Prediction.rank`` is already in the trait's breeding direction, 1 = best),
which the index ``(model_run_id, variable_id, rank)`` serves; filters narrow it
by the candidate's holding institute, whether it is genotyped, whether it was
observed in a trial, and whether its pedigree names a given parent.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

import numpy as np
from sqlalchemy import ColumnElement, Select, delete, exists, func, or_, select
from sqlalchemy.orm import Session

from breedhub.germplasm.access import Viewer, visible_clause
from breedhub.germplasm.models import (  # fmt: skip
    Accession,
    AccessionName,
    GenotypeDatasetSample,
    Institute,
    ModelRun,
    ObservationUnit,
    ObservationVariable,
    Pedigree,
    Prediction,
    Sample,
    SelectionIndex,
    SelectionList,
    Study,
    Trial,
)
from breedhub.germplasm.names import search_key

__all__ = [
    "GebvTable", "RankingFilters", "RankingPage", "RankingRow", "accession_labels",
    "add_selection_index", "count_predictions", "delete_selection_index", "find_visible_trial",
    "gebv_table", "iter_ranking", "owned_lists", "parent_ids_named", "ranking_page", "run_traits",
    "visible_run", "visible_runs", "visible_selection_index", "visible_selection_indexes",
    "visible_trials",
]  # fmt: skip

_CHUNK = 500
_T = TypeVar("_T")
_CACHE: OrderedDict[tuple[Any, ...], Any] = OrderedDict()
_CACHE_LOCK = threading.Lock()
_CACHE_SIZE = 16


def _run_cached(session: Session, run_id: int, what: tuple[Any, ...], make: Callable[[], _T]) -> _T:
    """``make()``, remembered in this process for the run (its predictions never change).

    The key names the database (URL), the run's id and creation time, so that a
    run removed and another created with its id is not mistaken for it.
    """
    run = session.get(ModelRun, run_id)
    bind = session.get_bind()
    key = (str(bind.engine.url), run_id, run and run.created_at, *what)
    with _CACHE_LOCK:
        if key in _CACHE:
            _CACHE.move_to_end(key)
            return _CACHE[key]  # type: ignore[no-any-return]
    value = make()
    with _CACHE_LOCK:
        _CACHE[key] = value
        while len(_CACHE) > _CACHE_SIZE:
            _CACHE.popitem(last=False)
    return value


# --- model runs and their traits -------------------------------------------------------------


def visible_runs(
    session: Session, viewer: Viewer, *, species_id: int | None = None, limit: int = 500
) -> list[ModelRun]:
    """The model runs ``viewer`` may see, newest first.

    Parameters
    ----------
    session, viewer
        An open database session; who is looking (:func:`~germplasm.access.visible_clause`).
    species_id
        Only the runs of this species (``species.id``); all species when None.
    limit
        At most this many runs.

    Returns
    -------
    list of ModelRun
    """
    stmt = select(ModelRun).where(visible_clause(ModelRun, viewer))
    if species_id is not None:
        stmt = stmt.where(ModelRun.species_id == species_id)
    stmt = stmt.order_by(ModelRun.created_at.desc(), ModelRun.id.desc()).limit(limit)
    return list(session.scalars(stmt))


def visible_run(session: Session, run_id: int, viewer: Viewer) -> ModelRun | None:
    """The model run ``run_id`` if it exists and ``viewer`` may see it, else None.

    Parameters
    ----------
    session, run_id
        An open database session; ``model_run.id``.
    viewer
        Who is looking.

    Returns
    -------
    ModelRun or None
        None both for an unknown id and for a restricted run of another institute.
    """
    run = session.get(ModelRun, run_id)
    return run if run is not None and viewer.sees(run) else None


def run_traits(session: Session, run_id: int) -> list[ObservationVariable]:
    """The observation variables that model run ``run_id`` predicted, by name.

    Parameters
    ----------
    session, run_id
        An open database session; ``model_run.id``.

    Returns
    -------
    list of ObservationVariable
        Empty for a run without predictions.
    """
    # One index probe per variable (a few dozen), not a scan of the run's predictions.
    predicted = exists(
        select(Prediction.id).where(
            Prediction.model_run_id == run_id, Prediction.variable_id == ObservationVariable.id
        )
    )
    stmt = select(ObservationVariable).where(predicted)
    return list(session.scalars(stmt.order_by(ObservationVariable.name)))


def count_predictions(session: Session, run_id: int, variable_id: int) -> int:
    """How many candidates model run ``run_id`` predicted for variable ``variable_id``.

    Parameters
    ----------
    session
        An open database session.
    run_id, variable_id
        ``model_run.id`` and ``observation_variable.id``.

    Returns
    -------
    int
    """
    return _rank_stats(session, run_id, variable_id)[0]


def _rank_stats(session: Session, run_id: int, variable_id: int) -> tuple[int, bool]:
    """(number of predictions, whether their ranks are exactly 1..N), cached per run.

    :func:`pipelines.register` stores dense ranks, so a page of an unfiltered
    ranking is a range of ranks (an index range scan at any depth); other
    rows (ties, gaps, unranked) fall back to sorting.
    """

    def stats() -> tuple[int, bool]:
        r = Prediction.rank
        stmt = select(func.count(), func.count(r.distinct()), func.min(r), func.max(r))
        stmt = stmt.where(Prediction.model_run_id == run_id, Prediction.variable_id == variable_id)
        n, distinct, low, high = session.execute(stmt).one()
        return int(n), n > 0 and distinct == n and low == 1 and high == n

    return _run_cached(session, run_id, ("ranks", variable_id), stats)


# --- filters ----------------------------------------------------------------------------------


def visible_trials(session: Session, viewer: Viewer, species_id: int) -> list[Trial]:
    """The trials of species ``species_id`` that ``viewer`` may see, by name.

    Parameters
    ----------
    session, viewer
        An open database session; who is looking.
    species_id
        ``species.id``.

    Returns
    -------
    list of Trial
    """
    stmt = select(Trial).where(Trial.species_id == species_id, visible_clause(Trial, viewer))
    return list(session.scalars(stmt.order_by(Trial.name)))


def find_visible_trial(
    session: Session, ref: str | int, viewer: Viewer, species_id: int | None = None
) -> Trial | None:
    """The trial with id (int) or name (str) ``ref`` if ``viewer`` may see it, else None.

    Parameters
    ----------
    session, ref
        An open database session; ``trial.id`` as an int, or ``trial.name``.
    viewer
        Who is looking: a restricted trial of another institute is None.
    species_id
        When given, a trial of another species is None too.

    Returns
    -------
    Trial or None
    """
    cond = Trial.id == ref if isinstance(ref, int) else Trial.name == ref
    stmt = select(Trial).where(cond, visible_clause(Trial, viewer))
    if species_id is not None:
        stmt = stmt.where(Trial.species_id == species_id)
    return session.scalars(stmt).first()


def parent_ids_named(session: Session, ref: str, species_id: int) -> list[int]:
    """Accessions of species ``species_id`` whose number, name or synonym is ``ref``.

    Names are compared as the search compares them (:func:`~germplasm.names.search_key`:
    ``"IR 64"`` is ``"ir64"``), whole, not as a prefix.

    Parameters
    ----------
    session, ref
        An open database session; an accession number, name or synonym.
    species_id
        ``species.id``.

    Returns
    -------
    list of int
        Accession ids, sorted; empty when nothing is called ``ref``.
    """
    key = search_key(ref)
    if not key:
        return []
    stmt = (
        select(AccessionName.accession_id)
        .join(Accession, Accession.id == AccessionName.accession_id)
        .where(AccessionName.key == key, Accession.species_id == species_id)
        .distinct()
    )
    return sorted(session.scalars(stmt))


@dataclass(frozen=True)
class RankingFilters:
    """Which candidates of a ranking to keep (every field None: all of them).

    Attributes
    ----------
    institute
        WIEWS code of the holding institute.
    genotyped
        True: only candidates with a sample in a genotype dataset; False: only those without.
    trial_id
        Only candidates with an observation unit in this trial.
    parent_ids
        Only candidates whose pedigree names one of these accessions as mother or father.
    """

    institute: str | None = None
    genotyped: bool | None = None
    trial_id: int | None = None
    parent_ids: tuple[int, ...] | None = None


def _genotyped(accession_id: Any) -> ColumnElement[bool]:
    return exists(
        select(Sample.id)
        .join(GenotypeDatasetSample, GenotypeDatasetSample.sample_id == Sample.id)
        .where(Sample.accession_id == accession_id)
    )


def _filter_conditions(filters: RankingFilters) -> list[ColumnElement[bool]]:
    conds: list[ColumnElement[bool]] = []
    if filters.institute is not None:
        conds.append(Institute.code == filters.institute.upper())
    if filters.genotyped is not None:
        has = _genotyped(Prediction.accession_id)
        conds.append(has if filters.genotyped else ~has)
    if filters.trial_id is not None:
        observed = (
            select(ObservationUnit.accession_id)
            .join(Study, Study.id == ObservationUnit.study_id)
            .where(Study.trial_id == filters.trial_id)
        )
        conds.append(Prediction.accession_id.in_(observed))
    if filters.parent_ids is not None:
        parents = list(filters.parent_ids)
        progeny = select(Pedigree.accession_id).where(
            or_(Pedigree.female_parent_id.in_(parents), Pedigree.male_parent_id.in_(parents))
        )
        conds.append(Prediction.accession_id.in_(progeny))
    return conds


@dataclass(frozen=True)
class RankingRow:
    """One candidate of a ranking."""

    rank: int | None
    accession_id: int
    accenumb: str
    name: str
    institute: str
    gebv: float
    reliability: float | None
    genotyped: bool


@dataclass(frozen=True)
class RankingPage:
    """One page of a ranking and the number of candidates matching the filters."""

    total: int
    page: int
    page_size: int
    rows: list[RankingRow]

    @property
    def pages(self) -> int:
        """Number of pages (at least 1)."""
        return max(1, -(-self.total // self.page_size))


def _narrowed(
    stmt: Select[Any], run_id: int, variable_id: int, filters: RankingFilters, *, join: bool = True
) -> Select[Any]:
    """``stmt`` on one run's trait, filtered; ``join=False`` leaves out the institute join.

    Every prediction has its accession (a non-null foreign key), so the join
    changes no count; it is needed for the columns and the institute filter only.
    """
    if join or filters.institute is not None:
        stmt = stmt.join(Accession, Accession.id == Prediction.accession_id).join(
            Institute, Institute.id == Accession.institute_id
        )
    return stmt.where(
        Prediction.model_run_id == run_id,
        Prediction.variable_id == variable_id,
        *_filter_conditions(filters),
    )


def _ranking_select(
    run_id: int, variable_id: int, filters: RankingFilters, *, dense: bool = False
) -> Select[Any]:
    """The ranking's columns in rank order; ``dense`` (unique ranks): no tie-breaker."""
    columns = select(
        Prediction.rank,
        Prediction.accession_id,
        Accession.accenumb,
        Accession.name,
        Institute.code,
        Prediction.gebv,
        Prediction.reliability,
        _genotyped(Prediction.accession_id).label("genotyped"),
    ).select_from(Prediction)
    stmt = _narrowed(columns, run_id, variable_id, filters)
    if dense:  # the index (run, variable, rank) gives the order as it is
        return stmt.order_by(Prediction.rank)
    return stmt.order_by(Prediction.rank.asc().nulls_last(), Prediction.accession_id)


def _row(r: Any) -> RankingRow:
    return RankingRow(
        rank=r[0], accession_id=r[1], accenumb=r[2], name=r[3], institute=r[4],
        gebv=float(r[5]), reliability=None if r[6] is None else float(r[6]), genotyped=bool(r[7]),
    )  # fmt: skip


def ranking_page(
    session: Session,
    run_id: int,
    variable_id: int,
    filters: RankingFilters = RankingFilters(),
    *,
    page: int = 1,
    page_size: int = 25,
) -> RankingPage:
    """One page of the candidates of a run's trait, best first, and the filtered total.

    Parameters
    ----------
    session
        An open database session.
    run_id, variable_id
        The model run and the trait (``observation_variable.id``).
    filters
        Which candidates to keep.
    page, page_size
        1-based page number and its length; a page past the last is empty.

    Returns
    -------
    RankingPage
        Rows in the stored rank order (1 = best in the trait's direction),
        ties and unranked rows by accession id.

    Raises
    ------
    ValueError
        If ``page`` or ``page_size`` is below 1.
    """
    if page < 1 or page_size < 1:
        raise ValueError(f"page and page_size must be 1 or more, not {page} and {page_size}")
    n, dense = _rank_stats(session, run_id, variable_id)
    stmt = _ranking_select(run_id, variable_id, filters, dense=dense)
    start = (page - 1) * page_size
    if filters == RankingFilters():
        total = n
        if dense:  # rank k is the k-th row: the page is a range of ranks
            stmt = stmt.where(Prediction.rank.between(start + 1, start + page_size))
        else:
            stmt = stmt.limit(page_size).offset(start)
    else:
        count = _narrowed(
            select(func.count()).select_from(Prediction), run_id, variable_id, filters, join=False
        )
        total = int(session.scalar(count) or 0)
        stmt = stmt.limit(page_size).offset(start)
    rows = session.execute(stmt).all() if start < total else []
    return RankingPage(total, page, page_size, [_row(r) for r in rows])


def iter_ranking(
    session: Session,
    run_id: int,
    variable_id: int,
    filters: RankingFilters = RankingFilters(),
    *,
    batch: int = 2000,
) -> Iterator[RankingRow]:
    """Every candidate of a run's trait matching ``filters``, best first (for exports).

    Rows are fetched ``batch`` at a time, so a large run is streamed, not loaded.

    Parameters
    ----------
    session
        An open database session (kept open while iterating).
    run_id, variable_id, filters
        As :func:`ranking_page`.
    batch
        Rows fetched per round trip.

    Yields
    ------
    RankingRow
    """
    dense = _rank_stats(session, run_id, variable_id)[1]
    stmt = _ranking_select(run_id, variable_id, filters, dense=dense)
    stmt = stmt.execution_options(yield_per=batch)
    for r in session.execute(stmt):
        yield _row(r)


# --- the wide table of a selection index -------------------------------------------------------


@dataclass(frozen=True)
class GebvTable:
    """GEBVs of a run's candidates over several traits (NaN: not predicted).

    Attributes
    ----------
    accession_ids
        One per row, ascending.
    gebv, reliability
        (candidates x traits) arrays, traits in the order asked.
    """

    accession_ids: list[int]
    gebv: np.ndarray
    reliability: np.ndarray


def gebv_table(session: Session, run_id: int, variable_ids: Sequence[int]) -> GebvTable:
    """The GEBVs and reliabilities of model run ``run_id`` for ``variable_ids``, as matrices.

    Parameters
    ----------
    session, run_id
        An open database session; ``model_run.id``.
    variable_ids
        The traits, in the column order wanted.

    Returns
    -------
    GebvTable
        Every candidate with a prediction for at least one of the traits;
        read once per run and traits in each process, and read-only.
    """
    wanted = tuple(int(v) for v in variable_ids)
    return _run_cached(
        session, run_id, ("gebv", wanted), lambda: _gebv_table(session, run_id, wanted)
    )


def _gebv_table(session: Session, run_id: int, variable_ids: tuple[int, ...]) -> GebvTable:
    columns = []
    for v in variable_ids:
        stmt = select(Prediction.accession_id, Prediction.gebv, Prediction.reliability)
        stmt = stmt.where(Prediction.model_run_id == run_id, Prediction.variable_id == v)
        rows = session.execute(stmt).all()
        acc_t, gebv_t, rel_t = zip(*rows, strict=True) if rows else ((), (), ())
        arrays = (np.array(acc_t, np.int64), np.array(gebv_t, float), np.array(rel_t, float))
        columns.append(arrays)  # a None reliability becomes NaN
    ids = np.unique(np.concatenate([c[0] for c in columns])) if columns else np.array([], int)
    gebv = np.full((ids.size, len(variable_ids)), np.nan)
    rel = np.full((ids.size, len(variable_ids)), np.nan)
    for j, (acc, values, reliability) in enumerate(columns):
        pos = np.searchsorted(ids, acc)
        gebv[pos, j], rel[pos, j] = values, reliability
    gebv.setflags(write=False)
    rel.setflags(write=False)
    return GebvTable(ids.tolist(), gebv, rel)


def accession_labels(session: Session, ids: Sequence[int]) -> dict[int, tuple[str, str, str]]:
    """Accession id -> (accession number, name, holding institute's code) for ``ids``.

    Parameters
    ----------
    session, ids
        An open database session; ``accession.id`` values (any number: sent in chunks).

    Returns
    -------
    dict
        Ids that do not exist are left out.
    """
    out: dict[int, tuple[str, str, str]] = {}
    unique = list(dict.fromkeys(ids))
    for i in range(0, len(unique), _CHUNK):
        stmt = (
            select(Accession.id, Accession.accenumb, Accession.name, Institute.code)
            .join(Institute, Institute.id == Accession.institute_id)
            .where(Accession.id.in_(unique[i : i + _CHUNK]))
        )
        out.update({r[0]: (r[1], r[2], r[3]) for r in session.execute(stmt)})
    return out


# --- saved selection indexes and the viewer's lists ------------------------------------------


def add_selection_index(
    session: Session,
    *,
    name: str,
    species_id: int,
    model_run_id: int,
    mode: str,
    weights: Mapping[str, float],
    proportion: float,
    owner_id: int | None,
    institute_id: int | None,
    visibility: str = "public",
) -> SelectionIndex:
    """Save a selection index; the caller commits.

    Parameters
    ----------
    session
        An open session.
    name
        What the breeder calls it.
    species_id, model_run_id
        The species and the model run whose traits it weighs.
    mode
        ``"weights"`` (economic weights) or ``"gains"`` (desired gains).
    weights
        Trait (variable name) -> weight or desired gain.
    proportion
        Proportion selected, 0 < p < 1.
    owner_id, institute_id
        Who saved it and their institute.
    visibility
        ``"public"`` or ``"restricted"`` (to ``institute_id``).

    Returns
    -------
    SelectionIndex
        The new row, flushed (it has its id).

    Raises
    ------
    ValueError
        For an unknown mode or visibility, or a proportion outside (0, 1).
    """
    if mode not in ("weights", "gains"):
        raise ValueError(f"mode must be 'weights' or 'gains', not {mode!r}")
    if visibility not in ("public", "restricted"):
        raise ValueError(f"visibility must be 'public' or 'restricted', not {visibility!r}")
    if not 0 < proportion < 1:
        raise ValueError(f"proportion must be between 0 and 1, not {proportion}")
    row = SelectionIndex(
        name=name, species_id=species_id, model_run_id=model_run_id, mode=mode,
        weights={str(k): float(v) for k, v in weights.items()}, proportion=float(proportion),
        owner_id=owner_id, institute_id=institute_id, visibility=visibility,
    )  # fmt: skip
    session.add(row)
    session.flush()
    return row


def visible_selection_index(
    session: Session, index_id: int, viewer: Viewer
) -> SelectionIndex | None:
    """The saved selection index ``index_id`` if ``viewer`` may see it, else None.

    Parameters
    ----------
    session, index_id
        An open database session; ``selection_index.id``.
    viewer
        Who is looking.

    Returns
    -------
    SelectionIndex or None
    """
    row = session.get(SelectionIndex, index_id)
    return row if row is not None and viewer.sees(row) else None


def visible_selection_indexes(
    session: Session, viewer: Viewer, *, species_id: int | None = None, limit: int = 200
) -> list[SelectionIndex]:
    """Saved selection indexes ``viewer`` may see, newest first.

    Parameters
    ----------
    session, viewer
        An open database session; who is looking.
    species_id
        Only this species' indexes, when given.
    limit
        At most this many.

    Returns
    -------
    list of SelectionIndex
    """
    stmt = select(SelectionIndex).where(visible_clause(SelectionIndex, viewer))
    if species_id is not None:
        stmt = stmt.where(SelectionIndex.species_id == species_id)
    stmt = stmt.order_by(SelectionIndex.created_at.desc(), SelectionIndex.id.desc()).limit(limit)
    return list(session.scalars(stmt))


def delete_selection_index(session: Session, index_id: int) -> None:
    """Remove the saved selection index ``index_id`` (nothing if it does not exist).

    Parameters
    ----------
    session
        An open session; the caller commits.
    index_id
        ``selection_index.id``.
    """
    session.execute(delete(SelectionIndex).where(SelectionIndex.id == index_id))


def owned_lists(session: Session, user_id: int) -> list[SelectionList]:
    """The selection lists owned by user ``user_id``, by name (for an "add to list" form).

    Parameters
    ----------
    session, user_id
        An open database session; ``user_account.id``.

    Returns
    -------
    list of SelectionList
    """
    stmt = select(SelectionList).where(SelectionList.owner_id == user_id)
    return list(session.scalars(stmt.order_by(SelectionList.name)))
