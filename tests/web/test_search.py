"""Parsing the search parameters (web/search.py); no database needed."""

from __future__ import annotations

import pytest

from breedhub.germplasm import AccessionQuery, TraitRange
from breedhub.web.exceptions import InvalidParameterError
from breedhub.web.search import parse_query


def test_parse_query__empty_is_default():
    assert parse_query({}) == AccessionQuery()


def test_parse_query__all_parameters():
    q = parse_query(
        {
            "q": " ir 64 ",
            "species": "rice",
            "institute": "phl001",
            "origin": "phl",
            "sampstat": "400",
            "genotyped": "yes",
            "trait": "PlantHeight_cm",
            "min": "90",
            "max": "120.5",
            "sort": "trait",
            "desc": "1",
            "page": "2",
            "page_size": "10",
        },
        species_keys={"rice"},
    )
    assert q == AccessionQuery(
        text="ir 64",
        species="rice",
        institute="PHL001",
        origin="PHL",
        sampstat=400,
        genotyped=True,
        traits=(TraitRange("PlantHeight_cm", 90.0, 120.5),),
        sort="PlantHeight_cm",
        descending=True,
        page=2,
        page_size=10,
    )


def test_parse_query__trait_without_range_keeps_accessions_with_data():
    assert parse_query({"trait": "PlantHeight_cm"}).traits == (TraitRange("PlantHeight_cm"),)


@pytest.mark.parametrize(
    ("args", "parameter"),
    [
        ({"page": "0"}, "page"),
        ({"page": "two"}, "page"),
        ({"page_size": "5000"}, "page_size"),
        ({"sampstat": "401"}, "sampstat"),
        ({"sampstat": "wild"}, "sampstat"),
        ({"origin": "PH"}, "origin"),
        ({"genotyped": "maybe"}, "genotyped"),
        ({"trait": "PlantHeight_cm", "min": "tall"}, "min"),
        ({"trait": "PlantHeight_cm", "max": "nan"}, "max"),
        ({"trait": "PlantHeight_cm", "min": "5", "max": "3"}, "min"),
        ({"min": "5"}, "trait"),
        ({"sort": "trait"}, "sort"),
        ({"species": "wheat"}, "species"),
    ],
)
def test_parse_query__bad_value_names_parameter(args, parameter):
    with pytest.raises(InvalidParameterError) as info:
        parse_query(args, species_keys={"rice", "pig"})
    assert info.value.parameter == parameter
    assert info.value.http_status == 400
    assert info.value.details()[0]["parameter"] == parameter
