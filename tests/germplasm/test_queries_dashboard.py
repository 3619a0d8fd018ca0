"""Queries of the species dashboard, the pedigree drawing and the accession's GEBVs, on both engines."""

from __future__ import annotations

from dataclasses import dataclass

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
    ObservationVariable,
    Pedigree,
    Prediction,
    Sample,
    SpeciesRow,
    TraitSummary,
    Trial,
)
from breedhub.germplasm.queries_dashboard import (
    accession_gebvs,
    dataset_sample_info,
    largest_visible_dataset,
    pedigree_tree,
    species_by_key,
    species_counts,
    species_summaries,
    trait_histograms,
)
from tests.web.conftest import add_accession

ANON = Viewer.anonymous()


@dataclass
class Data:
    rice: int
    acc: list[int]
    inst: dict[str, int]
    public_ds: int
    secret_ds: int
    public_run: int
    secret_run: int
    height: int


def _var(s: Session, name: str) -> ObservationVariable:
    return s.scalars(select(ObservationVariable).where(ObservationVariable.name == name)).one()


@pytest.fixture
def data(engine) -> Data:
    """Six rice accessions of two institutes; a public and a restricted (BBB002) dataset,
    trial and run; plant-height means 80, 90, ... 130."""
    with transaction(engine) as s:
        rice = s.scalars(select(SpeciesRow).where(SpeciesRow.key == "rice")).one()
        accs = [
            add_accession(s, species="rice", instcode="AAA001" if i < 4 else "BBB002",
                          accenumb=f"R-{i}", name=f"rice {i}", sampstat=(300, 500, None)[i % 3])
            for i in range(6)
        ]  # fmt: skip
        add_accession(s, species="pig", instcode="AAA001", accenumb="P-1")
        inst = {c: s.scalars(select(Institute.id).where(Institute.code == c)).one()
                for c in ("AAA001", "BBB002")}  # fmt: skip
        secret = {"institute_id": inst["BBB002"], "visibility": "restricted"}
        s.add_all(
            [
                Trial(name="open", species_id=rice.id),
                Trial(name="closed", species_id=rice.id, **secret),
            ]
        )
        height = _var(s, "PlantHeight_cm")
        for i, a in enumerate(accs):
            s.add(TraitSummary(accession_id=a.id, variable_id=height.id, n=1, mean=80.0 + 10 * i,
                               min_value=0, max_value=0))  # fmt: skip
        dss = []
        for name, members, owner in (("pub", accs[:2], {}), ("sec", accs[2:], secret)):
            ds = GenotypeDataset(name=name, species_id=rice.id, path=f"/nowhere/{name}.h5",
                                 ploidy=2, n_samples=len(members), **owner)  # fmt: skip
            s.add(ds)
            s.flush()
            for col, a in enumerate(members):
                smp = Sample(name=f"{name}-{a.accenumb}", accession_id=a.id)
                s.add(smp)
                s.flush()
                s.add(GenotypeDatasetSample(dataset_id=ds.id, sample_id=smp.id, column_index=col))
            dss.append(ds.id)
        runs = []
        for name, owner, metrics in (
            ("run-pub", {}, {"PlantHeight_cm": {"n_ranked": 500, "cv_mean_r": 0.5}}),
            ("run-sec", secret, {}),
        ):
            run = ModelRun(name=name, method="gblup", species_id=rice.id, metrics=metrics, **owner)
            s.add(run)
            s.flush()
            runs.append(run.id)
            for rank, a in enumerate(accs[:3], start=1):
                s.add(Prediction(model_run_id=run.id, accession_id=a.id, variable_id=height.id,
                                 gebv=float(rank), reliability=0.5, rank=rank))  # fmt: skip
        return Data(
            rice.id, [a.id for a in accs], inst, dss[0], dss[1], runs[0], runs[1], height.id
        )


def _bbb(data: Data) -> Viewer:
    return Viewer(user_id=1, role="breeder", institute_id=data.inst["BBB002"])


def test_species_counts__what_each_viewer_sees(engine, data):
    with transaction(engine) as s:
        anon = species_counts(s, data.rice, ANON)
        member = species_counts(s, data.rice, _bbb(data))
        admin = species_counts(s, data.rice, Viewer(user_id=2, role="admin"))
    assert anon.accessions == 6 and anon.phenotyped == 6
    assert anon.by_institute == [("AAA001", "", 4), ("BBB002", "", 2)]
    assert anon.by_status == [(300, "Traditional cultivar/landrace", 2),
                              (500, "Advanced or improved cultivar", 2), (None, "", 2)]  # fmt: skip
    assert (anon.genotyped, anon.trials, anon.genotype_datasets, anon.model_runs) == (2, 1, 1, 1)
    assert (member.genotyped, member.trials, member.genotype_datasets, member.model_runs) == (
        6,
        2,
        2,
        2,
    )
    assert admin == member


def test_species_summaries__one_row_per_species(engine, data):
    with transaction(engine) as s:
        rows = {r["species"].key: r for r in species_summaries(s, ANON)}
        member = {r["species"].key: r for r in species_summaries(s, _bbb(data))}
    assert len(rows) == 8
    rice = {k: v for k, v in rows["rice"].items() if k != "species"}
    assert rice == {
        "accessions": 6,
        "genotyped": 2,
        "trials": 1,
        "genotype_datasets": 1,
        "model_runs": 1,
    }
    assert member["rice"]["model_runs"] == 2 and member["rice"]["genotyped"] == 6
    assert rows["pig"]["accessions"] == 1 and rows["tea"]["accessions"] == 0


def test_largest_visible_dataset__restricted_only_for_members(engine, data):
    with transaction(engine) as s:
        assert largest_visible_dataset(s, data.rice, ANON).id == data.public_ds
        assert largest_visible_dataset(s, data.rice, _bbb(data)).id == data.secret_ds
        pig = species_by_key(s, "pig")
        assert largest_visible_dataset(s, pig.id, ANON) is None
        assert species_by_key(s, "unicorn") is None


def test_dataset_sample_info__every_column(engine, data):
    with transaction(engine) as s:
        info = dataset_sample_info(s, data.public_ds)
    assert set(info) == {"pub-R-0", "pub-R-1"}
    r0 = info["pub-R-0"]
    assert (r0.accession_id, r0.accenumb, r0.institute, r0.sampstat) == (
        data.acc[0],
        "R-0",
        "AAA001",
        300,
    )


def test_trait_histograms__bins_cover_every_mean(engine, data):
    with transaction(engine) as s:
        (h,) = trait_histograms(s, data.rice, bins=5)
        (one,) = trait_histograms(s, data.rice, bins=1)
    assert h.variable.name == "PlantHeight_cm" and h.n == 6 and h.mean == pytest.approx(105)
    assert h.edges == pytest.approx([80, 90, 100, 110, 120, 130])
    assert h.counts == [1, 1, 1, 1, 2]  # 130, the highest, in the last bin
    assert one.counts == [6]


def test_trait_histograms__one_value(engine, data):
    with transaction(engine) as s:
        yield_var = _var(s, "GrainYield_t_ha")
        s.add(TraitSummary(accession_id=data.acc[0], variable_id=yield_var.id, n=2, mean=6.0,
                           min_value=5, max_value=7))  # fmt: skip
    with transaction(engine) as s:
        hists = {h.variable.name: h for h in trait_histograms(s, data.rice)}
    assert hists["GrainYield_t_ha"].counts == [1] and hists["GrainYield_t_ha"].edges == [5.5, 6.5]
    assert sum(hists["PlantHeight_cm"].counts) == 6


@pytest.mark.parametrize("bins", [0, 101, True, 2.5])
def test_trait_histograms__bad_bins(engine, data, bins):
    with transaction(engine) as s, pytest.raises(ValueError, match="bins"):
        trait_histograms(s, data.rice, bins=bins)


def test_accession_gebvs__rank_of_n_and_visibility(engine, data):
    with transaction(engine) as s:
        anon = accession_gebvs(s, data.acc[1], ANON)
        member = accession_gebvs(s, data.acc[1], _bbb(data))
    assert [r["name"] for r in anon] == ["run-pub"]
    (row,) = anon[0]["rows"]
    assert (row["variable"], row["gebv"], row["rank"], row["of_n"]) == (
        "PlantHeight_cm",
        2.0,
        2,
        500,
    )
    assert row["cv_mean_r"] == 0.5 and row["direction"] == "optimum" and row["optimum"] == 100
    assert row["standing"] == pytest.approx(1 - 1 / 500)
    assert [r["name"] for r in member] == ["run-sec", "run-pub"]  # newest first
    sec = member[0]["rows"][0]
    assert sec["of_n"] == 3 and sec["cv_mean_r"] is None  # no n_ranked: the run's highest rank


def test_pedigree_tree__parents_unknown_and_progeny(engine, data):
    a = data.acc
    with transaction(engine) as s:
        s.add(Pedigree(accession_id=a[2], female_parent_id=a[0], male_parent_id=a[1]))
        s.add(Pedigree(accession_id=a[3], female_parent_id=a[2]))
        s.add(Pedigree(accession_id=a[4], female_parent_id=a[3], male_parent_id=a[0]))
    with transaction(engine) as s:
        tree = pedigree_tree(s, a[3])
        short = pedigree_tree(s, a[3], generations=1, progeny_generations=0)
        capped = pedigree_tree(s, a[3], max_nodes=2)
    assert {n.accenumb: n.depth for n in tree.nodes.values()} == {
        "R-3": 0, "R-2": -1, "R-0": -2, "R-1": -2, "R-4": 1}  # fmt: skip
    assert (None, a[3], "male") in tree.edges and (a[3], a[4], "female") in tree.edges
    assert (a[0], a[4], "male") not in tree.edges  # only the progeny's link to this accession
    assert not tree.truncated
    assert set(short.nodes) == {a[3], a[2]} and short.truncated
    assert len(capped.nodes) == 2 and capped.truncated


def test_pedigree_tree__shared_ancestor_once(engine, data):
    a = data.acc
    with transaction(engine) as s:  # a[0] is both grandparents' parent: a loop-free diamond
        s.add(Pedigree(accession_id=a[1], female_parent_id=a[0]))
        s.add(Pedigree(accession_id=a[2], female_parent_id=a[0]))
        s.add(Pedigree(accession_id=a[3], female_parent_id=a[1], male_parent_id=a[2]))
    with transaction(engine) as s:
        tree = pedigree_tree(s, a[3])
    assert len(tree.nodes) == 4
    assert sorted(e for e in tree.edges if e[0] == a[0]) == [
        (a[0], a[1], "female"),
        (a[0], a[2], "female"),
    ]
