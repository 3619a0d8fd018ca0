"""The accession search: each filter, sorts, other numbers, bad input, bounded count and pages.

A small collection imported through the real importers; every expectation is
computed from the rows written here, independently of the query code.
"""

from __future__ import annotations

import csv

import pytest
from sqlalchemy import select

from breedhub.germplasm import (
    AccessionQuery,
    NotFoundError,
    TraitRange,
    queries_search,
    search_accessions,
    session_factory,
)
from breedhub.germplasm.mcpd import COLUMNS
from breedhub.germplasm.models import Accession, GenotypeDataset, GenotypeDatasetSample, Sample
from breedhub.germplasm.passport import import_passport
from breedhub.germplasm.phenotypes import import_observations
from breedhub.germplasm.queries import MAX_PAGE, MAX_PAGE_SIZE, Page

N = 40
ORIGINS = ("CHN", "PHL", "IND")
SAMPSTATS = (410, 411, 500, 300)
GENOTYPED = {"A001", "A002", "A003", "A004", "A006"}


def _row(i: int) -> dict[str, str]:
    rice = i % 4 != 0
    return {
        "INSTCODE": "CHN001" if i % 2 else "PHL001",
        "ACCENUMB": f"A{i:03d}",
        "GENUS": "Oryza" if rice else "Capsicum",
        "SPECIES": "sativa" if rice else "annuum",
        "ACCENAME": f"Line {i}",
        "ORIGCTY": ORIGINS[i % 3],
        "SAMPSTAT": str(SAMPSTATS[i % 4]),
        "OTHERNUMB": "CHN002:ZD-123" if i == 7 else "",
    }


ROWS = [_row(i) for i in range(1, N + 1)]


def _yield(i: int) -> float:
    return round(2 + (i * 7 % 13) / 2, 1)  # 2.0 .. 8.0, with ties


@pytest.fixture
def collection(engine, registry, tmp_path):
    passport = tmp_path / "passport.csv"
    with passport.open("w", newline="") as fh:
        w = csv.DictWriter(fh, fieldnames=list(COLUMNS))
        w.writeheader()
        w.writerows({c: r.get(c, "") for c in COLUMNS} for r in ROWS)
    assert import_passport(engine, passport, registry=registry).inserted == N
    obs = tmp_path / "obs.csv"
    with obs.open("w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["trial", "study", "location", "year", "season", "instcode", "accenumb",
                    "replicate", "block", "GrainYield_t_ha"])  # fmt: skip
        for i, r in enumerate(ROWS, 1):
            if r["GENUS"] == "Oryza" and i <= 30:  # rice A031.. have no yield
                w.writerow(["T", "T-1", "Wuhan", "2024", "wet", r["INSTCODE"], r["ACCENUMB"],
                            "1", "1", _yield(i)])  # fmt: skip
    import_observations(engine, obs)
    with session_factory(engine)() as s, s.begin():
        ids = dict(s.execute(select(Accession.accenumb, Accession.id)).all())
        rice_id = s.scalar(select(Accession.species_id).where(Accession.accenumb == "A001"))
        ds = GenotypeDataset(name="GT", species_id=rice_id, path="/none", ploidy=2)
        s.add(ds)
        s.add(Sample(name="S-A005", accession_id=ids["A005"]))  # a sample, not genotyped
        for k, num in enumerate(sorted(GENOTYPED)):
            sample = Sample(name=f"S-{num}", accession_id=ids[num])
            s.add(sample)
            s.flush()
            s.add(GenotypeDatasetSample(dataset_id=ds.id, sample_id=sample.id, column_index=k))
    return engine


def _numbers(engine, **kw) -> list[str]:
    with session_factory(engine)() as s:
        page = search_accessions(s, AccessionQuery(page_size=MAX_PAGE_SIZE, **kw))
    assert page.total == len(page.results) and not page.total_is_lower_bound
    return [r["accenumb"] for r in page.results]


def _expected(keep) -> list[str]:
    return sorted(r["ACCENUMB"] for r in ROWS if keep(r))


@pytest.mark.parametrize(
    ("query", "keep"),
    [
        ({"species": "rice"}, lambda r: r["GENUS"] == "Oryza"),
        ({"species": "pepper"}, lambda r: r["GENUS"] == "Capsicum"),
        ({"institute": "chn001"}, lambda r: r["INSTCODE"] == "CHN001"),
        ({"institute": "XXX999"}, lambda r: False),
        ({"origin": "phl"}, lambda r: r["ORIGCTY"] == "PHL"),
        ({"sampstat": 400}, lambda r: r["SAMPSTAT"] in ("410", "411")),
        ({"sampstat": 410}, lambda r: r["SAMPSTAT"] in ("410", "411")),
        ({"sampstat": 411}, lambda r: r["SAMPSTAT"] == "411"),
        ({"genotyped": True}, lambda r: r["ACCENUMB"] in GENOTYPED),
        ({"genotyped": False}, lambda r: r["ACCENUMB"] not in GENOTYPED),
        (
            {"species": "rice", "origin": "CHN", "sampstat": 400, "genotyped": False},
            lambda r: (
                r["GENUS"] == "Oryza"
                and r["ORIGCTY"] == "CHN"
                and r["SAMPSTAT"] in ("410", "411")
                and r["ACCENUMB"] not in GENOTYPED
            ),
        ),  # fmt: skip
        ({"text": "line 1"}, lambda r: r["ACCENAME"].startswith("Line 1")),
        ({"text": "a00"}, lambda r: r["ACCENUMB"].startswith("A00")),
    ],
)
def test_search_accessions__each_filter_keeps_exactly_its_accessions(collection, query, keep):
    assert _numbers(collection, **query) == _expected(keep)


def test_search_accessions__unknown_species_is_not_found(collection):
    with session_factory(collection)() as s, pytest.raises(NotFoundError, match="unknown species"):
        search_accessions(s, AccessionQuery(species="unicorn"))


@pytest.mark.parametrize("sort", ["accenumb", "name", "origin", "sampstat", "institute"])
def test_search_accessions__descending_is_the_ascending_order_reversed(collection, sort):
    up = _numbers(collection, species="rice", sort=sort)
    down = _numbers(collection, species="rice", sort=sort, descending=True)
    assert down == up[::-1] and len(up) == 30


def test_search_accessions__trait_range_sorted_by_trait(collection):
    got = _numbers(collection, traits=(TraitRange("GrainYield_t_ha", 3.0, 6.0),),
                   sort="GrainYield_t_ha", descending=True)  # fmt: skip
    rows = [(i, r) for i, r in enumerate(ROWS, 1) if r["GENUS"] == "Oryza" and i <= 30]
    want = sorted(((_yield(i), r["ACCENUMB"]) for i, r in rows if 3.0 <= _yield(i) <= 6.0),
                  reverse=True)  # fmt: skip
    assert got == [n for _, n in want]


def test_search_accessions__sort_by_trait_puts_accessions_without_data_last(collection):
    with session_factory(collection)() as s:
        page = search_accessions(
            s, AccessionQuery(species="rice", sort="GrainYield_t_ha", page_size=100)
        )
    means = [r["traits"]["GrainYield_t_ha"] for r in page.results]
    assert len(means) == 30 and means[-7:] == [None] * 7
    assert means[:-7] == sorted(means[:-7])


@pytest.mark.parametrize(
    "text", ["CHN002:ZD-123", "chn002:zd123", "ZD-123", "zd 12", "CHN002:ZD-1", "CHN002 : ZD-123"]
)
def test_search_accessions__other_number_with_or_without_its_institute(collection, text):
    assert _numbers(collection, text=text) == ["A007"]


def test_search_accessions__institute_and_number_finds_the_accession(collection):
    assert _numbers(collection, text="CHN001:A013") == ["A013"]


@pytest.mark.parametrize("text", ["--", "...", " - ", "!?", "·"])
def test_search_accessions__text_without_letters_or_digits_is_refused(collection, text):
    with session_factory(collection)() as s, pytest.raises(ValueError, match="no letter or digit"):
        search_accessions(s, AccessionQuery(text=text))


def test_search_accessions__blank_text_is_no_text_filter(collection):
    assert len(_numbers(collection, text="   ")) == N


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ({"page": 0}, "page must be 1 or more"),
        ({"page": -5}, "page must be 1 or more"),
        ({"page": MAX_PAGE + 1}, "page must be at most 1,000,000,000"),
        ({"page": 10**20}, "page must be at most 1,000,000,000"),
        ({"page_size": 0}, f"page_size must be between 1 and {MAX_PAGE_SIZE}"),
        ({"page_size": 10**20}, f"page_size must be between 1 and {MAX_PAGE_SIZE}"),
        ({"text": "IR\x0064"}, "search text must not contain control characters"),
        ({"species": "ri\x00ce"}, "species must not contain control characters"),
        ({"institute": "CHN\x00"}, "institute must not contain control characters"),
        ({"sort": "name\x00"}, "sort must not contain control characters"),
        (
            {
                "traits": (
                    TraitRange(
                        "Grain\x00",
                    ),
                )
            },
            "trait must not contain control",
        ),
        ({"text": "x" * 5000}, "at most 300 characters"),
        ({"sampstat": 10**20}, "not an MCPD SAMPSTAT code"),
        ({"origin": "CHINA"}, "alpha-3"),
        ({"traits": (TraitRange("GrainYield_t_ha", float("nan")),)}, "must be finite"),
        ({"traits": (TraitRange("GrainYield_t_ha", None, float("inf")),)}, "must be finite"),
    ],
)
def test_search_accessions__bad_input_is_a_clear_value_error(collection, query, message):
    with session_factory(collection)() as s, pytest.raises(ValueError, match=message):
        search_accessions(s, AccessionQuery(**query))


def test_search_accessions__page_past_the_last_of_a_small_result_is_empty(collection):
    with session_factory(collection)() as s:
        page = search_accessions(s, AccessionQuery(page=MAX_PAGE, page_size=MAX_PAGE_SIZE))
    assert (page.total, page.results, page.total_is_lower_bound) == (N, [], False)


@pytest.fixture
def cap_of_ten(monkeypatch):
    """The bounds of a million-accession search, at the scale of this collection."""
    monkeypatch.setattr(queries_search, "MAX_RESULTS", 10)


def test_search_accessions__count_stops_at_the_cap(collection, cap_of_ten):
    with session_factory(collection)() as s:
        broad = search_accessions(s, AccessionQuery(species="rice", page_size=4))
        narrow = search_accessions(s, AccessionQuery(species="pepper", origin="CHN"))
    assert (broad.total, broad.total_is_lower_bound, broad.pages) == (10, True, 3)
    assert broad.to_dict()["total_is_lower_bound"] is True
    assert (narrow.total, narrow.total_is_lower_bound) == (3, False)  # A012, A024, A036
    assert "total_is_lower_bound" not in narrow.to_dict()


def test_search_accessions__pages_reach_exactly_the_first_results(collection, cap_of_ten):
    rice = _expected(lambda r: r["GENUS"] == "Oryza")
    with session_factory(collection)() as s:
        pages = [
            search_accessions(s, AccessionQuery(species="rice", page=p, page_size=4))
            for p in (1, 2, 3)
        ]
        with pytest.raises(ValueError, match="narrow the search"):
            search_accessions(s, AccessionQuery(species="rice", page=4, page_size=4))
        with pytest.raises(ValueError, match="narrow the search"):
            search_accessions(s, AccessionQuery(species="rice", page=10**8))
        last = search_accessions(
            s, AccessionQuery(species="rice", page=1, page_size=4, descending=True)
        )
    seen = [r["accenumb"] for p in pages for r in p.results]
    assert seen == rice[:10]  # the third page holds the 9th and 10th only
    assert [r["accenumb"] for r in last.results] == rice[::-1][:4]


def test_page__pages_of_an_exact_and_a_bounded_total():
    assert Page(total=0, page=1, page_size=25).pages == 1
    assert Page(total=51, page=1, page_size=25).pages == 3
    assert Page(total=10_000, page=1, page_size=25, total_is_lower_bound=True).pages == 400
