"""Selection lists: every query and write behind the portal's lists and the cross planner's parents.

A selection list belongs to its owner and the owner's institute, and is
``public`` or ``restricted`` like every other record (:mod:`germplasm.access`):
a restricted list of another institute is answered exactly like one that does
not exist (None), so its existence is not revealed. Only the owner (or an
admin) changes a list; the web layer checks that with
:meth:`~germplasm.access.Viewer.owns`.

Besides the lists themselves this module reads what the comparison page and
the cross planner show of the candidates: passport basics, trait means, the
latest visible GEBVs, pedigree parents and ancestry, and which genotype
dataset holds them all.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import delete, func, or_, select
from sqlalchemy.orm import Session

from breedhub.germplasm.access import Viewer, visible_clause
from breedhub.germplasm.exceptions import DuplicateError
from breedhub.germplasm.models import (
    VISIBILITY,
    Accession,
    GenotypeDataset,
    GenotypeDatasetSample,
    Institute,
    ModelRun,
    ObservationVariable,
    Pedigree,
    Prediction,
    Sample,
    SelectionList,
    SelectionListItem,
    SpeciesRow,
    TraitSummary,
    User,
)

__all__ = [
    "ListRow",
    "add_list_items",
    "candidate_gebvs",
    "candidate_trait_means",
    "common_genotype_dataset",
    "create_list",
    "delete_list",
    "existing_accession_ids",
    "list_accession_ids",
    "list_items",
    "owned_list_named",
    "pedigree_ancestry",
    "pedigree_parents",
    "remove_list_items",
    "update_list",
    "visible_list",
    "visible_lists",
]

_CHUNK = 500
#: The longest list name (the column's length).
MAX_NAME = 200


@dataclass(frozen=True)
class ListRow:
    """A selection list as the lists page shows it.

    Attributes
    ----------
    id, name, description, visibility
        The list's own fields.
    owner_id, owner
        Its owner's id and username ("" if the account is gone).
    institute
        Its institute's code ("" if none).
    n_items
        How many candidates it holds.
    """

    id: int
    name: str
    description: str
    visibility: str
    owner_id: int | None
    owner: str
    institute: str
    n_items: int


def _chunks(ids: Sequence[int]) -> list[list[int]]:
    unique = list(dict.fromkeys(int(i) for i in ids))
    return [unique[i : i + _CHUNK] for i in range(0, len(unique), _CHUNK)]


def _check_visibility(visibility: str) -> None:
    if visibility not in VISIBILITY:
        raise ValueError(f"visibility must be 'public' or 'restricted', not {visibility!r}")


def _check_name(name: str) -> str:
    name = name.strip()
    if not name or len(name) > MAX_NAME:
        raise ValueError(f"a list name must have 1 to {MAX_NAME} characters")
    return name


def _name_taken(session: Session, owner_id: int | None, name: str, but: int | None) -> bool:
    stmt = select(SelectionList.id).where(
        SelectionList.owner_id == owner_id, SelectionList.name == name
    )
    if but is not None:
        stmt = stmt.where(SelectionList.id != but)
    return session.scalars(stmt.limit(1)).first() is not None


# --- lists ---------------------------------------------------------------------------------


def create_list(
    session: Session,
    *,
    name: str,
    owner_id: int | None,
    institute_id: int | None,
    description: str = "",
    visibility: str = "restricted",
) -> SelectionList:
    """Create an empty selection list; the caller commits.

    Parameters
    ----------
    session
        An open session.
    name
        What the owner calls it (1 to 200 characters, unique among the owner's lists).
    owner_id, institute_id
        The owner (``user_account.id``) and their institute.
    description
        Free text.
    visibility
        ``"public"`` or ``"restricted"`` (to ``institute_id``).

    Returns
    -------
    SelectionList
        The new row, flushed (it has its id).

    Raises
    ------
    ValueError
        For an empty or too long name, or an unknown visibility.
    DuplicateError
        If the owner already has a list of that name.
    """
    name = _check_name(name)
    _check_visibility(visibility)
    if _name_taken(session, owner_id, name, None):
        raise DuplicateError(f"you already have a list named {name!r}: pick another name")
    row = SelectionList(
        name=name, description=description, owner_id=owner_id, institute_id=institute_id,
        visibility=visibility,
    )  # fmt: skip
    session.add(row)
    session.flush()
    return row


def update_list(
    session: Session,
    selection: SelectionList,
    *,
    name: str | None = None,
    description: str | None = None,
    visibility: str | None = None,
) -> None:
    """Rename a list, change its description or its visibility; the caller commits.

    Parameters
    ----------
    session
        An open session.
    selection
        The list (as :func:`visible_list` returned it).
    name, description, visibility
        The new values; None keeps the current one.

    Raises
    ------
    ValueError
        For an empty or too long name, or an unknown visibility.
    DuplicateError
        If the owner already has another list of that name.
    """
    if name is not None:
        name = _check_name(name)
        if _name_taken(session, selection.owner_id, name, selection.id):
            raise DuplicateError(f"there is already a list named {name!r}: pick another name")
        selection.name = name
    if description is not None:
        selection.description = description
    if visibility is not None:
        _check_visibility(visibility)
        selection.visibility = visibility
    session.flush()


def delete_list(session: Session, list_id: int) -> None:
    """Remove a list and its items (nothing if it does not exist); the caller commits.

    Parameters
    ----------
    session, list_id
        An open session; ``selection_list.id``.
    """
    session.execute(delete(SelectionListItem).where(SelectionListItem.list_id == list_id))
    session.execute(delete(SelectionList).where(SelectionList.id == list_id))


def visible_list(session: Session, list_id: int, viewer: Viewer) -> SelectionList | None:
    """The list ``list_id`` if it exists and ``viewer`` may see it, else None.

    Parameters
    ----------
    session, list_id
        An open session; ``selection_list.id``.
    viewer
        Who is looking.

    Returns
    -------
    SelectionList or None
        None both for an unknown id and a restricted list of another institute.
    """
    row = session.get(SelectionList, list_id)
    if row is None:
        return None
    if viewer.sees(row) or (viewer.user_id is not None and row.owner_id == viewer.user_id):
        return row
    return None


def owned_list_named(session: Session, owner_id: int, name: str) -> SelectionList | None:
    """The list of user ``owner_id`` called ``name``, or None.

    Parameters
    ----------
    session, owner_id
        An open session; ``user_account.id``.
    name
        The list's name (surrounding spaces ignored).

    Returns
    -------
    SelectionList or None
    """
    stmt = select(SelectionList).where(
        SelectionList.owner_id == owner_id, SelectionList.name == name.strip()
    )
    return session.scalars(stmt.limit(1)).first()


def visible_lists(session: Session, viewer: Viewer, *, limit: int = 500) -> list[ListRow]:
    """The viewer's own lists, then those of their institute and the public ones, by name.

    Parameters
    ----------
    session, viewer
        An open session; who is looking (anonymous visitors see public lists).
    limit
        At most this many lists.

    Returns
    -------
    list of ListRow
        The viewer's own first.
    """
    counts = (
        select(SelectionListItem.list_id, func.count().label("n"))
        .group_by(SelectionListItem.list_id)
        .subquery()
    )
    where = visible_clause(SelectionList, viewer)
    if viewer.user_id is not None:
        where = or_(where, SelectionList.owner_id == viewer.user_id)
    stmt = (
        select(SelectionList, User.username, Institute.code, counts.c.n)
        .outerjoin(User, User.id == SelectionList.owner_id)
        .outerjoin(Institute, Institute.id == SelectionList.institute_id)
        .outerjoin(counts, counts.c.list_id == SelectionList.id)
        .where(where)
        .order_by(SelectionList.name, SelectionList.id)
        .limit(limit)
    )
    rows = [
        ListRow(
            lst.id,
            lst.name,
            lst.description or "",
            lst.visibility,
            lst.owner_id,
            user or "",
            code or "",
            int(n or 0),
        )  # fmt: skip
        for lst, user, code, n in session.execute(stmt)
    ]
    return sorted(rows, key=lambda r: r.owner_id != viewer.user_id or viewer.user_id is None)


# --- items ---------------------------------------------------------------------------------


def existing_accession_ids(session: Session, ids: Collection[int]) -> set[int]:
    """The ids of ``ids`` that are accessions.

    Parameters
    ----------
    session, ids
        An open session; candidate ``accession.id`` values (any number: sent in chunks).

    Returns
    -------
    set of int
    """
    found: set[int] = set()
    for chunk in _chunks(list(ids)):
        found.update(session.scalars(select(Accession.id).where(Accession.id.in_(chunk))))
    return found


def list_accession_ids(session: Session, list_id: int) -> list[int]:
    """The accessions of list ``list_id`` in the list's order.

    Parameters
    ----------
    session, list_id
        An open session; ``selection_list.id``.

    Returns
    -------
    list of int
    """
    stmt = (
        select(SelectionListItem.accession_id)
        .where(SelectionListItem.list_id == list_id)
        .order_by(SelectionListItem.position, SelectionListItem.accession_id)
    )
    return list(session.scalars(stmt))


def add_list_items(session: Session, list_id: int, accession_ids: Sequence[int]) -> list[int]:
    """Append accessions to a list, ignoring those it already holds; the caller commits.

    Parameters
    ----------
    session, list_id
        An open session; ``selection_list.id``.
    accession_ids
        The accessions, in the order to append them; every one must exist
        (check with :func:`existing_accession_ids` first: nothing is added
        when one does not).

    Returns
    -------
    list of int
        The ids added (the new ones, each once).

    Raises
    ------
    ValueError
        If an id is not an accession (nothing is added).
    """
    wanted = list(dict.fromkeys(int(a) for a in accession_ids))
    unknown = sorted(set(wanted) - existing_accession_ids(session, wanted))
    if unknown:
        raise ValueError(f"no accessions with ids {', '.join(map(str, unknown[:20]))}")
    have = set(list_accession_ids(session, list_id))
    last = session.scalar(
        select(func.max(SelectionListItem.position)).where(SelectionListItem.list_id == list_id)
    )
    position = -1 if last is None else int(last)
    added = []
    for acc in wanted:
        if acc in have:
            continue
        position += 1
        session.add(SelectionListItem(list_id=list_id, accession_id=acc, position=position))
        added.append(acc)
    session.flush()
    return added


def remove_list_items(session: Session, list_id: int, accession_ids: Collection[int]) -> int:
    """Remove accessions from a list (those it does not hold are ignored); the caller commits.

    Parameters
    ----------
    session, list_id
        An open session; ``selection_list.id``.
    accession_ids
        The accessions to remove.

    Returns
    -------
    int
        How many were removed.
    """
    removed = 0
    for chunk in _chunks(list(accession_ids)):
        result = session.execute(
            delete(SelectionListItem).where(
                SelectionListItem.list_id == list_id, SelectionListItem.accession_id.in_(chunk)
            )
        )
        removed += int(getattr(result, "rowcount", 0) or 0)
    return removed


def list_items(session: Session, list_id: int) -> list[dict[str, Any]]:
    """The candidates of a list with their passport basics, in the list's order.

    Parameters
    ----------
    session, list_id
        An open session; ``selection_list.id``.

    Returns
    -------
    list of dict
        ``id``, ``accenumb``, ``name``, ``institute``, ``species`` (key),
        ``ploidy`` (the accession's, else its species'), ``origcty``,
        ``sampstat``, ``subtaxa``, ``note``, ``position`` per candidate.
    """
    stmt = (
        select(SelectionListItem, Accession, Institute.code, SpeciesRow.key, SpeciesRow.ploidy)
        .join(Accession, Accession.id == SelectionListItem.accession_id)
        .join(Institute, Institute.id == Accession.institute_id)
        .join(SpeciesRow, SpeciesRow.id == Accession.species_id)
        .where(SelectionListItem.list_id == list_id)
        .order_by(SelectionListItem.position, SelectionListItem.accession_id)
    )
    return [
        {
            "id": acc.id,
            "accenumb": acc.accenumb,
            "name": acc.name,
            "institute": code,
            "species": species,
            "ploidy": acc.ploidy or ploidy,
            "origcty": acc.origcty,
            "sampstat": acc.sampstat,
            "subtaxa": acc.subtaxa,
            "note": item.note,
            "position": item.position,
        }  # fmt: skip
        for item, acc, code, species, ploidy in session.execute(stmt).unique()
    ]


# --- what the comparison shows -------------------------------------------------------------


def candidate_trait_means(
    session: Session, accession_ids: Sequence[int]
) -> tuple[list[ObservationVariable], dict[int, dict[str, float | None]]]:
    """Trait means of the candidates (from the trait summaries).

    Parameters
    ----------
    session, accession_ids
        An open session; ``accession.id`` values.

    Returns
    -------
    (list of ObservationVariable, dict)
        The variables observed on any candidate, by name, and accession id ->
        variable name -> mean.
    """
    variables: dict[str, ObservationVariable] = {}
    means: dict[int, dict[str, float | None]] = {}
    for chunk in _chunks(accession_ids):
        stmt = (
            select(TraitSummary.accession_id, TraitSummary.mean, ObservationVariable)
            .join(ObservationVariable, ObservationVariable.id == TraitSummary.variable_id)
            .where(TraitSummary.accession_id.in_(chunk))
        )
        for acc, mean, var in session.execute(stmt):
            variables[var.name] = var
            means.setdefault(int(acc), {})[var.name] = mean
    return [variables[k] for k in sorted(variables)], means


def candidate_gebvs(
    session: Session, accession_ids: Sequence[int], viewer: Viewer
) -> dict[int, dict[str, dict[str, Any]]]:
    """The latest GEBV of each candidate for each trait, from the model runs ``viewer`` sees.

    Parameters
    ----------
    session, accession_ids
        An open session; ``accession.id`` values.
    viewer
        Who is looking: restricted runs of other institutes are left out.

    Returns
    -------
    dict
        accession id -> variable name -> ``{"gebv", "reliability", "rank",
        "run_id", "run"}`` from the newest visible run that predicted it.
    """
    out: dict[int, dict[str, dict[str, Any]]] = {}
    for chunk in _chunks(accession_ids):
        stmt = (
            select(
                Prediction.accession_id,
                Prediction.gebv,
                Prediction.reliability,
                Prediction.rank,
                ObservationVariable.name,
                ModelRun.id,
                ModelRun.name,
            )  # fmt: skip
            .join(ModelRun, ModelRun.id == Prediction.model_run_id)
            .join(ObservationVariable, ObservationVariable.id == Prediction.variable_id)
            .where(Prediction.accession_id.in_(chunk), visible_clause(ModelRun, viewer))
            .order_by(ModelRun.created_at.desc(), ModelRun.id.desc())
        )
        for acc, gebv, rel, rank, var, run_id, run in session.execute(stmt):
            out.setdefault(int(acc), {}).setdefault(
                var, {"gebv": gebv, "reliability": rel, "rank": rank, "run_id": run_id, "run": run}
            )
    return out


def pedigree_parents(session: Session, accession_ids: Sequence[int]) -> dict[int, dict[str, Any]]:
    """The recorded parents of the candidates.

    Parameters
    ----------
    session, accession_ids
        An open session; ``accession.id`` values.

    Returns
    -------
    dict
        accession id -> ``{"female": (id, label) or None, "male": ..., "cross_type"}``
        for the candidates with a pedigree; a label is the accession's name or number.
    """
    rows: list[Any] = []
    for chunk in _chunks(accession_ids):
        rows += session.execute(
            select(
                Pedigree.accession_id,
                Pedigree.female_parent_id,
                Pedigree.male_parent_id,
                Pedigree.cross_type,
            ).where(Pedigree.accession_id.in_(chunk))  # fmt: skip
        ).all()
    parent_ids = [p for r in rows for p in (r[1], r[2]) if p is not None]
    labels: dict[int, str] = {}
    for chunk in _chunks(parent_ids):
        for i, num, name in session.execute(
            select(Accession.id, Accession.accenumb, Accession.name).where(Accession.id.in_(chunk))
        ):
            labels[int(i)] = name or num
    return {
        int(acc): {
            "female": None if f is None else (int(f), labels.get(int(f), str(f))),
            "male": None if m is None else (int(m), labels.get(int(m), str(m))),
            "cross_type": cross_type,
        }
        for acc, f, m, cross_type in rows
    }


def pedigree_ancestry(
    session: Session, accession_ids: Sequence[int], *, max_generations: int = 20,
    max_individuals: int = 20_000,
) -> list[tuple[int, int | None, int | None]]:  # fmt: skip
    """The candidates and their recorded ancestors, as ``(id, female, male)`` rows.

    Parameters
    ----------
    session, accession_ids
        An open session; the candidates' ``accession.id`` values.
    max_generations
        How many generations back to follow.
    max_individuals
        Stop adding ancestors past this many individuals (the rest are founders).

    Returns
    -------
    list of tuple
        One row per individual reached (candidates first); a parent beyond
        the limits is left out, so its child's parent is None.
    """
    edges: dict[int, tuple[int | None, int | None]] = {}
    frontier = list(dict.fromkeys(int(a) for a in accession_ids))
    order = list(frontier)
    seen = set(order)
    for _ in range(max_generations):
        if not frontier:
            break
        found: dict[int, tuple[int | None, int | None]] = {}
        for chunk in _chunks(frontier):
            stmt = select(
                Pedigree.accession_id, Pedigree.female_parent_id, Pedigree.male_parent_id
            ).where(Pedigree.accession_id.in_(chunk))
            for acc, f, m in session.execute(stmt):
                found[int(acc)] = (f, m)
        nxt = []
        for acc in frontier:
            f, m = found.get(acc, (None, None))
            edges[acc] = (f, m)
            for p in (f, m):
                if p is not None and int(p) not in seen and len(order) < max_individuals:
                    seen.add(int(p))
                    order.append(int(p))
                    nxt.append(int(p))
        frontier = nxt
    known = set(order)
    rows = []
    for acc in order:
        f, m = edges.get(acc, (None, None))
        rows.append((acc, f if f in known else None, m if m in known else None))
    return rows


def common_genotype_dataset(
    session: Session, accession_ids: Sequence[int], viewer: Viewer
) -> tuple[GenotypeDataset, dict[int, str]] | None:
    """A visible genotype dataset holding every candidate, with one sample per candidate.

    Parameters
    ----------
    session, accession_ids
        An open session; the candidates' ``accession.id`` values.
    viewer
        Who is looking: restricted datasets of other institutes are not used.

    Returns
    -------
    (GenotypeDataset, dict) or None
        The newest such dataset and accession id -> the name of its first
        sample (by column) in it; None when no one dataset holds them all.
    """
    wanted = list(dict.fromkeys(int(a) for a in accession_ids))
    if not wanted:
        return None
    hits: dict[int, dict[int, tuple[int, str]]] = {}
    for chunk in _chunks(wanted):
        stmt = (
            select(
                GenotypeDatasetSample.dataset_id,
                Sample.accession_id,
                GenotypeDatasetSample.column_index,
                Sample.name,
            )  # fmt: skip
            .join(Sample, Sample.id == GenotypeDatasetSample.sample_id)
            .join(GenotypeDataset, GenotypeDataset.id == GenotypeDatasetSample.dataset_id)
            .where(Sample.accession_id.in_(chunk), visible_clause(GenotypeDataset, viewer))
        )
        for ds, acc, col, name in session.execute(stmt):
            per = hits.setdefault(int(ds), {})
            if int(acc) not in per or col < per[int(acc)][0]:
                per[int(acc)] = (int(col), str(name))
    complete = [ds for ds, per in hits.items() if len(per) == len(wanted)]
    if not complete:
        return None
    dataset_id = max(complete)
    ds = session.get(GenotypeDataset, dataset_id)
    assert ds is not None
    return ds, {acc: name for acc, (_, name) in hits[dataset_id].items()}
