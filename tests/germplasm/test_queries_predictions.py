"""Queries of the Predictions pages: visible runs, ranked pages with filters, GEBV tables, indexes."""

from __future__ import annotations

import math

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from breedhub.germplasm import transaction
from breedhub.germplasm.access import Viewer
from breedhub.germplasm.models import (
    GenotypeDataset,
    GenotypeDatasetSample,
    Institute,
    ModelRun,
    ObservationUnit,
    ObservationVariable,
    Pedigree,
    Prediction,
    Sample,
    SpeciesRow,
    Study,
    Trial,
)
from breedhub.germplasm.queries_predictions import (
    RankingFilters,
    accession_labels,
    add_selection_index,
    count_predictions,
    delete_selection_index,
    find_visible_trial,
    gebv_table,
    iter_ranking,
    parent_ids_named,
    ranking_page,
    run_traits,
    visible_run,
    visible_runs,
    visible_selection_index,
    visible_selection_indexes,
    visible_trials,
)
from tests.web.conftest import add_accession

ANON = Viewer.anonymous()


@pytest.fixture
def db(engine):
    """Eight rice accessions (A1..A8), a public and a restricted run, a trial, a pedigree.

    A1..A4 are held by PHL001 (institute ``phl``), A5..A8 by CHN999. Grain yield
    GEBVs are 8 - k (A1 best), days to heading k (A1 earliest, rank 1); A2 and
    A3 are genotyped; A1, A2, A5 were observed in the (restricted, CHN999) trial;
    A6 and A7 are children of A1. A8 has no days-to-heading prediction.
    """
    with transaction(engine) as s:
        rice = s.scalars(select(SpeciesRow).where(SpeciesRow.key == "rice")).one()
        ids = []
        for k in range(1, 9):
            inst = "PHL001" if k <= 4 else "CHN999"
            ids.append(add_accession(s, species="rice", instcode=inst, accenumb=f"A{k}",
                                     name=f"Alpha {k}").id)  # fmt: skip
        phl, chn = (
            s.scalars(select(Institute).where(Institute.code == c)).one().id
            for c in ("PHL001", "CHN999")
        )
        ds = GenotypeDataset(name="ds", species_id=rice.id, path="x.h5", ploidy=2)
        s.add(ds)
        s.flush()
        for k in (2, 3):
            sample = Sample(name=f"S{k}", accession_id=ids[k - 1])
            s.add(sample)
            s.flush()
            s.add(GenotypeDatasetSample(dataset_id=ds.id, sample_id=sample.id, column_index=k))
        trial = Trial(name="T-restricted", species_id=rice.id, institute_id=chn,
                      visibility="restricted")  # fmt: skip
        s.add(trial)
        s.flush()
        study = Study(trial_id=trial.id, name="T-r-1")
        s.add(study)
        s.flush()
        for k in (1, 2, 5):
            s.add(ObservationUnit(study_id=study.id, accession_id=ids[k - 1], name=f"p{k}"))
        for k in (6, 7):
            s.add(Pedigree(accession_id=ids[k - 1], female_parent_id=ids[0]))
        public = ModelRun(name="pub", method="gblup", species_id=rice.id, institute_id=phl)
        secret = ModelRun(name="sec", method="gblup", species_id=rice.id, institute_id=chn,
                          visibility="restricted")  # fmt: skip
        s.add_all([public, secret])
        s.flush()
        var = {
            v.name: v.id
            for v in s.scalars(
                select(ObservationVariable).where(
                    ObservationVariable.name.in_(["GrainYield_t_ha", "DaysToHeading_d"])
                )
            )
        }
        for k, acc in enumerate(ids, start=1):
            s.add(Prediction(model_run_id=public.id, accession_id=acc,
                             variable_id=var["GrainYield_t_ha"], gebv=8.0 - k,
                             reliability=0.5, rank=k))  # fmt: skip
            if k < 8:
                s.add(Prediction(model_run_id=public.id, accession_id=acc,
                                 variable_id=var["DaysToHeading_d"], gebv=float(k),
                                 reliability=None, rank=k))  # fmt: skip
        s.add(Prediction(model_run_id=secret.id, accession_id=ids[0],
                         variable_id=var["GrainYield_t_ha"], gebv=1.0, rank=1))  # fmt: skip
        out = {"ids": ids, "public": public.id, "secret": secret.id, "trial": trial.id,
               "var": var, "phl": phl, "chn": chn, "rice": rice.id}  # fmt: skip
    return out


def _session(engine) -> Session:
    return Session(engine)


def test_visible_runs__restricted_only_for_its_institute_and_admins(engine, db):
    with _session(engine) as s:
        assert {r.name for r in visible_runs(s, ANON)} == {"pub"}
        phl = Viewer(user_id=1, role="breeder", institute_id=db["phl"])
        chn = Viewer(user_id=2, role="breeder", institute_id=db["chn"])
        admin = Viewer(user_id=3, role="admin")
        assert {r.name for r in visible_runs(s, phl)} == {"pub"}
        assert {r.name for r in visible_runs(s, chn)} == {"pub", "sec"}
        assert {r.name for r in visible_runs(s, admin, species_id=db["rice"])} == {"pub", "sec"}
        assert visible_run(s, db["secret"], phl) is None
        assert visible_run(s, db["secret"], chn).name == "sec"
        assert visible_run(s, 2**31 - 1, admin) is None


def test_run_traits__the_predicted_variables_by_name(engine, db):
    with _session(engine) as s:
        assert [v.name for v in run_traits(s, db["public"])] == [
            "DaysToHeading_d",
            "GrainYield_t_ha",
        ]
        assert count_predictions(s, db["public"], db["var"]["DaysToHeading_d"]) == 7


def test_ranking_page__rank_order_and_total(engine, db):
    with _session(engine) as s:
        page = ranking_page(s, db["public"], db["var"]["DaysToHeading_d"], page_size=3, page=2)
        assert page.total == 7 and page.pages == 3
        assert [r.accenumb for r in page.rows] == ["A4", "A5", "A6"]
        assert [r.rank for r in page.rows] == [4, 5, 6]
        assert page.rows[0].institute == "PHL001" and page.rows[0].reliability is None
        past = ranking_page(s, db["public"], db["var"]["DaysToHeading_d"], page=99)
        assert past.total == 7 and past.rows == []
        with pytest.raises(ValueError, match="page"):
            ranking_page(s, db["public"], db["var"]["DaysToHeading_d"], page=0)


@pytest.mark.parametrize(
    ("filters", "expected"),
    [
        (RankingFilters(institute="chn999"), ["A5", "A6", "A7", "A8"]),
        (RankingFilters(genotyped=True), ["A2", "A3"]),
        (RankingFilters(genotyped=False), ["A1", "A4", "A5", "A6", "A7", "A8"]),
        ("trial", ["A1", "A2", "A5"]),
        ("parent", ["A6", "A7"]),
        (RankingFilters(institute="PHL001", genotyped=True), ["A2", "A3"]),
        (RankingFilters(institute="NOPE"), []),
    ],
)
def test_ranking_page__filters(engine, db, filters, expected):
    if filters == "trial":
        filters = RankingFilters(trial_id=db["trial"])
    elif filters == "parent":
        filters = RankingFilters(parent_ids=(db["ids"][0],))
    with _session(engine) as s:
        page = ranking_page(s, db["public"], db["var"]["GrainYield_t_ha"], filters, page_size=50)
        assert [r.accenumb for r in page.rows] == expected
        assert page.total == len(expected)
        streamed = list(
            iter_ranking(s, db["public"], db["var"]["GrainYield_t_ha"], filters, batch=2)
        )
        assert [r.accenumb for r in streamed] == expected


def test_find_visible_trial__restricted_trial_hidden(engine, db):
    phl = Viewer(user_id=1, role="breeder", institute_id=db["phl"])
    chn = Viewer(user_id=2, role="breeder", institute_id=db["chn"])
    with _session(engine) as s:
        assert find_visible_trial(s, "T-restricted", phl) is None
        assert find_visible_trial(s, db["trial"], ANON) is None
        assert find_visible_trial(s, "T-restricted", chn).id == db["trial"]
        assert find_visible_trial(s, db["trial"], chn, db["rice"] + 1) is None
        assert [t.name for t in visible_trials(s, chn, db["rice"])] == ["T-restricted"]
        assert visible_trials(s, phl, db["rice"]) == []


def test_parent_ids_named__number_or_name_normalised(engine, db):
    with _session(engine) as s:
        assert parent_ids_named(s, "a1", db["rice"]) == [db["ids"][0]]
        assert parent_ids_named(s, "Alpha-1", db["rice"]) == [db["ids"][0]]
        assert parent_ids_named(s, "A", db["rice"]) == []  # whole names, not prefixes
        assert parent_ids_named(s, "--", db["rice"]) == []


def test_gebv_table__wide_with_nan_for_missing(engine, db):
    var = db["var"]
    with _session(engine) as s:
        table = gebv_table(s, db["public"], [var["GrainYield_t_ha"], var["DaysToHeading_d"]])
        assert table.accession_ids == db["ids"]
        assert table.gebv.shape == (8, 2)
        assert table.gebv[0].tolist() == [7.0, 1.0]
        assert math.isnan(table.gebv[7, 1])
        assert table.reliability[0, 0] == 0.5 and math.isnan(table.reliability[0, 1])
        assert gebv_table(s, db["public"], []).gebv.shape == (0, 0)
        labels = accession_labels(s, db["ids"][:2])
        assert labels[db["ids"][0]] == ("A1", "Alpha 1", "PHL001")


def test_selection_index__add_visible_delete(engine, db):
    with transaction(engine) as s:
        public = add_selection_index(
            s, name="pub", species_id=db["rice"], model_run_id=db["public"], mode="weights",
            weights={"GrainYield_t_ha": 1}, proportion=0.1, owner_id=None, institute_id=db["phl"],
        )  # fmt: skip
        restricted = add_selection_index(
            s, name="res", species_id=db["rice"], model_run_id=db["public"], mode="gains",
            weights={"GrainYield_t_ha": 0.5}, proportion=0.2, owner_id=None,
            institute_id=db["phl"], visibility="restricted",
        )  # fmt: skip
        ids = (public.id, restricted.id)
    member = Viewer(user_id=9, role="breeder", institute_id=db["phl"])
    with _session(engine) as s:
        assert [i.name for i in visible_selection_indexes(s, ANON)] == ["pub"]
        assert [i.name for i in visible_selection_indexes(s, member)] == ["res", "pub"]
        assert visible_selection_index(s, ids[1], ANON) is None
        assert visible_selection_index(s, ids[1], member).weights == {"GrainYield_t_ha": 0.5}
    with transaction(engine) as s:
        delete_selection_index(s, ids[0])
    with _session(engine) as s:
        assert visible_selection_index(s, ids[0], member) is None


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [({"mode": "x"}, "mode"), ({"visibility": "x"}, "visibility"), ({"proportion": 1.0}, "prop")],
)
def test_add_selection_index__bad_values_raise(engine, db, kwargs, message):
    args = dict(name="n", species_id=db["rice"], model_run_id=db["public"], mode="weights",
                weights={}, proportion=0.1, owner_id=None, institute_id=None)  # fmt: skip
    args.update(kwargs)
    with transaction(engine) as s, pytest.raises(ValueError, match=message):
        add_selection_index(s, **args)
