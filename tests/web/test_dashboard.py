"""The species dashboard (web/dashboard.py): counts, PCA, trait histograms, model runs, visibility."""

from __future__ import annotations

import os
import re

import pytest
from sqlalchemy import distinct, func, select

from breedhub.germplasm import transaction
from breedhub.germplasm.models import (
    Accession,
    GenotypeDataset,
    GenotypeDatasetSample,
    ModelRun,
    Sample,
    SpeciesRow,
    TraitSummary,
    Trial,
)
from breedhub.pipelines.pca import clear_pca_cache, dataset_pca
from breedhub.web.db import get_engine
from tests.web._dashboard_data import (
    add_genotyped_panel,
    add_restricted_records,
    write_store,
)
from tests.web.conftest import login


def _figure(html: str, ident: str) -> str:
    m = re.search(rf'id="{ident}">([^<]*)<', html)
    assert m, f"no #{ident}"
    return m.group(1).replace(",", "")


def _section(html: str, ident: str) -> str:
    start = html.index(f'<section id="{ident}"')
    return html[start : html.index("</section>", start)]


def test_species__counts_equal_orm_counts(app, client, world):
    resp = client.get("/species/rice")
    assert resp.status_code == 200
    html = resp.text
    with transaction(get_engine(app)) as s:
        rice = s.scalars(select(SpeciesRow).where(SpeciesRow.key == "rice")).one()
        accs = s.scalars(select(Accession).where(Accession.species_id == rice.id)).all()
        genotyped = s.scalar(
            select(func.count(distinct(Sample.accession_id)))
            .join(GenotypeDatasetSample, GenotypeDatasetSample.sample_id == Sample.id)
            .join(GenotypeDataset, GenotypeDataset.id == GenotypeDatasetSample.dataset_id)
            .where(GenotypeDataset.species_id == rice.id)
        )
        phenotyped = s.scalar(
            select(func.count(distinct(TraitSummary.accession_id))).where(
                TraitSummary.accession_id.in_([a.id for a in accs])
            )
        )
        expected = {
            "n-accessions": len(accs),
            "n-genotyped": genotyped,
            "n-phenotyped": phenotyped,
            "n-trials": len(s.scalars(select(Trial).where(Trial.species_id == rice.id)).all()),
            "n-datasets": len(
                s.scalars(
                    select(GenotypeDataset).where(GenotypeDataset.species_id == rice.id)
                ).all()
            ),
            "n-runs": len(s.scalars(select(ModelRun).where(ModelRun.species_id == rice.id)).all()),
        }
        by_inst: dict[str, int] = {}
        by_status: dict[int | None, int] = {}
        for a in accs:
            by_inst[a.institute.code] = by_inst.get(a.institute.code, 0) + 1
            by_status[a.sampstat] = by_status.get(a.sampstat, 0) + 1
    assert {k: int(_figure(html, k)) for k in expected} == expected
    assert expected == {"n-accessions": 5, "n-genotyped": 1, "n-phenotyped": 4, "n-trials": 1,
                        "n-datasets": 1, "n-runs": 1}  # fmt: skip
    table = html[html.index('id="by-institute"') :]
    table = table[: table.index("</table>")]
    shown = dict(re.findall(r">([A-Z]{3}\d{3})</a>.*?class=\"num\">(\d+)<", table, flags=re.S))
    assert {k: int(v) for k, v in shown.items()} == by_inst == {"PHL001": 3, "CHN999": 2}
    status = html[html.index('id="by-status"') : html.index('id="structure"')]
    for code, n in by_status.items():
        assert re.search(rf">{code}</a> [^<]*</td><td class=\"num\">{n}<", status), (code, n)


def test_species__other_species_counts_only_its_own(client, world):
    html = client.get("/species/pig").text
    assert _figure(html, "n-accessions") == "1"
    assert _figure(html, "n-runs") == "0"
    assert "No genotype dataset of this species is visible to you." in html
    assert "No model run of this species is visible to you." in html


def test_overview__every_species_with_counts_and_links(client, world):
    resp = client.get("/species")
    assert resp.status_code == 200
    html = resp.text
    assert html.count("data-species=") == 8
    row = html[html.index('data-species="rice"') :]
    row = row[: row.index("</tr>")]
    assert 'href="/species/rice"' in row
    assert re.findall(r'class="num">([^<]*)<', row) == ["5", "1", "1", "1", "1"]


def test_home__cards_link_to_species_dashboards(client, world):
    html = client.get("/").text
    assert 'href="/species/rice"' in html and 'href="/species/oil_tea"' in html
    assert 'href="/species"' in html


@pytest.mark.parametrize("key", ["unicorn", "RICE", "x" * 300, "%00", "ri%00ce", "😀"])
def test_species__unknown_key_404(client, world, key):
    resp = client.get(f"/species/{key}")
    assert resp.status_code == 404
    assert "Traceback" not in resp.text


def test_species__bad_group_400(client, world):
    resp = client.get("/species/rice?group=colour")
    assert resp.status_code == 400
    assert "group" in resp.text


def test_species__message_when_store_missing(client, world):
    # world's dataset names genotypes/rice.h5, which is not on disk
    resp = client.get("/species/rice")
    assert resp.status_code == 200
    structure = _section(resp.text, "structure")
    assert 'id="pca-message"' in structure and "rice-panel-2024" in structure
    assert "not on this server" in structure
    assert "pca-chart" not in structure


def test_species__message_when_store_is_not_a_store(app, client, world, tmp_path):
    panel = add_genotyped_panel(app, tmp_path)
    panel.path.write_bytes(b"not an HDF5 file")
    clear_pca_cache()
    resp = client.get("/species/rice")
    assert resp.status_code == 200
    assert 'id="pca-message"' in resp.text and "rice-pca-panel" in resp.text


def test_species__pca_chart_of_the_largest_dataset(app, client, world, tmp_path):
    panel = add_genotyped_panel(app, tmp_path)
    clear_pca_cache()
    resp = client.get("/species/rice")
    assert resp.status_code == 200
    structure = _section(resp.text, "structure")
    assert "rice-pca-panel" in structure  # 10 samples beat world's 1
    assert '<svg class="pca-chart"' in structure
    titles = re.findall(r"<title>([^<]*)</title>", structure)
    assert len([t for t in titles if t.startswith("PCA-")]) == len(panel.accession_ids)
    assert "PCA-00 Panel line 0 · 300 Traditional cultivar/landrace" in titles
    assert "300 Traditional cultivar/landrace (5)" in structure  # the legend
    by_institute = client.get("/species/rice?group=institute").text
    assert "PHL001 (10)" in _section(by_institute, "structure")


def test_species__pca_separates_the_two_groups(app, world, tmp_path):
    panel = add_genotyped_panel(app, tmp_path)
    clear_pca_cache()
    result = dataset_pca(panel.dataset_id, panel.path)
    pc1 = result.coords[:, 0]
    first, second = pc1[:5], pc1[5:]
    assert (first.max() < second.min()) or (second.max() < first.min())


def test_dataset_pca__cached_per_file_version(app, world, tmp_path):
    panel = add_genotyped_panel(app, tmp_path)
    clear_pca_cache()
    once = dataset_pca(panel.dataset_id, panel.path)
    assert dataset_pca(panel.dataset_id, panel.path) is once
    write_store(panel.path, list(once.sample_id), seed=9)
    st = panel.path.stat()
    os.utime(panel.path, ns=(st.st_atime_ns, st.st_mtime_ns + 10**9))
    again = dataset_pca(panel.dataset_id, panel.path)
    assert again is not once


def test_dataset_pca__samples_and_variants_capped(app, world, tmp_path):
    panel = add_genotyped_panel(app, tmp_path)
    clear_pca_cache()
    result = dataset_pca(panel.dataset_id, panel.path, max_samples=4, max_variants=100)
    assert len(result.sample_id) == 4 and result.coords.shape == (4, 2)
    assert result.variants_read == 100 and result.n_variants == 300 and result.n_samples == 10


def test_species__trait_histograms_and_run_accuracy(app, client, world, tmp_path):
    add_genotyped_panel(app, tmp_path)
    html = client.get("/species/rice").text
    traits = _section(html, "traits")
    assert traits.count('<svg class="hist-chart"') == 2  # plant height (4 means), yield (1)
    assert "Plant height" in traits and "n = 4" in traits
    runs = _section(html, "runs")
    assert "gblup-panel" in runs and "gblup-height-2024" in runs
    assert '<svg class="accuracy-chart"' in runs
    assert "0.62" in runs and "0.41" in runs


@pytest.mark.parametrize("who", [None, "bea"])
def test_species__restricted_records_of_another_institute_hidden(
    app, client, world, tmp_path, accounts, who
):
    hidden = add_restricted_records(app, tmp_path, world.ir64)
    if who:
        login(client, who)
    html = client.get("/species/rice").text
    assert hidden.run not in html and hidden.dataset not in html and hidden.trial not in html
    assert _figure(html, "n-trials") == "1"
    assert _figure(html, "n-datasets") == "1"
    assert _figure(html, "n-runs") == "1"
    assert _figure(html, "n-genotyped") == "1"
    overview = client.get("/species").text
    row = overview[overview.index('data-species="rice"') :]
    assert re.findall(r'class="num">([^<]*)<', row[: row.index("</tr>")]) == [
        "17",
        "1",
        "1",
        "1",
        "1",
    ]


def test_species__restricted_records_shown_to_their_institute(
    app, client, world, tmp_path, accounts
):
    hidden = add_restricted_records(app, tmp_path, world.ir64)
    clear_pca_cache()
    login(client, "chen")
    html = client.get("/species/rice").text
    assert hidden.run in html
    assert _figure(html, "n-trials") == "2"
    assert _figure(html, "n-datasets") == "2"
    assert _figure(html, "n-runs") == "2"
    assert _figure(html, "n-genotyped") == "13"
    structure = _section(html, "structure")
    assert hidden.dataset in structure and '<svg class="pca-chart"' in structure
    assert '<svg class="accuracy-chart"' in html
