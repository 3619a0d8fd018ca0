"""Tests of predict/nn.py: the MLP and the 1-D CNN."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from breedhub.predict.exceptions import InputError  # noqa: E402
from breedhub.predict.nn import CNN1D, MLP, epoch_cap, mlp_layers  # noqa: E402

N, M, H2 = 400, 300, 0.6
N_TEST = 80
FAST = {"max_epochs": 150, "patience": 10, "device": "cpu"}


def simulate_additive(seed: int = 7) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Diploid dosages in loose LD blocks, an additive trait with heritability H2.

    Returns dosages (N x M), true genetic values and phenotypes.
    """
    rng = np.random.default_rng(seed)
    freq = rng.uniform(0.1, 0.5, size=M)
    # neighbouring markers share a latent haplotype value, so the order carries LD
    latent = rng.normal(size=(2 * N, M))
    for j in range(1, M):
        latent[:, j] = 0.7 * latent[:, j - 1] + np.sqrt(1 - 0.7**2) * latent[:, j]
    haplo = (latent < np.diag(np.quantile(latent, freq, axis=0))).astype(int)
    X = (haplo[:N] + haplo[N:]).astype(np.float64)
    effects = rng.normal(size=M)
    g = (X - X.mean(axis=0)) @ effects
    g = g / g.std() * np.sqrt(H2)
    y = g + rng.normal(scale=np.sqrt(1 - H2), size=N) + 10.0
    return X, g, y


@pytest.fixture(scope="module", autouse=True)
def _one_thread():
    """These nets are tiny: one thread is fastest, and immune to a busy machine."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture(scope="module")
def data() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    return simulate_additive()


@pytest.fixture(scope="module")
def fitted(data) -> dict[str, MLP | CNN1D]:
    X, _, y = data
    train = slice(0, N - N_TEST)
    return {
        "mlp": MLP(**FAST).fit(X[train], y[train], ploidy=2),
        "cnn": CNN1D(**FAST).fit(X[train], y[train], ploidy=2),
    }


def test_import_predict__does_not_import_torch():
    code = "import sys, breedhub.predict; sys.exit(1 if 'torch' in sys.modules else 0)"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr or "importing predict imported torch"


@pytest.mark.parametrize("method", ["mlp", "cnn"])
def test_fit__learns_an_additive_trait(fitted, data, method):
    X, g, _ = data
    model = fitted[method]
    pred = model.predict(X[N - N_TEST :])
    r = np.corrcoef(pred, g[N - N_TEST :])[0, 1]
    assert r > 0.4, f"{method}: held-out r = {r:.3f}"
    info = model.info_
    assert info["device"] == "cpu"
    assert 1 <= info["best_epoch"] <= info["epochs_run"] <= FAST["max_epochs"]
    assert info["best_val_loss"] > 0
    assert info["train_seconds"] > 0
    assert info["n_train"] == N - N_TEST and info["n_markers"] == M


def test_fit__stops_early_when_validation_stops_improving(data):
    X, _, y = data
    model = MLP(hidden=(64,), lr=1e-2, max_epochs=500, patience=3, device="cpu").fit(X, y, ploidy=2)
    info = model.info_
    assert info["stopped_early"]
    assert info["epochs_run"] < 500
    assert info["epochs_run"] == info["best_epoch"] + 3


def test_fit__default_mlp_is_sized_to_the_data_and_stops_early(data):
    X, _, y = data
    model = MLP(device="cpu").fit(X[:200], y[:200], ploidy=2)
    eff = model.effective_params()
    # 200 samples: a first layer of 200 / 4 -> 64 units, then 16; 180 training samples
    # in batches of 32 take 6 steps an epoch: the cap is 300 epochs
    assert eff["hidden"] == mlp_layers(200, M) == [64, 16]
    assert eff["max_epochs"] == epoch_cap(180, 32) == 300
    assert eff["n_parameters"] == M * 64 + 64 + 64 * 16 + 16 + 16 + 1
    assert model.info_["stopped_early"] and eff["epochs_run"] < 300
    assert eff["epochs_run"] == eff["best_epoch"] + 15  # the default patience
    assert eff["device"] == "cpu" and eff["seed"] == 0


def test_mlp_layers__fewer_units_for_many_markers_or_few_samples():
    assert mlp_layers(40, 100) == [16, 8]
    assert mlp_layers(100_000, 100) == [256, 64]
    big = mlp_layers(2000, 200_000)
    assert big == [16, 8]  # 2**21 / 200,000 < 16: the smallest layer
    assert mlp_layers(2000, 20_000)[0] * 20_000 <= 2**21
    assert epoch_cap(100_000, 32) == 50


def test_save_model__sized_mlp_round_trip(data, tmp_path):
    from breedhub.predict import load_model, save_model

    X, _, y = data
    model = MLP(max_epochs=3, device="cpu").fit(X[:120], y[:120], ploidy=2)
    assert model.params["hidden"] is None and model.hidden_ == [32, 8]
    again = load_model(save_model(model, tmp_path / "mlp.npz"))
    np.testing.assert_array_equal(again.predict(X[:20]), model.predict(X[:20]))


def test_fit__no_validation_runs_every_epoch(data):
    X, _, y = data
    model = MLP(hidden=(16,), max_epochs=4, val_fraction=0.0, device="cpu").fit(
        X[:100], y[:100], ploidy=2
    )
    assert model.info_["epochs_run"] == model.info_["best_epoch"] == 4
    assert model.info_["best_val_loss"] is None


@pytest.mark.parametrize(
    "cls, options",
    [(MLP, {"hidden": (32,)}), (CNN1D, {"channels": (4,), "hidden": (8,)})],
    ids=["mlp", "cnn"],
)
def test_fit__seeded_fits_are_identical(data, cls, options):
    X, _, y = data
    fits = [
        cls(**options, max_epochs=8, device="cpu").fit(X[:200], y[:200], ploidy=2) for _ in range(2)
    ]
    np.testing.assert_array_equal(fits[0].predict(X[200:]), fits[1].predict(X[200:]))
    other = cls(**options, max_epochs=8, device="cpu", seed=1).fit(X[:200], y[:200], ploidy=2)
    assert not np.array_equal(other.predict(X[200:]), fits[0].predict(X[200:]))


def test_fit__leaves_global_random_state_and_settings_alone(data):
    X, _, y = data
    np.random.seed(123)  # noqa: NPY002
    torch.manual_seed(123)
    expected = (np.random.rand(), torch.rand(1).item())  # noqa: NPY002
    np.random.seed(123)  # noqa: NPY002
    torch.manual_seed(123)
    MLP(hidden=(8,), max_epochs=2, device="cpu").fit(X[:50], y[:50], ploidy=2)
    assert (np.random.rand(), torch.rand(1).item()) == expected  # noqa: NPY002
    assert not torch.are_deterministic_algorithms_enabled()


def test_fit__fixed_effects_are_removed_first(data):
    X, _, y = data
    env = np.repeat([0.0, 1.0], N // 2)
    shifted = y + 5.0 * env
    model = MLP(hidden=(16,), max_epochs=5, device="cpu").fit(X, shifted, fixed=env, ploidy=2)
    assert model.info_["fixed_effects"][1] == pytest.approx(5.0, abs=0.5)
    assert abs(model.predict(X).mean()) < 0.5


@pytest.mark.parametrize("method", ["mlp", "cnn"])
def test_state__round_trip_predicts_identically(fitted, data, method):
    X, _, _ = data
    model = fitted[method]
    state = model.state()
    assert all(isinstance(v, np.ndarray) for v in state.values())
    assert {"x_mean", "x_sd", "y_mean", "y_sd"} <= set(state)
    assert any(k.startswith("net.") for k in state)
    again = type(model).from_state(model.params, state)
    with pytest.raises(InputError, match="ploidy is not known"):
        again.predict(X)
    again.ploidy = model.ploidy  # load_model restores it from the file
    np.testing.assert_array_equal(again.predict(X), model.predict(X))


def test_save_model__round_trip(fitted, data, tmp_path):
    from breedhub.predict import load_model, save_model

    X, _, _ = data
    model = fitted["cnn"]
    path = save_model(model, tmp_path / "cnn.npz")
    again = load_model(path)
    assert isinstance(again, CNN1D)
    np.testing.assert_array_equal(again.predict(X), model.predict(X))


@pytest.mark.parametrize(
    "cls, option, value",
    [
        (MLP, "dropout", -0.1),
        (MLP, "dropout", 1.0),
        (MLP, "patience", 0),
        (MLP, "lr", 0.0),
        (MLP, "weight_decay", -1.0),
        (MLP, "batch_size", 0),
        (MLP, "max_epochs", 0),
        (MLP, "val_fraction", 0.5),
        (MLP, "hidden", (64, 0)),
        (MLP, "device", "tpu"),
        (MLP, "dtype", "float16"),
        (CNN1D, "channels", ()),
        (CNN1D, "kernel_size", 0),
        (CNN1D, "pool", 0),
        (CNN1D, "patience", 0),
        (CNN1D, "dropout", -0.5),
    ],
)
def test_init__bad_option_raises_value_error_naming_it(cls, option, value):
    with pytest.raises(ValueError, match=option):
        cls(**{option: value})


def test_init__wrong_kind_raises_type_error():
    with pytest.raises(TypeError, match="patience"):
        MLP(patience=2.5)
    with pytest.raises(TypeError, match="hidden"):
        MLP(hidden="64")


@pytest.mark.gpu
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
@pytest.mark.parametrize(
    "dtype, tolerance", [("float32", 1e-2), ("float64", 1e-6)], ids=["float32", "float64"]
)
@pytest.mark.parametrize("cls", [MLP, CNN1D], ids=["mlp", "cnn"])
def test_fit__gpu_agrees_with_cpu(data, cls, dtype, tolerance):
    X, _, y = data
    opts = {"max_epochs": 10, "val_fraction": 0.0, "dtype": dtype}
    cpu = cls(**opts, device="cpu").fit(X[:300], y[:300], ploidy=2).predict(X[300:])
    gpu_model = cls(**opts, device="cuda").fit(X[:300], y[:300], ploidy=2)
    assert gpu_model.info_["device"].startswith("cuda")
    gpu = gpu_model.predict(X[300:])
    np.testing.assert_allclose(gpu, cpu, atol=tolerance * cpu.std())
