"""The portal's pages (web/portal.py): home, germplasm search, accession page.

The pages are plain HTML forms and links: everything here works without JavaScript.
"""

from __future__ import annotations

import re

import pytest


def _accessions(html: str) -> list[str]:
    """Accession numbers of the result rows, in order."""
    return re.findall(r'<td><a href="/germplasm/\d+">([^<]+)</a></td>', html)


def test_home__species_cards_with_counts(client, world):
    resp = client.get("/")
    assert resp.status_code == 200
    html = resp.text
    assert "Oryza sativa" in html and "Camellia oleifera" in html
    assert 'href="/germplasm?species=rice"' in html
    rice_card = html[html.index('href="/germplasm?species=rice"') :]
    rice_card = rice_card[: rice_card.index("</li>")]
    assert "<strong>5</strong> accessions" in rice_card
    assert "ploidy 2" in rice_card
    oil_tea = html[html.index('href="/germplasm?species=oil_tea"') :]
    assert "ploidy 6" in oil_tea[: oil_tea.index("</li>")]
    assert 'action="/germplasm"' in html and 'name="q"' in html
    assert "7 accessions of 8 species" in html


def test_home__empty_database(client):
    resp = client.get("/")
    assert resp.status_code == 200
    assert "<strong>0</strong> accessions" in resp.text


def test_search__all_without_filters(client, world):
    resp = client.get("/germplasm")
    assert resp.status_code == 200
    assert "7 accessions" in resp.text
    assert _accessions(resp.text) == [
        "BH-0001",
        "BH-0002",
        "CM334",
        "D-1001",
        "IRGC 12731",
        "IRGC 328",
        "IRGC 66970",
    ]


@pytest.mark.parametrize("text", ["ir 64", "IR64", "ir-64", "IRGC 66970", "irgc66970", "IR 64-21"])
def test_search__text_finds_normalised_names(client, world, text):
    resp = client.get("/germplasm", query_string={"q": text})
    assert resp.status_code == 200
    assert _accessions(resp.text) == ["IRGC 66970"]
    assert "1 accession<" in resp.text


def test_search__text_finds_synonym(client, world):
    resp = client.get("/germplasm", query_string={"q": "日本晴"})
    assert _accessions(resp.text) == ["IRGC 12731"]
    assert "Nipponbare" in resp.text


def test_search__text_is_a_prefix(client, world):
    resp = client.get("/germplasm", query_string={"q": "iraz"})
    assert _accessions(resp.text) == ["BH-0001", "BH-0002"]


def test_search__filter_species(client, world):
    resp = client.get("/germplasm?species=pepper")
    assert _accessions(resp.text) == ["CM334"]
    assert '<option value="pepper" selected>' in resp.text


def test_search__filter_origin(client, world):
    resp = client.get("/germplasm?origin=phl")
    assert _accessions(resp.text) == ["IRGC 328", "IRGC 66970"]


def test_search__filter_institute(client, world):
    resp = client.get("/germplasm?institute=chn999")
    assert _accessions(resp.text) == ["BH-0001", "BH-0002"]


def test_search__sampstat_general_code_includes_specific(client, world):
    resp = client.get("/germplasm?sampstat=400")
    assert _accessions(resp.text) == ["BH-0001", "BH-0002"]
    resp = client.get("/germplasm?sampstat=410")
    assert _accessions(resp.text) == ["BH-0001"]


def test_search__filter_genotyped(client, world):
    assert _accessions(client.get("/germplasm?genotyped=yes").text) == ["IRGC 66970"]
    assert "IRGC 66970" not in _accessions(client.get("/germplasm?genotyped=no").text)


def test_search__trait_range(client, world):
    resp = client.get("/germplasm?trait=PlantHeight_cm&min=90&max=115")
    assert resp.status_code == 200
    assert _accessions(resp.text) == ["BH-0001", "IRGC 66970"]
    assert "Plant height (cm)" in resp.text  # the trait-mean column
    assert ">110<" in resp.text and ">95<" in resp.text


def test_search__trait_open_range(client, world):
    assert _accessions(client.get("/germplasm?trait=PlantHeight_cm&min=100").text) == [
        "BH-0001",
        "IRGC 328",
    ]


def test_search__sort_by_trait_descending(client, world):
    resp = client.get("/germplasm?trait=PlantHeight_cm&sort=trait&desc=1")
    assert _accessions(resp.text) == ["IRGC 328", "BH-0001", "IRGC 66970", "IRGC 12731"]


def test_search__sort_by_name(client, world):
    resp = client.get("/germplasm?species=rice&sort=name")
    assert _accessions(resp.text) == ["IRGC 328", "IRGC 66970", "BH-0001", "BH-0002", "IRGC 12731"]
    resp = client.get("/germplasm?species=rice&sort=name&desc=on")
    assert _accessions(resp.text) == ["IRGC 12731", "BH-0002", "BH-0001", "IRGC 66970", "IRGC 328"]


def test_search__pagination_keeps_filters(client, world):
    resp = client.get("/germplasm?species=rice&page_size=2")
    html = resp.text
    assert "5 accessions" in html and "Page 1 of 3" in html
    assert _accessions(html) == ["BH-0001", "BH-0002"]
    assert 'href="/germplasm?species=rice&amp;page_size=2&amp;page=2"' in html
    assert 'href="/germplasm?species=rice&amp;page_size=2&amp;page=3"' in html
    resp = client.get("/germplasm?species=rice&page_size=2&page=3")
    assert _accessions(resp.text) == ["IRGC 66970"]
    assert "Page 3 of 3" in resp.text
    assert 'rel="next"' not in resp.text and 'rel="prev"' in resp.text


def test_search__page_past_the_end(client, world):
    resp = client.get("/germplasm?page=9")
    assert resp.status_code == 200
    assert "No results on page 9" in resp.text


def test_search__no_match(client, world):
    resp = client.get("/germplasm?q=zzz")
    assert resp.status_code == 200
    assert "0 accessions" in resp.text and "No accessions match" in resp.text


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ("page=0", "must be 1 or more"),
        ("page=x", "must be a whole number"),
        ("sampstat=123", "is not an MCPD biological status"),
        ("trait=PlantHeight_cm&min=abc", "must be a number, not &#39;abc&#39;"),
        ("trait=NoSuchTrait_cm&min=1", "unknown observation variable"),
        ("sort=NoSuchTrait_cm", "unknown observation variable"),
        ("species=wheat", "unknown species"),
        ("origin=PH", "ISO 3166-1 alpha-3"),
    ],
)
def test_search__bad_parameters_400_with_message(client, world, query, message):
    resp = client.get("/germplasm?" + query)
    assert resp.status_code == 400
    assert resp.mimetype == "text/html"
    assert 'role="alert"' in resp.text
    assert message in resp.text
    assert "Traceback" not in resp.text
    assert '<form class="search-form"' in resp.text  # the form is shown again to correct


def test_search__bad_parameter_message_names_the_field(client, world):
    resp = client.get("/germplasm?page=0")
    assert resp.status_code == 400
    assert "Page: must be 1 or more, not 0" in resp.text


def test_search__form_keeps_values(client, world):
    resp = client.get("/germplasm?q=ir&species=rice&sampstat=410&genotyped=no&desc=1&page_size=50")
    html = resp.text
    assert 'name="q" value="ir"' in html
    assert '<option value="410" selected>' in html
    assert '<option value="no" selected>' in html
    assert '<option value="50" selected>' in html
    assert 'name="desc" value="1" checked' in html
    html = client.get("/germplasm?origin=phl&trait=PlantHeight_cm").text
    assert '<option value="PHL" selected>Philippines (PHL)</option>' in html
    assert '<option value="PlantHeight_cm" selected>' in html
    assert '<option value="PHL001">' in html  # the institute codes offered


def test_search__trait_choices_follow_species(client, world):
    html = client.get("/germplasm?species=pig").text
    assert 'value="BackfatThickness_mm"' in html
    assert 'value="PlantHeight_cm"' not in html
    html = client.get("/germplasm").text
    assert 'value="BackfatThickness_mm"' in html and 'value="PlantHeight_cm"' in html


def test_accession__header_and_passport(client, world):
    resp = client.get(f"/germplasm/{world.ir64}")
    assert resp.status_code == 200
    html = resp.text
    assert "IRGC 66970" in html and "IR64" in html
    assert "<i>Oryza sativa</i> subsp. indica" in html
    assert "International Rice Research Institute" in html
    assert "<dt>Ploidy</dt><dd>2</dd>" in html
    for title in (
        "Identity",
        "Taxonomy",
        "Collecting",
        "Breeding",
        "Donor &amp; other numbers",
        "Storage &amp; MLS",
        "Remarks",
    ):
        assert f"<h3>{title}</h3>" in html
    assert "500 – Advanced or improved cultivar" in html
    assert "40 – Institute, experimental station" in html
    assert "12 – Medium term; 13 – Long term" in html
    assert "1 – Yes" in html
    assert "PHL – Philippines" in html
    assert "1985-06-01" in html
    assert "Mega-variety; reference indica line." in html
    assert ">SAMPSTAT</abbr>" in html


def test_accession__names_and_synonyms(client, world):
    html = client.get(f"/germplasm/{world.nipponbare}").text
    assert "日本晴" in html and "synonym" in html


def test_accession__pedigree_links_parents(client, world):
    html = client.get(f"/germplasm/{world.iraz1}").text
    assert f'<a href="/germplasm/{world.ir64}">IRGC 66970</a> IR64' in html
    assert f'<a href="/germplasm/{world.azucena}">IRGC 328</a> Azucena' in html
    assert "biparental" in html and "F6" in html and "2019" in html


def test_accession__progeny_links(client, world):
    html = client.get(f"/germplasm/{world.ir64}").text
    assert f'<a href="/germplasm/{world.iraz1}">BH-0001</a>' in html


def test_accession__trait_table_and_chart(client, world):
    html = client.get(f"/germplasm/{world.ir64}").text
    traits = html[html.index('id="traits"') : html.index('id="studies"')]
    assert "PlantHeight_cm" in traits and "GrainYield_t_ha" in traits
    row = traits[traits.index("PlantHeight_cm") :]
    row = row[: row.index("</tr>")]
    assert re.findall(r'class="num">([^<]*)<', row) == ["2", "95", "90", "100"]
    assert "<td>cm</td>" in row
    assert '<svg class="trait-chart"' in traits


def test_accession__studies_samples_datasets_predictions(client, world):
    html = client.get(f"/germplasm/{world.ir64}").text
    assert "ROT-2024-Sanya" in html
    assert "S-IR64-01" in html and "leaf" in html
    assert "rice-panel-2024" in html and "12,345" in html
    assert "gblup-height-2024" in html and "GBLUP" in html and "-4.25" in html
    # ranked in the trait's breeding direction, out of how many candidates
    assert "3 of 1,200" in html and "nearest 100" in html


def test_accession__empty_sections_say_so(client, world):
    html = client.get(f"/germplasm/{world.duroc}").text
    assert "No trait data have been recorded" in html
    assert "No DNA samples" in html
    assert "in no genotype dataset" in html
    assert "No genomic predictions" in html
    assert "No parents are recorded" in html
    assert '<table class="data">' not in html
    assert "trait-chart" not in html


def test_accession__unknown_id_404(client, world):
    resp = client.get("/germplasm/999999")
    assert resp.status_code == 404
    assert "no accession with id 999999" in resp.text
    assert resp.mimetype == "text/html"


def test_accession__id_does_not_fall_back_to_number(client, world):
    # an accession *number* that looks like an id must not be found by the id route
    resp = client.get("/germplasm/328")
    assert resp.status_code == 404


def test_home__promises_only_what_exists(client, world):
    # every service the home page names answers where it points
    html = client.get("/").text
    assert "/api/v1/germplasm" in html and 'href="/brapi/v2/serverinfo"' in html
    assert client.get("/brapi/v2/serverinfo").get_json()["result"]["calls"]
    assert client.get("/api/v1/germplasm").status_code == 200


def test_search__broad_result_says_at_least(client, world, monkeypatch):
    from breedhub.germplasm import queries_search

    monkeypatch.setattr(queries_search, "MAX_RESULTS", 3)
    html = client.get("/germplasm").text
    assert "3+ accessions" in html
    assert len(_accessions(html)) == 3
    narrow = client.get("/germplasm?species=pepper").text
    assert "1 accession<" in narrow and "+ accession" not in narrow
