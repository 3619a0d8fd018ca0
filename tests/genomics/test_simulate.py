import allel
import numpy as np
import pytest

from genomics.simulate import gene_drop
from genomics.store import write_genotype_store
from predict.io import read_genotypes
from predict.relationship import genomic_relationship


def trio_pedigree(n_families=40):
    ids, mo, fa = [], [], []
    for i in range(n_families):
        ids += [f"m{i}", f"f{i}", f"o{i}a", f"o{i}b"]
        mo += [None, None, f"m{i}", f"m{i}"]
        fa += [None, None, f"f{i}", f"f{i}"]
    return ids, mo, fa


@pytest.mark.parametrize("ploidy", [2, 4, 6])
def test_gene_drop__offspring_take_half_of_each_parent(ploidy):
    ids, mo, fa = trio_pedigree()
    sim = gene_drop(ids, mo, fa, ploidy=ploidy, n_markers=400, n_chromosomes=4, seed=ploidy)
    d = sim.dosages.astype(float)
    assert sim.haplotypes.shape == (len(ids), ploidy, 400) and d.max() <= ploidy
    # Mendelian expectation: the offspring dosage averages the parents' dosages.
    mothers, fathers, kids = d[0::4], d[1::4], d[2::4]
    resid = kids - (mothers + fathers) / 2
    assert abs(resid.mean()) < 0.05
    # Genomic relationship: full sibs about 0.5, unrelated founders about 0.
    G = genomic_relationship(sim.dosages, ploidy=ploidy)
    sibs = np.mean([G[4 * i + 2, 4 * i + 3] for i in range(40)])
    unrelated = np.mean([G[4 * i, 4 * i + 5] for i in range(39)])
    assert sibs > unrelated + 0.25


def test_gene_drop__clones_and_doubled_haploids():
    ids = ["a", "b", "c", "d"]
    sim = gene_drop(ids, [None, None, "a", "a"], [None, None, None, None], ploidy=2, n_markers=200,
                    cross_types=["", "", "CLONAL", "DOUBLE_HAPLOID"], seed=1)  # fmt: skip
    np.testing.assert_array_equal(sim.haplotypes[2], sim.haplotypes[0])
    np.testing.assert_array_equal(sim.haplotypes[3][0], sim.haplotypes[3][1])


def test_gene_drop__inbred_lines_are_nearly_homozygous():
    sim = gene_drop(["a", "b", "c"], [None, None, "a"], [None, None, "b"], ploidy=2, n_markers=500,
                    cross_types=["", "", "BIPARENTAL"], generations=["", "", "F8"], seed=2)  # fmt: skip
    het = (sim.haplotypes[2, 0] != sim.haplotypes[2, 1]).mean()
    assert het < 0.05


def test_write_genotype_store__scikit_allel_reads_it_as_is(tmp_path):
    sim = gene_drop(*trio_pedigree(5), ploidy=6, n_markers=120, n_chromosomes=3, seed=4)
    path = write_genotype_store(tmp_path / "g.h5", samples=sim.ids, chrom=sim.chrom, pos=sim.pos_bp,
                                gt=sim.genotype_calls, species="oil_tea")  # fmt: skip
    gt = allel.GenotypeArray(__import__("h5py").File(path)["calldata/GT"][:])
    assert gt.ploidy == 6 and gt.n_samples == 20
    np.testing.assert_array_equal(gt.to_allele_counts(max_allele=1)[:, :, 1].T, sim.dosages)
    g = read_genotypes(path)
    assert g.ploidy == 6 and g.sample_ids == sim.ids
    np.testing.assert_array_equal(g.dosages, sim.dosages)
    assert not (tmp_path / ".g.h5.part").exists()
