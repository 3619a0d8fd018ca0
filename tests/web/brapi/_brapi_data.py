"""Extra records for the BrAPI tests, on top of ``tests.web.conftest``'s ``world``.

Each BrAPI area adds what its calls need here (a genotype store on disk, a
restricted trial of another institute, ...); :func:`populate_brapi` is
called once per test after the ``world`` and ``accounts`` fixtures.
"""

from __future__ import annotations

from flask import Flask
from sqlalchemy.orm import Session

from breedhub.germplasm import transaction
from breedhub.web.db import get_engine


def populate_brapi(app: Flask) -> None:
    """Add the BrAPI tests' records to ``app``'s database (the world is already there)."""
    with transaction(get_engine(app)) as session:
        _populate_core(session)
        _populate_phenotyping(session)
        _populate_germplasm(session)
        _populate_genotyping(session, app.config["BREEDHUB_HOME"])


# --- core (programs, trials, studies, locations, seasons, lists, people) ---------------------
#: Names of the Core records, so tests find them again.
CORE_PROGRAM = "IRRI irrigated rice"
CORE_PEPPER_PROGRAM = "Pepper programme"
CORE_LOCATION = "IRRI Zeigler Experiment Station"
CORE_OTHER_LOCATION = "Sanya station"
CORE_RESTRICTED_TRIAL = "PHL restricted yield trial"
CORE_RESTRICTED_STUDY = "PHL-restricted-ZES"
CORE_PEPPER_TRIAL = "Pepper trial 2021"
CORE_PEPPER_STUDY = "PEP-2021-Sanya"
CORE_LISTS = {  # name -> (owner, visibility, item accession numbers)
    "bea public picks": ("bea", "public", ("IRGC 66970", "IRGC 328")),
    "bea restricted picks": ("bea", "restricted", ("IRGC 12731",)),
    "chen public picks": ("chen", "public", ("BH-0001",)),
    "chen restricted picks": ("chen", "restricted", ("BH-0002",)),
}


def _populate_core(session: Session) -> None:
    """Programmes, locations, seasons, a restricted PHL001 trial and study, a public pepper
    trial and study, and public and restricted lists of bea (PHL001) and chen (CHN999)."""
    import datetime as dt

    from sqlalchemy import select

    from breedhub.germplasm.models import (
        Accession,
        BreedingProgram,
        Institute,
        Location,
        Observation,
        ObservationUnit,
        ObservationVariable,
        Season,
        SelectionList,
        SelectionListItem,
        SpeciesRow,
        Study,
        Trial,
        User,
    )  # fmt: skip

    def one(model, **where):  # noqa: ANN001, ANN202
        stmt = select(model).filter_by(**where)
        return session.scalars(stmt).first()

    rice, pepper = one(SpeciesRow, key="rice"), one(SpeciesRow, key="pepper")
    phl = one(Institute, code="PHL001")
    program = BreedingProgram(
        name=CORE_PROGRAM, abbreviation="IRR", objective="Yield under irrigation",
        leader="A. Reyes", institute_id=phl.id, species_id=rice.id,
    )  # fmt: skip
    pepper_program = BreedingProgram(name=CORE_PEPPER_PROGRAM, species_id=pepper.id)
    zes = Location(
        name=CORE_LOCATION, abbreviation="ZES", country="PHL", latitude=14.17,
        longitude=121.25, altitude=21.0, location_type="Field station",
    )  # fmt: skip
    sanya = Location(name=CORE_OTHER_LOCATION, country="CHN")
    dry, wet = Season(year=2025, name="dry"), Season(year=2021, name="wet")
    session.add_all([program, pepper_program, zes, sanya, dry, wet])
    session.flush()
    restricted = Trial(
        name=CORE_RESTRICTED_TRIAL, description="Yield of the irrigated panel",
        species_id=rice.id, program_id=program.id, start_date=dt.date(2020, 1, 1),
        institute_id=phl.id, visibility="restricted",
    )  # fmt: skip
    pepper_trial = Trial(
        name=CORE_PEPPER_TRIAL, species_id=pepper.id, program_id=pepper_program.id,
        start_date=dt.date(2021, 3, 1), end_date=dt.date(2021, 9, 30),
    )  # fmt: skip
    session.add_all([restricted, pepper_trial])
    session.flush()
    study = Study(
        trial_id=restricted.id, name=CORE_RESTRICTED_STUDY, location_id=zes.id,
        season_id=dry.id, design="RCBD", description="Two replicates",
    )  # fmt: skip
    pepper_study = Study(
        trial_id=pepper_trial.id, name=CORE_PEPPER_STUDY, location_id=sanya.id, season_id=wet.id
    )
    session.add_all([study, pepper_study])
    session.flush()
    ir64 = one(Accession, accenumb="IRGC 66970")
    height = one(ObservationVariable, name="PlantHeight_cm")
    unit = ObservationUnit(study_id=study.id, accession_id=ir64.id, name="ZES-1", level="plot")
    session.add(unit)
    session.flush()
    session.add(
        Observation(
            observation_unit_id=unit.id,
            variable_id=height.id,
            accession_id=ir64.id,
            value="97",
            numeric_value=97.0,
        )  # fmt: skip
    )
    for name, (owner, visibility, numbers) in CORE_LISTS.items():
        user = one(User, username=owner)
        if user is None:
            continue
        lst = SelectionList(
            name=name, owner_id=user.id, institute_id=user.institute_id, visibility=visibility,
            description=f"{owner}'s {visibility} list",
        )  # fmt: skip
        session.add(lst)
        session.flush()
        for position, number in enumerate(numbers):
            acc = one(Accession, accenumb=number)
            session.add(SelectionListItem(list_id=lst.id, accession_id=acc.id, position=position))
    session.flush()


# --- end of core -----------------------------------------------------------------------------


# --- phenotyping (observation units and observations) ----------------------------------------
#: A restricted CHN999 trial (seen by chen, hidden from bea and anonymous callers) and a
#: public CHN999 trial (seen by all, written only by CHN999 uploaders and admins).
PHENO_RESTRICTED_STUDY = "CHN-restricted-2023"
PHENO_PUBLIC_STUDY = "CHN-public-2023"
PHENO_RESTRICTED_UNIT = "CHN-R-1"


def _populate_phenotyping(session: Session) -> None:
    """A restricted and a public trial of CHN999, each with a study; the restricted one
    with a unit of BH-0001 and its plant height on 2023-08-01."""
    import datetime as dt

    from sqlalchemy import select

    from breedhub.germplasm.models import (
        Accession,
        Institute,
        Observation,
        ObservationUnit,
        ObservationVariable,
        SpeciesRow,
        Study,
        Trial,
    )  # fmt: skip

    rice = session.scalars(select(SpeciesRow).where(SpeciesRow.key == "rice")).one()
    chn = session.scalars(select(Institute).where(Institute.code == "CHN999")).one()
    iraz1 = session.scalars(select(Accession).where(Accession.accenumb == "BH-0001")).one()
    height = session.scalars(
        select(ObservationVariable).where(ObservationVariable.name == "PlantHeight_cm")
    ).one()
    studies = {}
    for visibility, study_name in (
        ("restricted", PHENO_RESTRICTED_STUDY),
        ("public", PHENO_PUBLIC_STUDY),
    ):
        trial = Trial(
            name=f"CHN {visibility} trial 2023", species_id=rice.id,
            start_date=dt.date(2023, 5, 1), institute_id=chn.id, visibility=visibility,
        )  # fmt: skip
        session.add(trial)
        session.flush()
        studies[visibility] = Study(trial_id=trial.id, name=study_name)
        session.add(studies[visibility])
    session.flush()
    unit = ObservationUnit(
        study_id=studies["restricted"].id, accession_id=iraz1.id, name=PHENO_RESTRICTED_UNIT,
        replicate=1, block=2, row=3, col=4,
    )  # fmt: skip
    session.add(unit)
    session.flush()
    session.add(
        Observation(
            observation_unit_id=unit.id,
            variable_id=height.id,
            accession_id=iraz1.id,
            value="111",
            numeric_value=111.0,
            observed_at="2023-08-01",
        )  # fmt: skip
    )
    session.flush()


# --- end of phenotyping ----------------------------------------------------------------------


# --- genotyping (real HDF5 stores registered as genotype datasets) ---------------------------
#: Names of the genotyping records, so tests find them again.
GENO_DIPLOID = "brapi-rice-diploid"  # public, PHL001, rice, 4 samples x 7 variants, GT:DP:GQ
GENO_HEXAPLOID = "brapi-oiltea-hexaploid"  # public, oil-tea (6x), 3 samples x 5 variants
GENO_RESTRICTED = "brapi-rice-restricted"  # restricted to PHL001, 2 samples x 3 variants
GENO_DIPLOID_VCF = """\
##fileformat=VCFv4.2
##contig=<ID=chr01,length=43270923>
##contig=<ID=chr02,length=35937250>
##FORMAT=<ID=GT,Number=1,Type=String,Description="Genotype">
##FORMAT=<ID=DP,Number=1,Type=Integer,Description="Read depth">
##FORMAT=<ID=GQ,Number=1,Type=Integer,Description="Genotype quality">
#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\tFORMAT\tBRAPI-DIP-1\tBRAPI-DIP-2\tBRAPI-DIP-3\tBRAPI-DIP-4
chr01\t1000\tsnp1\tA\tG\t50\tPASS\t.\tGT:DP:GQ\t0/0:10:30\t0/1:12:40\t1/1:8:20\t./.:.:.
chr01\t2000\tsnp2\tC\tT\t50\tPASS\t.\tGT:DP:GQ\t1/1:9:31\t0/0:11:35\t0/1:7:25\t0/0:10:30
chr01\t3000\t.\tG\tA,C\t50\tPASS\t.\tGT:DP:GQ\t1/2:14:50\t0/2:6:15\t0/0:20:60\t1/1:3:9
chr01\t4500\tsnp4\tAT\tA\t50\tPASS\t.\tGT:DP:GQ\t0/1:10:30\t./.:0:0\t1/1:10:30\t0/0:10:30
chr02\t150\tsnp5\tT\tC\t50\tPASS\t.\tGT:DP:GQ\t0/0:10:30\t0/0:10:30\t0/0:10:30\t0/1:10:30
chr02\t900\tsnp6\tG\tT\t50\tPASS\t.\tGT:DP:GQ\t1/0:5:12\t1/1:5:12\t0/1:5:12\t./1:5:12
chr02\t1200\tsnp7\tA\tC\t50\tPASS\t.\tGT:DP:GQ\t0/0:30:99\t0/1:30:99\t1/1:30:99\t0/1:30:99
"""
#: (variants, samples, 6) allele indexes of the hexaploid store (dosages 0, 3, 6, missing...).
GENO_HEXAPLOID_GT = [
    [[0, 0, 0, 0, 0, 0], [0, 1, 0, 1, 0, 1], [1, 1, 1, 1, 1, 1]],
    [[0, 0, 0, 0, 0, 1], [0, 0, 1, 1, 1, 1], [-1, -1, -1, -1, -1, -1]],
    [[1, 0, 0, 0, 0, 0], [0, 0, 0, 0, 0, 0], [0, 0, 1, 1, 1, 0]],
    [[1, 1, 1, 1, 1, 0], [0, 0, 0, 1, 1, 1], [0, 0, 0, 0, 1, 1]],
    [[0, 0, 0, 0, 0, 0], [1, 1, 0, 0, 0, 0], [1, 1, 1, 1, 1, 1]],
]


def _populate_genotyping(session: Session, home: str) -> None:
    """Three real genotype stores under ``home``/genotypes, registered as datasets with samples:
    a public diploid rice store (VCF with DP and GQ), a public hexaploid oil-tea store and a
    small rice store restricted to PHL001."""
    import tempfile
    from pathlib import Path

    import numpy as np
    from sqlalchemy import select

    from breedhub.genomics.store_vcf import vcf_to_store
    from breedhub.genomics.store_write import write_genotype_store
    from breedhub.germplasm.models import (
        Accession,
        AccessionName,
        GenotypeDataset,
        GenotypeDatasetSample,
        Institute,
        Sample,
        SpeciesRow,
    )

    folder = Path(home) / "genotypes"
    folder.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        vcf = Path(tmp) / "diploid.vcf"
        vcf.write_text(GENO_DIPLOID_VCF)
        vcf_to_store(vcf, folder / "brapi-diploid.h5", species="rice", reference="IRGSP-1.0")
    write_genotype_store(
        folder / "brapi-hexaploid.h5", samples=["BRAPI-HEX-1", "BRAPI-HEX-2", "BRAPI-HEX-3"],
        chrom=np.array(["scaffold_1"] * 3 + ["scaffold_2"] * 2), pos=np.array([10, 20, 30, 5, 6]),
        gt=np.array(GENO_HEXAPLOID_GT), ids=["h1", "h2", "h3", "h4", "h5"],
        ref=["A", "C", "G", "T", "A"], alt=["G", "T", "A", "C", "T"], species="oil_tea",
        reference="CON-2022",
    )  # fmt: skip
    write_genotype_store(
        folder / "brapi-restricted.h5", samples=["BRAPI-RES-1", "BRAPI-RES-2"],
        chrom=np.array(["chr01"] * 3), pos=np.array([5, 6, 7]),
        gt=np.array([[[0, 0], [0, 1]], [[1, 1], [0, 0]], [[0, 1], [-1, -1]]]),
        species="rice", reference="IRGSP-1.0",
    )  # fmt: skip

    def species(key: str) -> SpeciesRow:
        return session.scalars(select(SpeciesRow).where(SpeciesRow.key == key)).one()

    def accession(accenumb: str) -> Accession:
        return session.scalars(select(Accession).where(Accession.accenumb == accenumb)).one()

    phl = session.scalars(select(Institute).where(Institute.code == "PHL001")).one()
    oil_tea = species("oil_tea")
    oil_tea_accessions = []
    for k in (1, 2, 3):
        number = f"OT-{k:04d}"
        acc = Accession(
            institute_id=phl.id, species_id=oil_tea.id, accenumb=number,
            puid=f"breedhub:PHL001:{number}", name=f"Oil-tea clone {k}", genus=oil_tea.genus,
            species_epithet=oil_tea.species,
        )  # fmt: skip
        acc.names = [AccessionName(kind="accenumb", name=number, key=number.lower())]
        session.add(acc)
        oil_tea_accessions.append(acc)
    session.flush()
    rice = [accession(n) for n in ("IRGC 66970", "IRGC 328", "IRGC 12731", "BH-0001")]
    stores = (
        (GENO_DIPLOID, "rice", "brapi-diploid.h5", 2, "IRGSP-1.0", 7, "public",
         [(f"BRAPI-DIP-{k + 1}", a) for k, a in enumerate(rice)]),
        (GENO_HEXAPLOID, "oil_tea", "brapi-hexaploid.h5", 6, "CON-2022", 5, "public",
         [(f"BRAPI-HEX-{k + 1}", a) for k, a in enumerate(oil_tea_accessions)]),
        (GENO_RESTRICTED, "rice", "brapi-restricted.h5", 2, "IRGSP-1.0", 3, "restricted",
         [(f"BRAPI-RES-{k + 1}", a) for k, a in enumerate(rice[:2])]),
    )  # fmt: skip
    for name, sp, file, ploidy, reference, n_variants, visibility, samples in stores:
        ds = GenotypeDataset(
            name=name, species_id=species(sp).id, path=f"genotypes/{file}", ploidy=ploidy,
            reference=reference, n_variants=n_variants, n_samples=len(samples),
            institute_id=phl.id, visibility=visibility,
            provenance={"command": "tests.web.brapi._brapi_data", "software": "breedhub"},
        )  # fmt: skip
        session.add(ds)
        session.flush()
        for column, (sample_name, acc) in enumerate(samples):
            smp = Sample(
                name=sample_name, accession_id=acc.id, tissue="leaf", plate="BRAPI-P1",
                well=f"A{column + 1:02d}",
            )  # fmt: skip
            session.add(smp)
            session.flush()
            session.add(
                GenotypeDatasetSample(dataset_id=ds.id, sample_id=smp.id, column_index=column)
            )
    session.flush()


# --- end of genotyping -----------------------------------------------------------------------


# --- germplasm (pedigree, crosses, crossing projects) ----------------------------------------
#: A backcross of IRAZ-1 to IR64, bred in a CHN999 programme: a sibling of IRAZ-1 (parent IR64),
#: a progeny of IRAZ-1, a cross of a crossing project.
GERMPLASM_BACKCROSS = "BH-0003"
GERMPLASM_PROGRAM = "BH crossing block"


def _populate_germplasm(session: Session) -> None:
    """BH-0003 = IRAZ-1 x IR64 (BACKCROSS, 2021) in the programme GERMPLASM_PROGRAM of CHN999."""
    from sqlalchemy import select

    from breedhub.germplasm.models import Accession, BreedingProgram, Institute, Pedigree
    from tests.web.conftest import add_accession

    chn = session.scalars(select(Institute).where(Institute.code == "CHN999")).one()
    number = {a.accenumb: a for a in session.scalars(select(Accession)).unique()}
    program = BreedingProgram(name=GERMPLASM_PROGRAM, institute_id=chn.id, objective="Backcrosses")
    session.add(program)
    session.flush()
    child = add_accession(
        session, species="rice", instcode="CHN999", accenumb=GERMPLASM_BACKCROSS, name="IRAZ-BC1",
        origcty="CHN", sampstat=410, program_id=program.id, acqdate="2021----",
    )  # fmt: skip
    session.add(
        Pedigree(
            accession_id=child.id,
            female_parent_id=number["BH-0001"].id,
            male_parent_id=number["IRGC 66970"].id,
            cross_type="BACKCROSS",
            generation="BC1F2",
            cross_year=2021,
            pedigree_string="IRAZ-1/IR64",
        )  # fmt: skip
    )
    session.flush()


# --- end of germplasm ------------------------------------------------------------------------
