"""Fixtures of the web tests: an app on a fresh database (SQLite and PostgreSQL) and its client.

The accessions are inserted directly with the ORM (:func:`add_accession`,
:func:`add_observations`), so the web tests depend on the models and the
queries, not on the importers.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from breedhub.germplasm import transaction
from breedhub.germplasm.models import (
    Accession,
    AccessionName,
    GenotypeDataset,
    GenotypeDatasetSample,
    Institute,
    ModelRun,
    Observation,
    ObservationUnit,
    ObservationVariable,
    Pedigree,
    Prediction,
    Sample,
    SpeciesRow,
    Study,
    TraitSummary,
    Trial,
)
from breedhub.germplasm.names import search_key
from breedhub.web import create_app
from breedhub.web.db import get_engine


@pytest.fixture
def app(db_url, tmp_path) -> Iterator[Flask]:
    # Rate limits are off here (the hostile-input walk sends thousands of
    # requests); tests/web/test_access.py turns them on to test them. The data
    # directory is the test's own (genotype stores, uploads), never the checkout's.
    home = tmp_path / "home"
    home.mkdir()
    app = create_app({"DATABASE_URL": db_url, "BREEDHUB_HOME": str(home), "TESTING": True,
                      "RATELIMIT_ENABLED": False})  # fmt: skip
    yield app
    get_engine(app).dispose()


#: username -> (role, institute code); every password is ``pw-<username>``.
ACCOUNTS = {
    "admin": ("admin", None),
    "bea": ("breeder", "PHL001"),
    "bio": ("bioinformatician", "PHL001"),
    "upl": ("uploader", "PHL001"),
    "chen": ("breeder", "CHN999"),
}


@dataclass
class Accounts:
    """Users of every role (see :data:`ACCOUNTS`) and an API token for each."""

    tokens: dict[str, str]
    ids: dict[str, int]


@pytest.fixture
def accounts(app, world) -> Accounts:
    """The users of :data:`ACCOUNTS` (their institutes come from ``world``)."""
    from breedhub.germplasm.users import add_user, create_token

    tokens, ids = {}, {}
    with transaction(get_engine(app)) as s:
        for name, (role, inst) in ACCOUNTS.items():
            user = add_user(s, name, role=role, institute=inst, password=f"pw-{name}")
            ids[name] = user.id
            tokens[name], _ = create_token(s, name, name="tests")
    return Accounts(tokens, ids)


def csrf_token(client: FlaskClient, url: str = "/login") -> str:
    """The CSRF token of the form at ``url`` (the session cookie stays in ``client``)."""
    import re

    html = client.get(url).get_data(as_text=True)
    m = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', html)
    if current_app_csrf_disabled(client):
        return ""
    assert m, f"no CSRF token in {url}"
    return m.group(1)


def current_app_csrf_disabled(client: FlaskClient) -> bool:
    return client.application.config.get("WTF_CSRF_ENABLED") is False


def login(client: FlaskClient, username: str, password: str | None = None) -> None:
    """Log ``client`` in through the login form, as a browser does."""
    resp = client.post(
        "/login",
        data={
            "csrf_token": csrf_token(client),
            "username": username,
            "password": password or f"pw-{username}",
        },
    )
    assert resp.status_code == 302, resp.get_data(as_text=True)[:500]


def bearer(token: str) -> dict[str, str]:
    """The header of an API call with ``token``."""
    return {"Authorization": f"Bearer {token}"}


@pytest.fixture
def client(app) -> FlaskClient:
    return app.test_client()


def _institute(session: Session, code: str, name: str = "", country: str = "") -> Institute:
    inst = session.scalars(select(Institute).where(Institute.code == code)).first()
    if inst is None:
        inst = Institute(code=code, name=name, country=country)
        session.add(inst)
        session.flush()
    return inst


def add_accession(
    session: Session,
    *,
    species: str,
    instcode: str,
    accenumb: str,
    name: str = "",
    synonyms: Sequence[str] = (),
    institute_name: str = "",
    **passport: object,
) -> Accession:
    """Add an accession with its search names (number, name, synonyms, other numbers)."""
    sp = session.scalars(select(SpeciesRow).where(SpeciesRow.key == species)).one()
    acc = Accession(
        institute=_institute(session, instcode, institute_name),
        species_row=sp,
        accenumb=accenumb,
        puid=str(passport.pop("puid", f"breedhub:{instcode}:{accenumb}")),
        name=name,
        genus=sp.genus,
        species_epithet=sp.species,
        accename=";".join([name, *synonyms]) if name else ";".join(synonyms),
        **passport,
    )
    names = [("accenumb", accenumb)]
    names += [("name", name)] if name else []
    names += [("synonym", s) for s in synonyms]
    othernumb = str(passport.get("othernumb", "") or "")
    names += [("othernumb", o.split(":", 1)[-1]) for o in othernumb.split(";") if o]
    acc.names = [AccessionName(kind=k, name=n, key=search_key(n)) for k, n in names]
    session.add(acc)
    session.flush()
    return acc


def add_observations(
    session: Session, acc: Accession, study: Study, variable: str, values: Sequence[float]
) -> TraitSummary:
    """Add one plot per value in ``study`` and the accession's trait summary."""
    var = session.scalars(
        select(ObservationVariable).where(ObservationVariable.name == variable)
    ).one()
    for rep, value in enumerate(values, start=1):
        unit = session.scalars(
            select(ObservationUnit).where(
                ObservationUnit.study_id == study.id,
                ObservationUnit.name == f"{acc.accenumb}-r{rep}",
            )
        ).first()
        if unit is None:
            unit = ObservationUnit(
                study_id=study.id, accession_id=acc.id, name=f"{acc.accenumb}-r{rep}", replicate=rep
            )
            session.add(unit)
            session.flush()
        session.add(
            Observation(
                observation_unit_id=unit.id,
                variable_id=var.id,
                accession_id=acc.id,
                value=str(value),
                numeric_value=float(value),
            )
        )
    summary = TraitSummary(
        accession_id=acc.id,
        variable_id=var.id,
        n=len(values),
        mean=sum(values) / len(values),
        min_value=min(values),
        max_value=max(values),
    )
    session.add(summary)
    session.flush()
    return summary


@dataclass
class World:
    """Ids of the accessions of :func:`populate`."""

    ir64: int
    azucena: int
    nipponbare: int
    iraz1: int
    irazpop: int
    cm334: int
    duroc: int


def populate(app: Flask) -> World:
    """Seven accessions: five rice (a cross with its parents), a pepper and a pig.

    ================  ============  ====  ========  ======  =============  =========
    number            name          org.  sampstat  height  synonyms       genotyped
    ================  ============  ====  ========  ======  =============  =========
    IRGC 66970        IR64          PHL   500       95      IR 64-21       yes
    IRGC 12731        Nipponbare    JPN   500       80      日本晴         no
    IRGC 328          Azucena       PHL   300       130                    no
    BH-0001           IRAZ-1        CHN   410       110                    no
    BH-0002           IRAZ-POP      CHN   400       –                      no
    CM334             Criollo...    MEX   300       –       (pepper)       no
    D-1001            Duroc 1001    USA   –         –       (pig)          no
    ================  ============  ====  ========  ======  =============  =========
    """
    with transaction(get_engine(app)) as s:
        irri = dict(instcode="PHL001", institute_name="International Rice Research Institute")
        ir64 = add_accession(
            s,
            species="rice",
            accenumb="IRGC 66970",
            name="IR64",
            synonyms=["IR 64-21"],
            origcty="PHL",
            sampstat=500,
            subtaxa="subsp. indica",
            acqdate="19850601",
            collsrc=40,
            storage="12;13",
            mlsstat=1,
            othernumb="USA022:PI 000000",
            remarks="Mega-variety; reference indica line.",
            **irri,
        )
        nipponbare = add_accession(
            s,
            species="rice",
            accenumb="IRGC 12731",
            name="Nipponbare",
            synonyms=["日本晴"],
            origcty="JPN",
            sampstat=500,
            subtaxa="subsp. japonica",
            **irri,
        )
        azucena = add_accession(
            s,
            species="rice",
            accenumb="IRGC 328",
            name="Azucena",
            origcty="PHL",
            sampstat=300,
            subtaxa="subsp. japonica",
            **irri,
        )
        bh = dict(instcode="CHN999", institute_name="breedhub test station")
        iraz1 = add_accession(
            s,
            species="rice",
            accenumb="BH-0001",
            name="IRAZ-1",
            origcty="CHN",
            sampstat=410,
            ancest="IR64/Azucena",
            bredcode="CHN999",
            **bh,
        )
        irazpop = add_accession(
            s,
            species="rice",
            accenumb="BH-0002",
            name="IRAZ-POP",
            origcty="CHN",
            sampstat=400,
            **bh,
        )
        cm334 = add_accession(
            s,
            species="pepper",
            instcode="MEX001",
            accenumb="CM334",
            name="Criollo de Morelos 334",
            origcty="MEX",
            sampstat=300,
        )
        duroc = add_accession(
            s,
            species="pig",
            instcode="USA999",
            accenumb="D-1001",
            name="Duroc 1001",
            origcty="USA",
        )
        s.add(
            Pedigree(
                accession_id=iraz1.id,
                female_parent_id=ir64.id,
                male_parent_id=azucena.id,
                cross_type="BIPARENTAL",
                generation="F6",
                cross_year=2019,
                pedigree_string="IR64/Azucena",
            )
        )
        rice = s.scalars(select(SpeciesRow).where(SpeciesRow.key == "rice")).one()
        trial = Trial(
            name="Rice observational trial 2024",
            species_id=rice.id,
            start_date=dt.date(2024, 1, 10),
        )
        s.add(trial)
        s.flush()
        study = Study(trial_id=trial.id, name="ROT-2024-Sanya")
        s.add(study)
        s.flush()
        for acc, heights in (
            (ir64, [90, 100]),
            (nipponbare, [78, 82]),
            (azucena, [128, 132]),
            (iraz1, [105, 115]),
        ):
            add_observations(s, acc, study, "PlantHeight_cm", heights)
        add_observations(s, ir64, study, "GrainYield_t_ha", [6.0, 6.4])
        sample = Sample(
            name="S-IR64-01", accession_id=ir64.id, tissue="leaf", plate="P01", well="A01"
        )
        s.add(sample)
        s.flush()
        ds = GenotypeDataset(
            name="rice-panel-2024",
            species_id=rice.id,
            path="genotypes/rice.h5",
            ploidy=2,
            n_variants=12345,
            n_samples=1,
        )
        s.add(ds)
        s.flush()
        s.add(GenotypeDatasetSample(dataset_id=ds.id, sample_id=sample.id, column_index=0))
        run = ModelRun(
            name="gblup-height-2024", method="GBLUP", species_id=rice.id, genotype_dataset_id=ds.id,
            metrics={"PlantHeight_cm": {"n_ranked": 1200, "direction": "optimum"}},
        )  # fmt: skip
        s.add(run)
        s.flush()
        var = s.scalars(
            select(ObservationVariable).where(ObservationVariable.name == "PlantHeight_cm")
        ).one()
        s.add(
            Prediction(
                model_run_id=run.id,
                accession_id=ir64.id,
                variable_id=var.id,
                gebv=-4.25,
                reliability=0.61,
                rank=3,
            )
        )
        return World(ir64.id, azucena.id, nipponbare.id, iraz1.id, irazpop.id, cm334.id, duroc.id)


@pytest.fixture
def world(app) -> World:
    return populate(app)
