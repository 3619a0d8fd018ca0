"""Registering genotype datasets and model runs, on SQLite and PostgreSQL."""

import numpy as np
import pytest
from sqlalchemy import select

from breedhub.germplasm import (
    AccessionQuery,
    DuplicateError,
    accession_detail,
    search_accessions,
    session_factory,
)
from breedhub.germplasm.models import Prediction
from breedhub.germplasm.passport import import_passport
from breedhub.pipelines.register import (
    TraitPredictions,
    register_genotype_dataset,
    register_model_run,
)
from tests.conftest import DATA


@pytest.fixture
def stocked(engine, registry):
    import_passport(engine, DATA / "mcpd_valid.csv", registry=registry)
    return engine


def test_register__dataset_and_model_run_reach_the_accession_page(stocked):
    ds = register_genotype_dataset(
        stocked, name="rice-test", species="rice", path="/x/rice.h5", ploidy=2,
        samples=[("S1", 1), ("S2", 2), ("S3", 3)], n_variants=1000,
    )  # fmt: skip
    run = register_model_run(
        stocked, name="GBLUP rice", method="gblup", species="rice", genotype_dataset_id=ds,
        traits=[TraitPredictions("GrainYield_t_ha", [1, 2, 3], np.array([0.5, -0.2, 0.9]), np.array([0.6, 0.5, 0.7]))],
        metrics={"GrainYield_t_ha": {"cv_mean_r": 0.5}},
    )  # fmt: skip
    with session_factory(stocked)() as s:
        ranks = dict(
            s.execute(
                select(Prediction.accession_id, Prediction.rank).where(
                    Prediction.model_run_id == run
                )
            ).all()
        )
        assert ranks == {3: 1, 1: 2, 2: 3}
        d = accession_detail(s, "CHN001:R0003")
        assert d["genotype_datasets"][0]["name"] == "rice-test"
        assert (
            d["predictions"][0]["gebv"] == pytest.approx(0.9) and d["predictions"][0]["rank"] == 1
        )
        assert search_accessions(s, AccessionQuery(genotyped=True)).total == 3
        assert search_accessions(s, AccessionQuery(genotyped=False)).total == 1


def test_register_genotype_dataset__refuses_duplicates(stocked):
    kw = dict(species="rice", path="/x.h5", ploidy=2, n_variants=10)
    register_genotype_dataset(stocked, name="a", samples=[("S1", 1)], **kw)
    with pytest.raises(DuplicateError, match="exists"):
        register_genotype_dataset(stocked, name="a", samples=[("S1", 1)], **kw)
    with pytest.raises(DuplicateError, match="belongs to another accession"):
        register_genotype_dataset(stocked, name="b", samples=[("S1", 2)], **kw)
