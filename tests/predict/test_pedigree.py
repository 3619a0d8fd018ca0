"""Pedigree relationships pinned to hand-worked and textbook values.

The main reference is Mrode (2014), Linear Models for the Prediction of Animal
Breeding Values, 3rd ed., Example 2.1 (six animals: 3 = 1 x 2, 4 = 1 x ?,
5 = 4 x 3, 6 = 5 x 2). The matrices below are worked by hand with the tabular
method and Henderson's rules, as in the book, and written out as numbers.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from breedhub.predict.exceptions import InputError
from breedhub.predict.pedigree import (
    Pedigree,
    a_inverse,
    a_matrix,
    pedigree_inbreeding,
    prepare_pedigree,
)
from breedhub.predict.single_step import h_inverse

MRODE_IDS = [1, 2, 3, 4, 5, 6]
MRODE_SIRES = [0, 0, 1, 1, 4, 5]
MRODE_DAMS = [0, 0, 2, 0, 3, 2]

# Tabular method by hand (Mrode 2014, section 2.2, Example 2.1):
#   a13 = (a11 + a12)/2 = .5, a23 = .5, a33 = 1 + a12/2 = 1
#   a14 = a11/2 = .5, a24 = 0, a34 = a13/2 = .25, a44 = 1
#   a15 = (a14 + a13)/2 = .5, a25 = .25, a35 = (a34 + a33)/2 = .625,
#   a45 = (a44 + a34)/2 = .625, a55 = 1 + a34/2 = 1.125
#   a16 = (a15 + a12)/2 = .25, a26 = (a25 + a22)/2 = .625, a36 = .5625,
#   a46 = .3125, a56 = (a55 + a25)/2 = .6875, a66 = 1 + a25/2 = 1.125
MRODE_A = np.array(
    [
        [1.0, 0.0, 0.5, 0.5, 0.5, 0.25],
        [0.0, 1.0, 0.5, 0.0, 0.25, 0.625],
        [0.5, 0.5, 1.0, 0.25, 0.625, 0.5625],
        [0.5, 0.0, 0.25, 1.0, 0.625, 0.3125],
        [0.5, 0.25, 0.625, 0.625, 1.125, 0.6875],
        [0.25, 0.625, 0.5625, 0.3125, 0.6875, 1.125],
    ]
)
MRODE_F = [0, 0, 0, 0, 0.125, 0.125]

# Henderson's rules with inbreeding by hand (Mrode 2014, section 2.3):
# d = 1, 1, 1/2, 3/4, 1/2, 1/2 - F5/4 = 15/32, so 1/d = 1, 1, 2, 4/3, 2, 32/15;
# each animal adds 1/d at (i,i), -1/(2d) at (i,parent) and 1/(4d) at (parent,parent').
MRODE_AINV = np.array(
    [
        [1 + 1 / 2 + 1 / 3, 1 / 2, -1, -2 / 3, 0, 0],
        [1 / 2, 1 + 1 / 2 + 8 / 15, -1, 0, 8 / 15, -16 / 15],
        [-1, -1, 2 + 1 / 2, 1 / 2, -1, 0],
        [-2 / 3, 0, 1 / 2, 4 / 3 + 1 / 2, -1, 0],
        [0, 8 / 15, -1, -1, 2 + 8 / 15, -16 / 15],
        [0, -16 / 15, 0, 0, -16 / 15, 32 / 15],
    ]
)


@pytest.fixture
def mrode() -> Pedigree:
    return prepare_pedigree(MRODE_IDS, MRODE_SIRES, MRODE_DAMS)


def selfing_chain(generations: int) -> Pedigree:
    ids = [f"S{g}" for g in range(generations + 1)]
    parents = [None] + ids[:-1]
    return prepare_pedigree(ids, parents, parents)


# ---------------------------------------------------------------- parsing


def test_prepare_pedigree__sorts_parents_first_and_keeps_input_order():
    ped = prepare_pedigree(
        ["kid", "dad", "mum", "gran"], ["dad", None, "0", ""], ["mum", 0, "gran", None]
    )
    assert ped.ids == ("kid", "dad", "mum", "gran")
    sorted_ids = [ped.ids[i] for i in ped.order]
    assert sorted_ids.index("gran") < sorted_ids.index("mum") < sorted_ids.index("kid")
    assert ped.sire.tolist() == [1, -1, -1, -1] and ped.dam.tolist() == [2, -1, 3, -1]


def test_prepare_pedigree__duplicate_ids_are_named():
    with pytest.raises(InputError, match=r"'B' at positions \[1, 3\]"):
        prepare_pedigree(["A", "B", "C", "B"], [None] * 4, [None] * 4)


def test_prepare_pedigree__own_parent_is_named():
    with pytest.raises(InputError, match="own parent: 'X'"):
        prepare_pedigree(["A", "X"], [None, "A"], [None, "X"])


def test_prepare_pedigree__loop_reports_the_ids_on_it():
    ids = ["F", "A", "B", "C", "D"]
    with pytest.raises(InputError, match="loop") as err:
        prepare_pedigree(ids, [None, "C", "A", "B", "C"], [None, "F", "F", "F", "F"])
    message = str(err.value)
    for i in ("A", "B", "C"):
        assert repr(i) in message or f"{i} ->" in message or f"-> {i}" in message
    assert "'D'" not in message.split(";")[0]


def test_prepare_pedigree__unknown_parent_is_an_error_or_a_founder():
    with pytest.raises(InputError, match="'Z'.*add_founders=True"):
        prepare_pedigree(["A", "B"], [None, "Z"], [None, "A"])
    ped = prepare_pedigree(["A", "B"], [None, "Z"], [None, "A"], add_founders=True)
    assert ped.ids == ("A", "B", "Z") and ped.n_input == 2
    assert a_matrix(ped, ploidy=2)[1].tolist() == [0.5, 1.0, 0.5]


def test_prepare_pedigree__bad_kinds_and_lengths():
    with pytest.raises(TypeError, match="ids"):
        prepare_pedigree("ABC", [None] * 3, [None] * 3)
    with pytest.raises(InputError, match="lengths 2, 1 and 2"):
        prepare_pedigree(["A", "B"], [None], [None, None])
    with pytest.raises(TypeError, match="Pedigree"):
        a_matrix([["A", None, None]], ploidy=2)


# -------------------------------------------------------- Mrode Example 2.1


def test_a_matrix__mrode_example_2_1(mrode):
    np.testing.assert_allclose(a_matrix(mrode, ploidy=2), MRODE_A, atol=1e-12)


def test_pedigree_inbreeding__mrode_example_2_1(mrode):
    np.testing.assert_allclose(pedigree_inbreeding(mrode, ploidy=2), MRODE_F, atol=1e-12)


def test_a_inverse__mrode_example_2_1(mrode):
    ainv = a_inverse(mrode, ploidy=2)
    np.testing.assert_allclose(ainv.toarray(), MRODE_AINV, atol=1e-12)
    np.testing.assert_allclose(ainv @ MRODE_A, np.eye(6), atol=1e-12)


def test_a_matrix__input_order_is_kept(mrode):
    perm = [5, 2, 0, 4, 1, 3]
    ped = prepare_pedigree(
        [MRODE_IDS[i] for i in perm], [MRODE_SIRES[i] for i in perm], [MRODE_DAMS[i] for i in perm]
    )
    assert ped.ids == tuple(str(MRODE_IDS[i]) for i in perm)
    np.testing.assert_allclose(a_matrix(ped, ploidy=2), MRODE_A[np.ix_(perm, perm)], atol=1e-12)
    np.testing.assert_allclose(
        a_inverse(ped, ploidy=2).toarray(), MRODE_AINV[np.ix_(perm, perm)], atol=1e-12
    )
    np.testing.assert_allclose(
        pedigree_inbreeding(ped, ploidy=2), np.array(MRODE_F)[perm], atol=1e-12
    )


# ------------------------------------------------- textbook inbreeding values


def test_pedigree_inbreeding__full_sib_and_parent_offspring_matings():
    # Falconer & Mackay (1996), ch. 5: both give F = 1/4 in the first generation.
    ped = prepare_pedigree(
        ["s", "d", "fs1", "fs2", "x", "y"],
        [None, None, "s", "s", "fs1", "s"],
        [None, None, "d", "d", "fs2", "fs1"],
    )
    np.testing.assert_allclose(pedigree_inbreeding(ped, ploidy=2), [0, 0, 0, 0, 0.25, 0.25])


def test_pedigree_inbreeding__successive_selfing_halves_heterozygosity():
    # Diploid selfing: F' = (1 + F) / 2, so 1/2, 3/4, 7/8.
    np.testing.assert_allclose(
        pedigree_inbreeding(selfing_chain(3), ploidy=2), [0, 0.5, 0.75, 0.875]
    )


def test_pedigree_inbreeding__selfed_autopolyploids():
    # Without double reduction, selfing a tetraploid gives F' = (1 + 5F)/6
    # (Kerr et al. 2012; Gallais 2003, ch. 3): 1/6, 11/36, 91/216; a selfed
    # non-inbred hexaploid: 9 of its 15 allele pairs join two gametes, each
    # IBD with probability 1/6, so F = 9/6/15 = 1/10.
    np.testing.assert_allclose(
        pedigree_inbreeding(selfing_chain(3), ploidy=4), [0, 1 / 6, 11 / 36, 91 / 216]
    )
    np.testing.assert_allclose(pedigree_inbreeding(selfing_chain(1), ploidy=6), [0, 0.1])


# ---------------------------------------------------------------- polyploid


@pytest.mark.parametrize("ploidy", [4, 6])
def test_a_matrix__autopolyploid_mrode_pedigree(mrode, ploidy):
    # Off-diagonals follow the diploid rule; only the diagonal (and so what
    # descends from it) changes: a_ii = 1 + (k - 1) F_i. By hand, tetraploid:
    # F5 = (F4 + F3 + a34)/6 = 1/24, a55 = 1 + 3/24 = 1.125 (as diploid);
    # F6 = (F5 + F2 + a25)/6 = 7/144, a66 = 1 + 21/144. Hexaploid:
    # F5 = (2(F4 + F3) + a34)/10 = 1/40, F6 = (2 F5 + a25)/10 = 3/100.
    A = a_matrix(mrode, ploidy=ploidy)
    F = pedigree_inbreeding(mrode, ploidy=ploidy)
    expected_f6 = {4: 7 / 144, 6: 3 / 100}[ploidy]
    assert A[0, 0] == 1.0
    np.testing.assert_allclose(F[5], expected_f6)
    np.testing.assert_allclose(np.diag(A), 1 + (ploidy - 1) * F)
    np.testing.assert_allclose(A, A.T)
    off = ~np.eye(6, dtype=bool)
    np.testing.assert_allclose(A[off], MRODE_A[off])  # no loop through a66 here
    assert not np.allclose(np.diag(A), np.diag(MRODE_A))
    np.testing.assert_allclose(a_inverse(mrode, ploidy=ploidy) @ A, np.eye(6), atol=1e-12)


def test_a_matrix__odd_ploidy_is_rejected(mrode):
    with pytest.raises(ValueError, match="even"):
        a_matrix(mrode, ploidy=3)
    with pytest.raises(InputError, match="even number 2 or more"):
        a_matrix(mrode, ploidy=1)


# ------------------------------------------------------- random pedigrees


@st.composite
def pedigrees(draw):
    n = draw(st.integers(1, 25))
    sires, dams = [], []
    for i in range(n):
        if i == 0:
            sires.append(None), dams.append(None)
            continue
        parent = st.one_of(st.none(), st.integers(0, i - 1).map("i{}".format))
        sires.append(draw(parent)), dams.append(draw(parent))
    ids = [f"i{i}" for i in range(n)]
    perm = draw(st.permutations(range(n)))
    return prepare_pedigree(
        [ids[i] for i in perm], [sires[i] for i in perm], [dams[i] for i in perm]
    )


@settings(max_examples=60, deadline=None)
@given(ped=pedigrees(), ploidy=st.sampled_from([2, 4, 6]))
def test_a_matrix__symmetric_positive_definite_with_diag_one_plus_f(ped, ploidy):
    A = a_matrix(ped, ploidy=ploidy)
    F = pedigree_inbreeding(ped, ploidy=ploidy)
    np.testing.assert_array_equal(A, A.T)
    assert np.linalg.eigvalsh(A).min() > 0
    np.testing.assert_allclose(np.diag(A), 1 + (ploidy - 1) * F, atol=1e-12)
    np.testing.assert_allclose(a_inverse(ped, ploidy=ploidy) @ A, np.eye(len(ped)), atol=1e-9)


# ---------------------------------------------------------------- single step


def legarra_h(A: np.ndarray, G: np.ndarray, g: np.ndarray) -> np.ndarray:
    """H built directly (Legarra et al. 2009, eq. 4), genotyped block ``g``."""
    n = len(A)
    u = np.setdiff1d(np.arange(n), g)
    A11, A12, A22 = A[np.ix_(u, u)], A[np.ix_(u, g)], A[np.ix_(g, g)]
    A22i = np.linalg.inv(A22)
    H = np.empty_like(A)
    H[np.ix_(u, u)] = A11 + A12 @ A22i @ (G - A22) @ A22i @ A12.T
    H[np.ix_(u, g)] = A12 @ A22i @ G
    H[np.ix_(g, u)] = (A12 @ A22i @ G).T
    H[np.ix_(g, g)] = G
    return H


def test_h_inverse__equals_the_inverse_of_h_built_directly(mrode):
    rng = np.random.default_rng(7)
    g = np.array([2, 4, 5])  # animals 3, 5, 6
    Z = rng.integers(0, 3, size=(3, 50)).astype(float)
    p = Z.mean(0) / 2
    G = (Z - 2 * p) @ (Z - 2 * p).T / (2 * (p * (1 - p)).sum())  # VanRaden (2008)
    blend = 0.05
    Gw = (1 - blend) * G + blend * MRODE_A[np.ix_(g, g)]
    Hinv = h_inverse(mrode, G, [3, 5, 6], blend=blend, ploidy=2)
    np.testing.assert_allclose(Hinv.toarray(), np.linalg.inv(legarra_h(MRODE_A, Gw, g)), atol=1e-9)


def test_h_inverse__g_equal_to_a22_gives_a_inverse(mrode):
    A22 = MRODE_A[np.ix_([4, 5], [4, 5])]
    Hinv = h_inverse(mrode, A22, ["5", "6"], tune_g=True, ploidy=2)
    np.testing.assert_allclose(Hinv.toarray(), MRODE_AINV, atol=1e-10)


def test_h_inverse__tau_and_omega_scale_the_blocks(mrode):
    G = np.array([[1.2, 0.3], [0.3, 0.9]])
    A22 = MRODE_A[np.ix_([4, 5], [4, 5])]
    Hinv = h_inverse(mrode, G, ["5", "6"], tau=1.5, omega=0.7, blend=0.0, ploidy=2).toarray()
    expected = MRODE_AINV.copy()
    expected[np.ix_([4, 5], [4, 5])] += 1.5 * np.linalg.inv(G) - 0.7 * np.linalg.inv(A22)
    np.testing.assert_allclose(Hinv, expected, atol=1e-10)


def test_h_inverse__bad_g_is_named(mrode):
    with pytest.raises(InputError, match="not symmetric"):
        h_inverse(mrode, [[1.0, 0.2], [0.3, 1.0]], ["5", "6"], ploidy=2)
    with pytest.raises(InputError, match="genotyped_ids has 3"):
        h_inverse(mrode, np.eye(2), ["1", "5", "6"], ploidy=2)
    with pytest.raises(InputError, match="'99'"):
        h_inverse(mrode, np.eye(2), ["5", "99"], ploidy=2)
    with pytest.raises(InputError, match="raise blend"):
        h_inverse(mrode, np.ones((2, 2)), ["5", "6"], blend=0.0, ploidy=2)
    with pytest.raises(InputError, match="blend"):
        h_inverse(mrode, np.eye(2), ["5", "6"], blend=1.0, ploidy=2)


def test_a_matrix__ploidy_is_required(mrode):
    # nothing assumes diploidy: the ploidy comes from the species registry
    with pytest.raises(TypeError, match="ploidy"):
        a_matrix(mrode)  # type: ignore[call-arg]
    with pytest.raises(TypeError, match="ploidy"):
        h_inverse(mrode, np.eye(2), ["5", "6"])  # type: ignore[call-arg]
