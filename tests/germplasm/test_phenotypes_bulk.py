"""Observation import at bulk size: the set-based write path, its counts, summaries and audit record.

A file of ~51,000 observations (3,200 rice accessions x 2 studies x 2
replicates x 4 variables) is generated in the test, so the staging tables,
``COPY``/``executemany`` loads, ``UPDATE ... FROM`` and the summary merge all run at
a size where a per-row path would show.
"""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest
from sqlalchemy import func, select

from breedhub.germplasm import ValidationError, session_factory, transaction
from breedhub.germplasm.audit import file_sha256
from breedhub.germplasm.models import (
    Observation,
    ObservationUnit,
    Study,
    TraitSummary,
    Trial,
)
from breedhub.germplasm.models_audit import DataImport
from breedhub.germplasm.passport import import_passport
from breedhub.germplasm.phenotypes import import_observations, refresh_trait_summary
from tests.helpers import database_fingerprint

N_ACC = 3_200
VARIABLES = {  # name: (low, high) inside the variable's scale
    "GrainYield_t_ha": (2.0, 12.0),
    "PlantHeight_cm": (60.0, 160.0),
    "DaysToHeading_d": (60.0, 140.0),
    "ThousandGrainWeight_g": (15.0, 40.0),
}
STUDIES = ("BULK-2023-Wuhan", "BULK-2024-Wuhan")


def _accenumb(i: int) -> str:
    return f"B{i:05d}"


def _observations(rng: np.random.Generator, reps: tuple[int, ...] = (1, 2)) -> pl.DataFrame:
    """The long layout: study x accession x replicate x variable, values in range."""
    names = list(VARIABLES)
    grid = pl.DataFrame(
        {"study": list(STUDIES)}, schema={"study": pl.String}
    ).join(
        pl.DataFrame({"accenumb": [_accenumb(i) for i in range(N_ACC)]}), how="cross"
    ).join(pl.DataFrame({"replicate": [str(r) for r in reps]}), how="cross").join(
        pl.DataFrame({"variable": names}), how="cross"
    )  # fmt: skip
    lo = grid["variable"].replace_strict({n: VARIABLES[n][0] for n in names})
    hi = grid["variable"].replace_strict({n: VARIABLES[n][1] for n in names})
    value = np.round(lo.to_numpy() + rng.random(grid.height) * (hi - lo).to_numpy(), 2)
    return grid.with_columns(
        trial=pl.lit("BULK"),
        instcode=pl.lit("CHN001"),
        unit=pl.concat_str([pl.col("accenumb"), pl.lit("-"), pl.col("replicate")]),
        value=pl.Series(value).cast(pl.String),
    ).select("trial", "study", "instcode", "accenumb", "unit", "replicate", "variable", "value")


def _expected(df: pl.DataFrame) -> pl.DataFrame:
    """The trait summaries of these rows, as the import must keep them."""
    v = pl.col("value").cast(pl.Float64)
    return (
        df.group_by("accenumb", "variable")
        .agg(v.len().alias("n"), v.mean().alias("mean"), v.min().alias("min"), v.max().alias("max"))
        .sort("accenumb", "variable")
    )


def _stored(engine) -> pl.DataFrame:
    from breedhub.germplasm.models import Accession, ObservationVariable

    with session_factory(engine)() as s:
        rows = s.execute(
            select(
                Accession.accenumb,
                ObservationVariable.name,
                TraitSummary.n,
                TraitSummary.mean,
                TraitSummary.min_value,
                TraitSummary.max_value,
            )
            .join(Accession, Accession.id == TraitSummary.accession_id)
            .join(ObservationVariable, ObservationVariable.id == TraitSummary.variable_id)
        ).all()
    return pl.DataFrame(
        rows,
        schema={"accenumb": pl.String, "variable": pl.String, "n": pl.UInt32,
                "mean": pl.Float64, "min": pl.Float64, "max": pl.Float64},
        orient="row",
    ).sort("accenumb", "variable")  # fmt: skip


def _assert_summaries(engine, expected: pl.DataFrame) -> None:
    got = _stored(engine)
    assert got.select("accenumb", "variable", "n").equals(
        expected.select("accenumb", "variable", pl.col("n").cast(pl.UInt32))
    )
    for c in ("mean", "min", "max"):
        assert np.allclose(got[c].to_numpy(), expected[c].to_numpy(), rtol=1e-12, atol=0)


def _keyed(df: pl.DataFrame) -> pl.DataFrame:
    return df.select("study", "unit", "variable", "value").sort("study", "unit", "variable")


def _values(engine) -> pl.DataFrame:
    """Every stored observation: study, unit, variable, value."""
    from breedhub.germplasm.models import ObservationVariable

    with session_factory(engine)() as s:
        rows = s.execute(
            select(Study.name, ObservationUnit.name, ObservationVariable.name, Observation.value)
            .join(ObservationUnit, ObservationUnit.id == Observation.observation_unit_id)
            .join(Study, Study.id == ObservationUnit.study_id)
            .join(ObservationVariable, ObservationVariable.id == Observation.variable_id)
        ).all()
    return _keyed(pl.DataFrame(rows, schema=["study", "unit", "variable", "value"], orient="row"))


def _data(engine) -> dict[str, str]:
    return {t: d for t, d in database_fingerprint(engine).items() if t != "data_import"}


@pytest.fixture(scope="module")
def passport_file(tmp_path_factory):
    path = tmp_path_factory.mktemp("bulk") / "passport.csv"
    pl.DataFrame(
        {
            "INSTCODE": ["CHN001"] * N_ACC,
            "ACCENUMB": [_accenumb(i) for i in range(N_ACC)],
            "GENUS": ["Oryza"] * N_ACC,
            "SPECIES": ["sativa"] * N_ACC,
        }
    ).write_csv(path)
    return path


@pytest.fixture
def stocked(engine, registry, passport_file):
    import_passport(engine, passport_file, registry=registry)
    return engine


def test_import_observations__bulk_load_reimport_and_changes(stocked, tmp_path):
    rng = np.random.default_rng(11)
    first = _observations(rng)
    path = tmp_path / "first.csv"
    first.write_csv(path)
    report = import_observations(stocked, path)
    assert (report.rows, report.inserted, report.updated, report.unchanged) == (
        first.height, first.height, 0, 0)  # fmt: skip
    assert first.height >= 50_000
    assert _values(stocked).equals(_keyed(first))
    with session_factory(stocked)() as s:
        assert s.scalar(select(func.count()).select_from(ObservationUnit)) == first.height // 4
    _assert_summaries(stocked, _expected(first))

    # The same file again: nothing changes.
    before = _data(stocked)
    again = import_observations(stocked, path)
    assert (again.inserted, again.updated, again.unchanged) == (0, 0, first.height)
    assert _data(stocked) == before

    # 1,000 changed values, the unchanged rest, and a third replicate: new units in both studies.
    changed_rows = rng.choice(first.height, 1_000, replace=False)
    new_value = (first["value"].cast(pl.Float64)[changed_rows] + 0.5).round(2).cast(pl.String)
    second = first.with_columns(
        value=pl.Series(first["value"].to_list()).scatter(changed_rows, new_value)
    )
    third = _observations(rng, reps=(3,)).head(2_000)
    path2 = tmp_path / "second.csv"
    pl.concat([second, third]).write_csv(path2)
    report = import_observations(stocked, path2)
    assert (report.inserted, report.updated, report.unchanged) == (
        2_000, 1_000, first.height - 1_000)  # fmt: skip
    assert _values(stocked).equals(_keyed(pl.concat([second, third])))
    _assert_summaries(stocked, _expected(pl.concat([second, third])))


def test_import_observations__restricted_trials_stay_out_of_the_summaries(stocked, tmp_path):
    rng = np.random.default_rng(5)
    first = _observations(rng).filter(pl.col("accenumb") < "B00100")
    path = tmp_path / "a.csv"
    first.write_csv(path)
    import_observations(stocked, path)
    with transaction(stocked) as s:
        s.scalars(select(Trial)).one().visibility = "restricted"
        s.flush()
        ids = list(s.scalars(select(TraitSummary.accession_id).distinct()))
        refresh_trait_summary(s, ids)
    assert _stored(stocked).height == 0
    # New units and a changed value in the restricted trial: still nothing in the summaries.
    more = _observations(rng, reps=(3,)).filter(pl.col("accenumb") < "B00100")
    changed = first.with_columns(value=pl.when(pl.int_range(pl.len()) == 0).then(pl.lit("7.77"))
                                 .otherwise(pl.col("value")))  # fmt: skip
    path2 = tmp_path / "b.csv"
    pl.concat([changed, more]).write_csv(path2)
    report = import_observations(stocked, path2)
    assert (report.inserted, report.updated) == (more.height, 1)
    assert _stored(stocked).height == 0
    # A public trial on the same accessions is summarised alone.
    public = first.with_columns(trial=pl.lit("BULK-OPEN"), study=pl.col("study") + "-open").filter(
        pl.col("accenumb") < "B00010"
    )
    path3 = tmp_path / "c.csv"
    public.write_csv(path3)
    import_observations(stocked, path3)
    _assert_summaries(stocked, _expected(public))


def test_import_observations__an_error_in_the_last_row_writes_nothing(stocked, tmp_path):
    rows = _observations(np.random.default_rng(3))
    rows = rows.with_columns(
        value=pl.when(pl.int_range(pl.len()) == rows.height - 1)
        .then(pl.lit("999"))
        .otherwise(pl.col("value"))
    )
    path = tmp_path / "bad.csv"
    rows.write_csv(path)
    before = database_fingerprint(stocked)
    with pytest.raises(ValidationError) as err:
        import_observations(stocked, path)
    assert [(p.row, p.column) for p in err.value.problems] == [(rows.height, "value")]
    assert database_fingerprint(stocked) == before  # no audit record either


def test_import_observations__records_the_import(stocked, tmp_path):
    rows = _observations(np.random.default_rng(8)).head(4_000)
    path = tmp_path / "obs.csv"
    rows.write_csv(path)
    before = database_fingerprint(stocked)
    dry = import_observations(stocked, path, dry_run=True)
    assert (dry.inserted, dry.import_id) == (4_000, None)
    assert database_fingerprint(stocked) == before
    report = import_observations(stocked, path)
    again = import_observations(stocked, path)
    with session_factory(stocked)() as s:
        records = s.scalars(
            select(DataImport).where(DataImport.kind == "observations").order_by(DataImport.id)
        ).all()
    assert [r.id for r in records] == [report.import_id, again.import_id]
    first = records[0]
    assert (first.kind, first.source, first.sha256) == (
        "observations",
        str(path),
        file_sha256(path),
    )
    assert first.run_by and first.created_at is not None
    assert {k: first.counts[k] for k in ("rows", "inserted", "updated", "unchanged")} == {
        "rows": 4_000, "inserted": 4_000, "updated": 0, "unchanged": 0}  # fmt: skip
    assert records[1].counts["unchanged"] == 4_000


def test_refresh_trait_summary__agrees_with_the_merged_summaries(stocked, tmp_path):
    rng = np.random.default_rng(21)
    rows = _observations(rng).filter(pl.col("accenumb") < "B00500")
    half = rows.height // 2
    for i, part in enumerate((rows.head(half), rows.tail(rows.height - half))):
        part.write_csv(tmp_path / f"{i}.csv")
        import_observations(stocked, tmp_path / f"{i}.csv")
    merged = _stored(stocked)
    _assert_summaries(stocked, _expected(rows))
    with transaction(stocked) as s:
        refresh_trait_summary(s, list(s.scalars(select(TraitSummary.accession_id).distinct())))
    recomputed = _stored(stocked)
    assert recomputed.select("accenumb", "variable", "n", "min", "max").equals(
        merged.select("accenumb", "variable", "n", "min", "max")
    )
    assert np.allclose(recomputed["mean"].to_numpy(), merged["mean"].to_numpy(), rtol=1e-12)
