"""Neural networks for genomic prediction in PyTorch: a multilayer perceptron and a 1-D CNN.

This is the only module of :mod:`predict` that imports torch; ``import predict``
does not load it, so the rest of the package works where torch is missing.

Both models follow the :class:`~predict.base.GenomicModel` contract and train
the same way:

1. the fixed effects (an intercept at least) are fitted to the phenotypes by
   least squares and the network learns the residual, so predictions are
   genetic values, centred like the residual;
2. markers are standardised with the means and standard deviations of the
   fitting samples (a monomorphic marker gets sd 1 and becomes a constant 0),
   the target with its mean and sd; all four are kept in :meth:`state`;
3. a seeded share of the samples (``val_fraction``) is held out; training
   (AdamW on the mean squared error, shuffled mini-batches) stops when the
   validation loss has not improved for ``patience`` epochs, and the weights
   of the best epoch are kept.

Sized to the data. With the defaults ``hidden=None`` (MLP) and
``max_epochs=None`` the net is sized from the number of samples n and of
markers p when fitting (:func:`mlp_layers`, :func:`epoch_cap`): a first
layer of about n / 4 units (a power of two in [16, 256], fewer when p is so
large that the first layer would pass 2**21 weights), a second of a quarter
of that; at most about 50,000 gradient steps (50 to 300 epochs). What was
used is reported in ``info_["effective_params"]``. On a CPU a fit still
takes several times GBLUP's (the CNN tens of times): the registry marks both
nets ``slow_on_cpu`` so that model choice leaves them out without a GPU.

Determinism. ``fit`` seeds Python, numpy and torch from ``seed`` and turns
on ``torch.use_deterministic_algorithms(True, warn_only=True)`` (and cuDNN's
deterministic mode) for the duration of the fit only; fits and predictions
also turn TensorFloat-32 off on CUDA. The global random states and these
settings are restored afterwards. Every random draw -- initial weights, the
validation split, the batch order and the dropout masks -- is made on the
CPU from the seed, so two fits with the same data and options give identical
predictions on the same CPU, and a fit on a GPU differs from the CPU fit
only by floating-point rounding (summation order in matrix products,
convolutions and batch norm). That rounding is amplified by training, so
agreement is to a tolerance, not bit for bit: the test marked ``gpu``
requires GPU and CPU predictions of a short fit to agree within 1e-2
standard deviations of the predictions in float32 and 1e-6 in float64
(``dtype="float64"``). Two CPU fits agree exactly. Dropout is applied to
whole units (dense layers) and whole channels (convolutional layers,
"spatial" dropout) so that the masks stay small enough to draw on the CPU.

References
----------
.. [1] Wang K, Abid MA, Rasheed A, Crossa J, Hearne S, Li H (2023). DNNGP, a
   deep neural network-based method for genomic prediction using multi-omics
   data in plants. Molecular Plant 16(1):279-293.
   https://doi.org/10.1016/j.molp.2022.11.004
.. [2] Montesinos-Lopez OA, Montesinos-Lopez A, Perez-Rodriguez P, et al.
   (2021). A review of deep learning applications for genomic selection. BMC
   Genomics 22:19. https://doi.org/10.1186/s12864-020-07319-x
"""

from __future__ import annotations

import contextlib
import copy
import math
import random
import time
from collections.abc import Iterator, Sequence
from typing import Any, ClassVar

import numpy as np
import torch
from torch import nn

from breedhub.base.checks import check_int
from breedhub.predict.base import GenomicModel
from breedhub.predict.exceptions import ConvergenceError, InputError

__all__ = ["CNN1D", "MLP"]

_DTYPES = {"float32": torch.float32, "float64": torch.float64}
_PREDICT_CHUNK = 4096  # rows per forward pass when predicting
_FIRST_LAYER_WEIGHTS = 2**21  # most weights a sized first dense layer may have
_STEPS = 50_000  # gradient steps a sized run may take at most


def mlp_layers(n: int, p: int) -> list[int]:
    """Hidden layer sizes of an MLP sized to n samples and p markers.

    About n / 4 units first (a power of two in [16, 256]), fewer when p
    times that passes 2**21 weights; then a quarter of that (at least 8).

    Examples
    --------
    >>> mlp_layers(540, 1279), mlp_layers(176, 50_000), mlp_layers(5000, 300)
    ([128, 32], [32, 8], [256, 64])
    """
    width = 2 ** round(math.log2(max(n / 4, 1)))
    width = min(max(width, 16), 256)
    while width > 16 and width * p > _FIRST_LAYER_WEIGHTS:
        width //= 2
    return [width, max(8, width // 4)]


def epoch_cap(n_train: int, batch_size: int) -> int:
    """Most epochs for a sized run: about 50,000 gradient steps, 50 to 300 epochs.

    Examples
    --------
    >>> epoch_cap(486, 32), epoch_cap(20_000, 32)
    (300, 80)
    """
    steps = max(1, math.ceil(n_train / batch_size))
    return int(min(300, max(50, round(_STEPS / steps))))


class _Dropout(nn.Module):
    """Dropout of whole units or channels, with masks drawn on the CPU.

    For (batch, features) input a unit is dropped; for (batch, channels,
    length) input a whole channel. The masks come from :attr:`generator` (a
    CPU generator seeded by the fit), so a fit draws the same masks on any
    device.
    """

    def __init__(self, p: float):
        super().__init__()
        self.p = p
        self.generator: torch.Generator | None = None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not self.training or self.p == 0.0:
            return x
        keep = torch.rand(x.shape[:2], generator=self.generator) >= self.p
        mask = keep.to(dtype=x.dtype, device=x.device) / (1.0 - self.p)
        return x * mask.reshape(x.shape[:2] + (1,) * (x.ndim - 2))

    def extra_repr(self) -> str:
        return f"p={self.p}"


def _dense_head(n_in: int, hidden: Sequence[int], dropout: float) -> list[nn.Module]:
    layers: list[nn.Module] = []
    for h in hidden:
        layers += [nn.Linear(n_in, h), nn.ReLU(), _Dropout(dropout)]
        n_in = h
    layers.append(nn.Linear(n_in, 1))
    return layers


def _check_float(
    name: str,
    value: Any,
    *,
    low: float,
    high: float | None = None,
    low_open: bool = False,
    high_open: bool = True,
) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
        raise TypeError(f"{name} must be a number, not {type(value).__name__}")
    v = float(value)
    too_low = v <= low if low_open else v < low
    too_high = high is not None and (v >= high if high_open else v > high)
    if not math.isfinite(v) or too_low or too_high:
        lo = f"({low}" if low_open else f"[{low}"
        hi = "inf)" if high is None else (f"{high})" if high_open else f"{high}]")
        raise InputError(f"{name} must be in {lo}, {hi}, not {value!r}")
    return v


def _check_sizes(name: str, value: Any, *, allow_empty: bool) -> list[int]:
    if isinstance(value, (int, np.integer)) and not isinstance(value, bool):
        value = [value]
    if isinstance(value, (str, bytes)) or not isinstance(value, Sequence):
        raise TypeError(f"{name} must be a sequence of layer sizes, e.g. (128, 32)")
    sizes = [check_int(f"{name}[{i}]", v, minimum=1) for i, v in enumerate(value)]
    if not sizes and not allow_empty:
        raise InputError(f"{name} must name at least one layer size, e.g. (128, 32)")
    return sizes


def _check_device(device: Any) -> str:
    if not isinstance(device, str):
        raise TypeError(f"device must be a string such as 'auto', 'cpu' or 'cuda', not {device!r}")
    if device == "auto":
        return device
    try:
        kind = torch.device(device).type
    except RuntimeError:
        kind = None
    if kind not in ("cpu", "cuda"):
        raise InputError(f"device must be 'auto', 'cpu', 'cuda' or 'cuda:N', not {device!r}")
    return device


@contextlib.contextmanager
def _full_precision() -> Iterator[None]:
    """No TensorFloat-32 in CUDA matrix products and convolutions; restore after.

    TF32 rounds float32 inputs to 10 mantissa bits; without it a GPU computes
    in the same precision as the CPU.
    """
    saved = (torch.backends.cuda.matmul.allow_tf32, torch.backends.cudnn.allow_tf32)
    torch.backends.cuda.matmul.allow_tf32 = False
    torch.backends.cudnn.allow_tf32 = False
    try:
        yield
    finally:
        torch.backends.cuda.matmul.allow_tf32, torch.backends.cudnn.allow_tf32 = saved


@contextlib.contextmanager
def _seeded(seed: int) -> Iterator[None]:
    """Seed python, numpy and torch and run deterministically; restore everything after."""
    py_state = random.getstate()
    np_state = np.random.get_state()  # noqa: NPY002 (the global state is what we restore)
    det = torch.are_deterministic_algorithms_enabled()
    det_warn = torch.is_deterministic_algorithms_warn_only_enabled()
    cudnn = (torch.backends.cudnn.deterministic, torch.backends.cudnn.benchmark)
    devices = list(range(torch.cuda.device_count())) if torch.cuda.is_available() else []
    with torch.random.fork_rng(devices=devices):
        try:
            random.seed(seed)
            np.random.seed(seed)  # noqa: NPY002 (code a user runs inside fit may use it)
            torch.manual_seed(seed)
            torch.use_deterministic_algorithms(True, warn_only=True)
            torch.backends.cudnn.deterministic = True
            torch.backends.cudnn.benchmark = False
            yield
        finally:
            random.setstate(py_state)
            np.random.set_state(np_state)  # noqa: NPY002
            torch.use_deterministic_algorithms(det, warn_only=det_warn)
            torch.backends.cudnn.deterministic, torch.backends.cudnn.benchmark = cudnn


class _TorchModel(GenomicModel):
    """What the networks share: options, scaling, the training loop, state."""

    method: ClassVar[str]

    def __init__(
        self,
        *,
        hidden: Sequence[int] | None,
        dropout: float,
        lr: float,
        weight_decay: float,
        batch_size: int,
        max_epochs: int | None,
        patience: int,
        val_fraction: float,
        seed: int,
        device: str,
        dtype: str,
        **arch: Any,
    ):
        params: dict[str, Any] = dict(
            hidden=None if hidden is None else _check_sizes("hidden", hidden, allow_empty=True),
            dropout=_check_float("dropout", dropout, low=0.0, high=1.0),
            lr=_check_float("lr", lr, low=0.0, low_open=True),
            weight_decay=_check_float("weight_decay", weight_decay, low=0.0),
            batch_size=check_int("batch_size", batch_size, minimum=1),
            max_epochs=None
            if max_epochs is None
            else check_int("max_epochs", max_epochs, minimum=1),
            patience=check_int("patience", patience, minimum=1),
            val_fraction=_check_float("val_fraction", val_fraction, low=0.0, high=0.5),
            seed=check_int("seed", seed, minimum=0),
            device=_check_device(device),
        )
        if dtype not in _DTYPES:
            raise InputError(f"dtype must be one of {sorted(_DTYPES)}, not {dtype!r}")
        params["dtype"] = dtype
        params.update(arch)
        super().__init__(**params)
        self.module_: nn.Module | None = None
        self.scalers_: dict[str, np.ndarray] = {}
        self.hidden_: list[int] = [] if hidden is None else list(params["hidden"])

    def effective_params(self) -> dict[str, Any]:
        """The options this fit ran with: layer sizes, epochs, device (see ``info_``)."""
        return {**self.params, **self.info_.get("effective_params", {})}

    # -- what a subclass provides ------------------------------------------

    def _build(self, n_markers: int) -> nn.Module:
        raise NotImplementedError

    def _size(self, n: int, p: int) -> None:
        """Set ``hidden_`` for n samples and p markers (the MLP sizes itself when hidden=None)."""
        if self.params["hidden"] is not None:
            self.hidden_ = list(self.params["hidden"])

    def _reshape(self, x: torch.Tensor) -> torch.Tensor:
        """Standardised (batch, markers) to the module's input shape."""
        return x

    # -- helpers -------------------------------------------------------------

    @property
    def _dtype(self) -> torch.dtype:
        return _DTYPES[self.params["dtype"]]

    def _device(self) -> torch.device:
        dev = self.params["device"]
        if dev == "auto":
            return torch.device("cuda" if torch.cuda.is_available() else "cpu")
        d = torch.device(dev)
        if d.type == "cuda":
            if not torch.cuda.is_available():
                raise InputError(f"device={dev!r} but CUDA is not available: use 'auto' or 'cpu'")
            if d.index is not None and d.index >= torch.cuda.device_count():
                raise InputError(
                    f"device={dev!r} but only {torch.cuda.device_count()} CUDA devices exist"
                )
        return d

    def _inputs(self, X: np.ndarray, device: torch.device) -> torch.Tensor:
        """Standardise dosages with the stored scalers, as a tensor on ``device``."""
        mean = torch.as_tensor(self.scalers_["x_mean"], device=device)
        sd = torch.as_tensor(self.scalers_["x_sd"], device=device)
        x = torch.as_tensor(np.asarray(X), dtype=self._dtype, device=device)
        return (x - mean) / sd

    def _forward(self, x: torch.Tensor) -> torch.Tensor:
        assert self.module_ is not None
        return self.module_(self._reshape(x)).reshape(-1)

    @torch.no_grad()
    def _evaluate(self, x: torch.Tensor) -> torch.Tensor:
        assert self.module_ is not None
        self.module_.eval()
        out = [self._forward(x[i : i + _PREDICT_CHUNK]) for i in range(0, len(x), _PREDICT_CHUNK)]
        return torch.cat(out)

    # -- the contract --------------------------------------------------------

    def _fit(self, X: np.ndarray, y: np.ndarray, fixed: np.ndarray) -> None:
        p = self.params
        n = X.shape[0]
        n_val = 0 if p["val_fraction"] == 0 else max(1, round(n * p["val_fraction"]))
        if n - n_val < 2:
            raise InputError(
                f"{self.method}: {n} samples with phenotypes leave {n - n_val} for training "
                f"after val_fraction={p['val_fraction']}: need at least 2"
            )
        device = self._device()
        started = time.perf_counter()
        self._size(n, X.shape[1])
        max_epochs = p["max_epochs"] or epoch_cap(n - n_val, p["batch_size"])

        beta, *_ = np.linalg.lstsq(fixed, y, rcond=None)
        resid = y - fixed @ beta
        np_dtype = np.float32 if p["dtype"] == "float32" else np.float64
        x_mean = X.mean(axis=0, dtype=np.float64)
        x_sd = X.std(axis=0, dtype=np.float64)
        x_sd[x_sd == 0] = 1.0
        self.scalers_ = {
            "x_mean": x_mean.astype(np_dtype),
            "x_sd": x_sd.astype(np_dtype),
            "y_mean": np.array(resid.mean()),
            "y_sd": np.array(resid.std()),
        }
        target = (resid - resid.mean()) / resid.std()

        with _seeded(p["seed"]), _full_precision():
            rng = np.random.default_rng(p["seed"])
            order = rng.permutation(n)
            val_idx, train_idx = np.sort(order[:n_val]), np.sort(order[n_val:])
            self.module_ = self._build(X.shape[1]).to(dtype=self._dtype)
            masks = torch.Generator().manual_seed(p["seed"])
            for m in self.module_.modules():
                if isinstance(m, _Dropout):
                    m.generator = masks
            self.module_.to(device)
            x_all = self._inputs(X, device)
            t_all = torch.as_tensor(target, dtype=self._dtype, device=device)
            x_val, t_val = x_all[val_idx], t_all[val_idx]
            opt = torch.optim.AdamW(
                self.module_.parameters(), lr=p["lr"], weight_decay=p["weight_decay"]
            )
            n_batches = max(1, math.ceil(len(train_idx) / p["batch_size"]))
            best_loss, best_epoch, best_weights = math.inf, 0, None
            epoch = 0
            for epoch in range(1, max_epochs + 1):
                self.module_.train()
                for batch in np.array_split(rng.permutation(train_idx), n_batches):
                    idx = torch.as_tensor(batch, device=device)
                    loss = nn.functional.mse_loss(self._forward(x_all[idx]), t_all[idx])
                    opt.zero_grad(set_to_none=True)
                    loss.backward()  # type: ignore[no-untyped-call]
                    opt.step()
                if not math.isfinite(loss.item()):
                    raise ConvergenceError(
                        f"{self.method}: the training loss became {loss.item()} at epoch "
                        f"{epoch}: lower lr (now {p['lr']:g})"
                    )
                if n_val == 0:
                    best_epoch = epoch
                    continue
                val_loss = nn.functional.mse_loss(self._evaluate(x_val), t_val).item()
                if val_loss < best_loss:
                    best_loss, best_epoch = val_loss, epoch
                    best_weights = copy.deepcopy(self.module_.state_dict())
                elif epoch - best_epoch >= p["patience"]:
                    break
            if best_weights is not None:
                self.module_.load_state_dict(best_weights)
            self.module_.eval()
        for m in self.module_.modules():
            if isinstance(m, _Dropout):
                m.generator = None

        self.info_ = {
            "epochs_run": epoch,
            "best_epoch": best_epoch,
            "best_val_loss": None if n_val == 0 else best_loss,
            "stopped_early": epoch < max_epochs,
            "n_validation": n_val,
            "n_parameters": sum(t.numel() for t in self.module_.parameters()),
            "fixed_effects": [float(b) for b in beta],
            "device": str(device),
            "torch": torch.__version__,
            "train_seconds": round(time.perf_counter() - started, 3),
        }
        self.info_["effective_params"] = {
            "hidden": list(self.hidden_), "max_epochs": max_epochs, "epochs_run": epoch,
            "best_epoch": best_epoch, "device": str(device), "seed": p["seed"],
            "n_parameters": self.info_["n_parameters"],
        }  # fmt: skip

    def _predict(self, X: np.ndarray) -> np.ndarray:
        assert self.module_ is not None
        device = next(self.module_.parameters()).device
        with _full_precision():
            out = self._evaluate(self._inputs(X, device)).cpu().numpy().astype(np.float64)
        return out * float(self.scalers_["y_sd"]) + float(self.scalers_["y_mean"])

    def state(self) -> dict[str, np.ndarray]:
        """Scalers (``x_mean``, ``x_sd``, ``y_mean``, ``y_sd``) and ``net.<name>`` weights."""
        if self.module_ is None:
            raise InputError(f"{self.method}: call fit() before state()")
        out = {k: v.copy() for k, v in self.scalers_.items()}
        out["hidden"] = np.asarray(self.hidden_, dtype=np.int64)
        for name, t in self.module_.state_dict().items():
            out[f"net.{name}"] = t.detach().cpu().numpy().copy()
        return out

    @classmethod
    def from_state(cls, params: dict[str, Any], state: dict[str, np.ndarray]) -> _TorchModel:
        """Rebuild a fitted network on the CPU from :attr:`params` and :meth:`state`."""
        model = cls(**params)
        model.scalers_ = {k: np.asarray(state[k]) for k in ("x_mean", "x_sd", "y_mean", "y_sd")}
        n_markers = int(model.scalers_["x_mean"].shape[0])
        if "hidden" in state:  # the sizes a sized net was fitted with
            model.hidden_ = [int(v) for v in np.asarray(state["hidden"]).reshape(-1)]
        module = model._build(n_markers).to(dtype=model._dtype)
        weights = {
            k[4:]: torch.from_numpy(np.array(v)) for k, v in state.items() if k.startswith("net.")
        }
        try:
            module.load_state_dict(weights)
        except RuntimeError as exc:
            raise InputError(
                f"{cls.method}: the saved weights do not fit the options: {exc}"
            ) from None
        module.eval()
        model.module_ = module
        model.fitted_ = True
        model.info_ = {"n_markers": n_markers}
        return model


class MLP(_TorchModel):
    """A multilayer perceptron on standardised marker dosages.

    Dense layers with ReLU and dropout, then one linear output; trained as
    described in :mod:`predict.nn`.

    Parameters
    ----------
    hidden
        Sizes of the hidden layers; empty for a linear model; None sizes them
        to the data (:func:`mlp_layers`).
    dropout
        Share of hidden units dropped in training, in [0, 1).
    lr
        Learning rate of AdamW.
    weight_decay
        AdamW's decoupled weight decay (a ridge-like shrinkage).
    batch_size
        Samples per mini-batch.
    max_epochs
        Epochs at most; None: about 50,000 gradient steps, 50 to 300 epochs
        (:func:`epoch_cap`).
    patience
        Epochs without a better validation loss before training stops.
    val_fraction
        Share of the samples held out for early stopping, in [0, 0.5); 0 trains
        for ``max_epochs`` with no validation.
    seed
        Seeds the split, the weights, the batch order and dropout.
    device
        ``"auto"`` (CUDA when available, else CPU), ``"cpu"``, ``"cuda"`` or ``"cuda:N"``.
    dtype
        ``"float32"`` or ``"float64"``.

    Raises
    ------
    TypeError
        An option of the wrong kind.
    InputError
        (a ``ValueError``) An option out of range; the message names it.

    References
    ----------
    .. [1] Montesinos-Lopez OA et al. (2021). A review of deep learning
       applications for genomic selection. BMC Genomics 22:19.

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(1)
    >>> X = rng.binomial(2, 0.3, size=(60, 20))
    >>> y = X @ rng.normal(size=20) + rng.normal(size=60)
    >>> m = MLP(hidden=(8,), max_epochs=5, device="cpu").fit(X, y, ploidy=2)
    >>> m.predict(X).shape
    (60,)
    >>> m.info_["epochs_run"]
    5
    """

    method = "mlp"

    def __init__(
        self,
        *,
        hidden: Sequence[int] | None = None,
        dropout: float = 0.3,
        lr: float = 1e-3,
        weight_decay: float = 1e-2,
        batch_size: int = 32,
        max_epochs: int | None = None,
        patience: int = 15,
        val_fraction: float = 0.1,
        seed: int = 0,
        device: str = "auto",
        dtype: str = "float32",
    ):
        super().__init__(
            hidden=hidden,
            dropout=dropout,
            lr=lr,
            weight_decay=weight_decay,
            batch_size=batch_size,
            max_epochs=max_epochs,
            patience=patience,
            val_fraction=val_fraction,
            seed=seed,
            device=device,
            dtype=dtype,
        )

    def _build(self, n_markers: int) -> nn.Module:
        p = self.params
        return nn.Sequential(*_dense_head(n_markers, self.hidden_, p["dropout"]))

    def _size(self, n: int, p: int) -> None:
        self.hidden_ = (
            mlp_layers(n, p) if self.params["hidden"] is None else list(self.params["hidden"])
        )


class CNN1D(_TorchModel):
    """A 1-D convolutional network over the marker axis, after DNNGP [1]_.

    Markers in genome order form a one-channel sequence. Each convolutional
    block is a ``Conv1d`` (``kernel_size``, same padding), batch norm, ReLU,
    channel dropout and, when ``pool`` > 1, max pooling; the feature maps are
    then flattened into dense layers (``hidden``) and one linear output.
    Trained as described in :mod:`predict.nn`. The defaults (one block) suit
    hundreds to a few thousand samples; deeper stacks such as
    ``channels=(64, 64, 64)`` need more data to beat them.

    Parameters
    ----------
    channels
        Output channels of each convolutional block.
    kernel_size
        Width of the convolution windows, in markers.
    pool
        Max-pooling width after each block; 1 for none.
    hidden
        Sizes of the dense layers after the convolutions; may be empty.
    dropout, lr, weight_decay, batch_size, max_epochs, patience, val_fraction, seed, device, dtype
        As for :class:`MLP`.

    Raises
    ------
    TypeError
        An option of the wrong kind.
    InputError
        (a ``ValueError``) An option out of range; the message names it.

    References
    ----------
    .. [1] Wang K, Abid MA, Rasheed A, Crossa J, Hearne S, Li H (2023). DNNGP,
       a deep neural network-based method for genomic prediction using
       multi-omics data in plants. Molecular Plant 16(1):279-293.
       https://doi.org/10.1016/j.molp.2022.11.004

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(1)
    >>> X = rng.binomial(2, 0.3, size=(60, 40))
    >>> y = X @ rng.normal(size=40) + rng.normal(size=60)
    >>> m = CNN1D(channels=(4,), hidden=(), max_epochs=3, device="cpu").fit(X, y, ploidy=2)
    >>> m.predict(X[:5]).shape
    (5,)
    """

    method = "cnn"

    def __init__(
        self,
        *,
        channels: Sequence[int] = (16,),
        kernel_size: int = 3,
        pool: int = 2,
        hidden: Sequence[int] = (32,),
        dropout: float = 0.2,
        lr: float = 1e-3,
        weight_decay: float = 1e-2,
        batch_size: int = 64,
        max_epochs: int | None = None,
        patience: int = 15,
        val_fraction: float = 0.1,
        seed: int = 0,
        device: str = "auto",
        dtype: str = "float32",
    ):
        super().__init__(
            hidden=hidden,
            dropout=dropout,
            lr=lr,
            weight_decay=weight_decay,
            batch_size=batch_size,
            max_epochs=max_epochs,
            patience=patience,
            val_fraction=val_fraction,
            seed=seed,
            device=device,
            dtype=dtype,
            channels=_check_sizes("channels", channels, allow_empty=False),
            kernel_size=check_int("kernel_size", kernel_size, minimum=1),
            pool=check_int("pool", pool, minimum=1),
        )

    def _build(self, n_markers: int) -> nn.Module:
        p = self.params
        k, pool = p["kernel_size"], p["pool"]
        layers: list[nn.Module] = []
        length, c_in = n_markers, 1
        for c in p["channels"]:
            layers += [
                nn.Conv1d(c_in, c, k, padding=k // 2),
                nn.BatchNorm1d(c),
                nn.ReLU(),
                _Dropout(p["dropout"]),
            ]
            length = length + 2 * (k // 2) - k + 1
            if pool > 1 and length >= pool:
                layers.append(nn.MaxPool1d(pool))
                length //= pool
            c_in = c
        layers.append(nn.Flatten())
        layers += _dense_head(c_in * length, self.hidden_, p["dropout"])
        return nn.Sequential(*layers)

    def _reshape(self, x: torch.Tensor) -> torch.Tensor:
        return x.unsqueeze(1)
