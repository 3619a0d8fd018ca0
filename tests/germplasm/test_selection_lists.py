"""Queries and writes of germplasm/selection_lists.py on both engines."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select

from breedhub.germplasm import DuplicateError, transaction
from breedhub.germplasm import selection_lists as sl
from breedhub.germplasm.access import Viewer
from breedhub.germplasm.models import (
    GenotypeDataset,
    GenotypeDatasetSample,
    Institute,
    ModelRun,
    ObservationVariable,
    Pedigree,
    Prediction,
    Sample,
    SpeciesRow,
    User,
)
from tests.web.conftest import add_accession

ANON = Viewer.anonymous()


@pytest.fixture
def db(engine):
    """Five rice accessions A1..A5 (PHL001), users ana (PHL001) and bo (CHN999), runs, datasets.

    A3 is a child of A1 x A2, A4 of A3 x A2. A public run (2024) and a newer
    restricted CHN999 run (2025) predict grain yield of A1; a public dataset
    holds A1, A2 (two samples of A2); a restricted CHN999 dataset holds A1..A3.
    """
    with transaction(engine) as s:
        rice = s.scalars(select(SpeciesRow).where(SpeciesRow.key == "rice")).one()
        ids = [add_accession(s, species="rice", instcode="PHL001", accenumb=f"A{k}").id
               for k in range(1, 6)]  # fmt: skip
        chn = Institute(code="CHN999")
        s.add(chn)
        s.flush()
        phl = s.scalars(select(Institute).where(Institute.code == "PHL001")).one()
        ana = User(username="ana", role="breeder", institute_id=phl.id)
        bo = User(username="bo", role="breeder", institute_id=chn.id)
        s.add_all([ana, bo])
        s.add(Pedigree(accession_id=ids[2], female_parent_id=ids[0], male_parent_id=ids[1]))
        s.add(Pedigree(accession_id=ids[3], female_parent_id=ids[2], male_parent_id=ids[1]))
        yield_id = s.scalars(
            select(ObservationVariable.id).where(ObservationVariable.name == "GrainYield_t_ha")
        ).one()
        old = ModelRun(name="old", method="gblup", species_id=rice.id,
                       created_at=dt.datetime(2024, 1, 1), visibility="public")  # fmt: skip
        new = ModelRun(name="new", method="gblup", species_id=rice.id, institute_id=chn.id,
                       created_at=dt.datetime(2025, 1, 1), visibility="restricted")  # fmt: skip
        s.add_all([old, new])
        s.flush()
        s.add(Prediction(model_run_id=old.id, accession_id=ids[0], variable_id=yield_id, gebv=1.0))
        s.add(Prediction(model_run_id=new.id, accession_id=ids[0], variable_id=yield_id, gebv=2.0))
        pub = GenotypeDataset(name="pub", species_id=rice.id, path="p.h5", ploidy=2)
        sec = GenotypeDataset(name="sec", species_id=rice.id, path="s.h5", ploidy=2,
                              institute_id=chn.id, visibility="restricted")  # fmt: skip
        s.add_all([pub, sec])
        s.flush()
        for ds, members in ((pub, [0, 1, 1]), (sec, [0, 1, 2])):
            for col, k in enumerate(members):
                smp = Sample(name=f"{ds.name}-{col}", accession_id=ids[k])
                s.add(smp)
                s.flush()
                s.add(GenotypeDatasetSample(dataset_id=ds.id, sample_id=smp.id, column_index=col))
        s.flush()
        out = {"engine": engine, "ids": ids, "ana": Viewer(ana.id, "breeder", phl.id),
               "bo": Viewer(bo.id, "breeder", chn.id), "phl": phl.id, "chn": chn.id}  # fmt: skip
    return out


def test_create_list__duplicate_name_of_the_same_owner(db):
    ana = db["ana"]
    with transaction(db["engine"]) as s:
        sl.create_list(s, name="Elite", owner_id=ana.user_id, institute_id=ana.institute_id)
        with pytest.raises(DuplicateError):
            sl.create_list(s, name=" Elite ", owner_id=ana.user_id, institute_id=ana.institute_id)
        with pytest.raises(ValueError):
            sl.create_list(s, name="x", owner_id=ana.user_id, institute_id=None, visibility="all")
        sl.create_list(s, name="Elite", owner_id=db["bo"].user_id, institute_id=db["chn"])


def test_add_list_items__appends_ignoring_duplicates_and_refuses_unknown(db):
    a = db["ids"]
    with transaction(db["engine"]) as s:
        lst = sl.create_list(s, name="L", owner_id=db["ana"].user_id, institute_id=db["phl"])
        assert sl.add_list_items(s, lst.id, [a[2], a[0], a[2]]) == [a[2], a[0]]
        assert sl.add_list_items(s, lst.id, [a[0], a[1]]) == [a[1]]
        with pytest.raises(ValueError, match="999999"):
            sl.add_list_items(s, lst.id, [a[3], 999999])
        assert sl.list_accession_ids(s, lst.id) == [a[2], a[0], a[1]]
        assert sl.remove_list_items(s, lst.id, [a[0], a[4]]) == 1
        assert [it["accenumb"] for it in sl.list_items(s, lst.id)] == ["A3", "A2"]
        assert sl.list_items(s, lst.id)[0]["ploidy"] == 2
        sl.update_list(s, lst, name="M", visibility="public")
        assert (lst.name, lst.visibility) == ("M", "public")
        sl.delete_list(s, lst.id)
        assert sl.visible_list(s, lst.id, db["ana"]) is None


def test_visible_lists__own_institute_and_public(db):
    ana, bo = db["ana"], db["bo"]
    with transaction(db["engine"]) as s:
        mine = sl.create_list(s, name="mine", owner_id=ana.user_id, institute_id=db["phl"])
        theirs = sl.create_list(s, name="theirs", owner_id=bo.user_id, institute_id=db["chn"])
        shared = sl.create_list(s, name="shared", owner_id=bo.user_id, institute_id=db["chn"],
                                visibility="public")  # fmt: skip
        sl.add_list_items(s, shared.id, db["ids"][:2])
        rows = sl.visible_lists(s, ana)
        assert [r.name for r in rows] == ["mine", "shared"]
        assert rows[1].n_items == 2 and rows[1].owner == "bo" and rows[1].institute == "CHN999"
        assert [r.name for r in sl.visible_lists(s, ANON)] == ["shared"]
        assert sl.visible_list(s, theirs.id, ana) is None
        assert sl.visible_list(s, theirs.id, bo) is not None
        assert sl.visible_list(s, mine.id, Viewer(999, "admin", None)) is not None
        assert sl.owned_list_named(s, ana.user_id, " mine") is not None


def test_candidate_gebvs__newest_visible_run(db):
    a1 = db["ids"][0]
    with transaction(db["engine"]) as s:
        assert sl.candidate_gebvs(s, [a1], db["ana"])[a1]["GrainYield_t_ha"]["gebv"] == 1.0
        assert sl.candidate_gebvs(s, [a1], db["bo"])[a1]["GrainYield_t_ha"]["gebv"] == 2.0


def test_common_genotype_dataset__visible_one_holding_all(db):
    a = db["ids"]
    with transaction(db["engine"]) as s:
        ds, samples = sl.common_genotype_dataset(s, a[:2], db["ana"])
        assert ds.name == "pub" and samples == {a[0]: "pub-0", a[1]: "pub-1"}
        assert sl.common_genotype_dataset(s, a[:3], db["ana"]) is None  # sec is hidden from ana
        ds, _ = sl.common_genotype_dataset(s, a[:3], db["bo"])
        assert ds.name == "sec"
        assert sl.common_genotype_dataset(s, [a[4]], db["bo"]) is None


def test_pedigree__parents_and_ancestry(db):
    a = db["ids"]
    with transaction(db["engine"]) as s:
        parents = sl.pedigree_parents(s, [a[3], a[0]])
        assert parents[a[3]]["female"] == (a[2], "A3") and a[0] not in parents
        rows = sl.pedigree_ancestry(s, [a[3], a[1]])
        assert rows == [(a[3], a[2], a[1]), (a[1], None, None), (a[2], a[0], a[1]),
                        (a[0], None, None)]  # fmt: skip
        assert sl.pedigree_ancestry(s, [a[3]], max_generations=1) == [
            (a[3], a[2], a[1]), (a[2], None, None), (a[1], None, None)
        ]  # fmt: skip


def test_candidate_trait_means__empty_without_summaries(db):
    with transaction(db["engine"]) as s:
        variables, means = sl.candidate_trait_means(s, db["ids"])
        assert variables == [] and means == {}
