"""A from-scratch NumPy autoencoder: the textbook model, done right.

This module is a reference implementation for teaching and for cross-checking the
torch engine. It has no torch in it: one hidden layer, backpropagation written by
hand, and plain NumPy arrays in float64 throughout.

The model is ::

    H = f(X @ W1 + b1)          encoder, f = tanh, sigmoid, relu or identity
    Y = g(H @ W2 + b2)          decoder, g = identity ("linear") or sigmoid

with ``W1`` of shape (d, h), ``b1`` (h,), ``W2`` (h, d) and ``b2`` (d,). The loss
is the mean squared error over *all* elements, ``mean((Y - X) ** 2)``, that is the
sum of squared errors divided by ``n_samples * n_features``; it is the same number
``torch.nn.functional.mse_loss`` computes with its default ``reduction="mean"``.
:meth:`ScratchAutoencoder.gradients` differentiates exactly that loss.

Why the naive textbook version fails on standardised data
---------------------------------------------------------
Many textbooks build the autoencoder with a sigmoid output and no bias terms. That
works on pixel intensities in [0, 1], but not on standardised data (zero mean, unit
variance), where half of the values are negative and about 16% are above 1:

* a sigmoid output lies in (0, 1), so it cannot reproduce those values at all. For
  standard normal data even the best possible output, ``clip(x, 0, 1)``, leaves an
  MSE of about 0.58 -- more than half of the total variance -- whatever the hidden
  layer learns. Trying to reach the unreachable targets also drives the output into
  saturation, where the sigmoid's derivative ``Y * (1 - Y)`` vanishes and learning
  stalls;
* without biases a unit cannot shift its operating point: a sigmoid hidden unit
  sends zero input to 0.5, an offset the decoder cannot cancel, and the model
  cannot represent the mean of data that is not centred.

With biases and a linear output the model can do what PCA does: with an identity
hidden layer its best solution spans the subspace of the first ``n_hidden``
principal components (Baldi & Hornik, 1989) and reaches PCA's reconstruction
error, and a tanh hidden layer (near-linear for small weights) gets close to it.
That is why ``output="auto"`` picks a sigmoid output only when the training data
lie within [0, 1].
"""

from __future__ import annotations

import numbers
from typing import Any

import numpy as np
from sklearn.exceptions import NotFittedError

from aekit import _validation as v
from aekit.exceptions import TrainingError

ACTIVATIONS = ("tanh", "sigmoid", "relu", "identity")
OUTPUTS = ("auto", "linear", "sigmoid")
SCRATCH_OPTIMIZERS = ("sgd", "adam")
WEIGHT_NAMES = ("W1", "b1", "W2", "b2")


def _sigmoid(z: np.ndarray) -> np.ndarray:
    # 1 / (1 + exp(-z)) written with tanh, which never overflows.
    return 0.5 * (1.0 + np.tanh(0.5 * z))


def _activate(name: str, z: np.ndarray) -> np.ndarray:
    if name == "tanh":
        return np.tanh(z)
    if name == "sigmoid":
        return _sigmoid(z)
    if name == "relu":
        return np.maximum(z, 0.0)
    return z  # identity / linear


def _derivative(name: str, z: np.ndarray, a: np.ndarray) -> np.ndarray:
    """Derivative of activation ``name`` at ``z``, given its output ``a = f(z)``."""
    if name == "tanh":
        return 1.0 - a**2
    if name == "sigmoid":
        return a * (1.0 - a)
    if name == "relu":
        return (z > 0.0).astype(np.float64)
    return np.ones_like(z)  # identity / linear


def _as_2d(X: Any, name: str, n_columns: int | None = None) -> np.ndarray:
    """``X`` as a finite 2-D float64 array, optionally with ``n_columns`` columns."""
    arr = np.asarray(X, dtype=np.float64)
    if arr.ndim != 2 or arr.shape[0] < 1 or arr.shape[1] < 1:
        raise ValueError(
            f"{name} must be a non-empty 2-D array, got shape {arr.shape}."
        )
    if not np.all(np.isfinite(arr)):
        raise ValueError(f"{name} contains NaN or infinite values.")
    if n_columns is not None and arr.shape[1] != n_columns:
        raise ValueError(
            f"{name} has {arr.shape[1]} columns, but this autoencoder expects "
            f"{n_columns}."
        )
    return arr


class _SGD:
    """Gradient descent with (optional) heavy-ball momentum."""

    def __init__(self, learning_rate: float, momentum: float) -> None:
        self.learning_rate = learning_rate
        self.momentum = momentum
        self.velocity: dict[str, np.ndarray] = {}

    def step(self, params: dict[str, np.ndarray], grads: dict[str, np.ndarray]) -> None:
        for key, grad in grads.items():
            vel = self.velocity.get(key, np.zeros_like(grad))
            vel = self.momentum * vel - self.learning_rate * grad
            self.velocity[key] = vel
            params[key[1:]] += vel  # "dW1" updates "W1"


class _Adam:
    """Adam (Kingma & Ba, 2015) with bias-corrected moment estimates."""

    def __init__(
        self, learning_rate: float, beta1: float = 0.9, beta2: float = 0.999
    ) -> None:
        self.learning_rate = learning_rate
        self.beta1, self.beta2, self.eps = beta1, beta2, 1e-8
        self.m: dict[str, np.ndarray] = {}
        self.v: dict[str, np.ndarray] = {}
        self.t = 0

    def step(self, params: dict[str, np.ndarray], grads: dict[str, np.ndarray]) -> None:
        self.t += 1
        for key, grad in grads.items():
            m = self.beta1 * self.m.get(key, 0.0) + (1.0 - self.beta1) * grad
            s = self.beta2 * self.v.get(key, 0.0) + (1.0 - self.beta2) * grad**2
            self.m[key], self.v[key] = m, s
            m_hat = m / (1.0 - self.beta1**self.t)
            s_hat = s / (1.0 - self.beta2**self.t)
            params[key[1:]] -= self.learning_rate * m_hat / (np.sqrt(s_hat) + self.eps)


class ScratchAutoencoder:
    """One hidden layer autoencoder in NumPy with hand-written backpropagation.

    Trained by full-batch or mini-batch gradient descent (plain/momentum SGD or
    Adam) on the mean squared reconstruction error over all elements. See the
    module docstring for the model and for why the output must be linear on
    standardised data.

    Parameters
    ----------
    n_hidden : int, default=10
        Number of hidden units (the code size).
    activation : {"tanh", "sigmoid", "relu", "identity"}, default="tanh"
        Hidden-layer activation.
    output : {"auto", "linear", "sigmoid"}, default="auto"
        Output activation. ``"auto"`` picks ``"sigmoid"`` when the training data
        lie within [0, 1] and ``"linear"`` otherwise. ``"sigmoid"`` on data outside
        [0, 1] is refused by ``fit``.
    learning_rate : float, default=0.01
        Step size (> 0).
    n_epochs : int, default=500
        Number of passes over the training data.
    batch_size : int or None, default=None
        Mini-batch size; ``None`` means full-batch gradient descent.
    optimizer : {"adam", "sgd"}, default="adam"
        Hand-written Adam, or gradient descent with ``momentum``.
    momentum : float, default=0.9
        Heavy-ball momentum in [0, 1) for ``optimizer="sgd"``; 0 is plain SGD.
    use_bias : bool, default=True
        Whether ``b1`` and ``b2`` are trained. With ``False`` they stay at zero,
        as in the naive textbook model.
    random_state : int, numpy Generator or None, default=None
        Seed of ``np.random.default_rng`` for the initial weights and shuffling.
    verbose : bool or int, default=False
        ``True`` prints ``epoch N: loss L`` after every epoch; an int ``k`` prints
        every ``k``-th epoch and the last one.

    Attributes
    ----------
    weights_ : dict of str to ndarray
        ``W1`` (n_features, n_hidden), ``b1`` (n_hidden,), ``W2`` (n_hidden,
        n_features) and ``b2`` (n_features,), float64.
    output_ : {"linear", "sigmoid"}
        The output activation in use (``output`` with ``"auto"`` resolved).
    n_features_in_ : int
        Number of features seen in ``fit``.
    loss_history_ : list of float
        MSE on the whole training set after each epoch.

    Examples
    --------
    >>> import numpy as np
    >>> from aekit.scratch import ScratchAutoencoder
    >>> rng = np.random.default_rng(0)
    >>> X = rng.standard_normal((200, 3)) @ rng.standard_normal((3, 8))
    >>> ae = ScratchAutoencoder(n_hidden=3, activation="identity", n_epochs=300,
    ...                         random_state=0).fit(X)
    >>> ae.output_
    'linear'
    >>> ae.transform(X).shape
    (200, 3)
    >>> bool(ae.loss_history_[-1] < 0.01 * ae.loss_history_[0])
    True
    """

    def __init__(
        self,
        n_hidden: int = 10,
        *,
        activation: str = "tanh",
        output: str = "auto",
        learning_rate: float = 0.01,
        n_epochs: int = 500,
        batch_size: int | None = None,
        optimizer: str = "adam",
        momentum: float = 0.9,
        use_bias: bool = True,
        random_state: int | np.random.Generator | None = None,
        verbose: bool | int = False,
    ) -> None:
        self.n_hidden = n_hidden
        self.activation = activation
        self.output = output
        self.learning_rate = learning_rate
        self.n_epochs = n_epochs
        self.batch_size = batch_size
        self.optimizer = optimizer
        self.momentum = momentum
        self.use_bias = use_bias
        self.random_state = random_state
        self.verbose = verbose

    # ------------------------------------------------------------------ checks
    def _check_params(self) -> None:
        v.check_int("n_hidden", self.n_hidden)
        v.check_choice("activation", self.activation, ACTIVATIONS)
        v.check_choice("output", self.output, OUTPUTS)
        v.check_float("learning_rate", self.learning_rate, low_open=True)
        v.check_int("n_epochs", self.n_epochs)
        if self.batch_size is not None:
            v.check_int("batch_size", self.batch_size)
        v.check_choice("optimizer", self.optimizer, SCRATCH_OPTIMIZERS)
        v.check_float("momentum", self.momentum, high=1.0)
        v.check_bool("use_bias", self.use_bias)
        if not isinstance(self.verbose, bool):
            v.check_int("verbose", self.verbose, low=0)
        seed = self.random_state
        if not (
            seed is None or isinstance(seed, numbers.Integral | np.random.Generator)
        ):
            raise TypeError(
                f"random_state must be None, an int or a numpy Generator, "
                f"got {seed!r} ({type(seed).__name__})."
            )

    def _resolve_output(self, X: np.ndarray) -> str:
        in_unit_range = bool(X.min() >= 0.0 and X.max() <= 1.0)
        if self.output == "auto":
            return "sigmoid" if in_unit_range else "linear"
        if self.output == "sigmoid" and not in_unit_range:
            raise ValueError(
                f"output='sigmoid' needs training data within [0, 1], got values "
                f"in [{X.min():.4g}, {X.max():.4g}]; a sigmoid cannot produce values "
                f"outside (0, 1). Use output='linear' (or 'auto'), or rescale X."
            )
        return str(self.output)

    def _check_fitted(self) -> None:
        if not hasattr(self, "weights_"):
            raise NotFittedError(
                "This ScratchAutoencoder is not fitted yet: call fit(X) or "
                "set_weights(weights) first."
            )

    # ------------------------------------------------------------ the network
    def _init_weights(
        self, n_features: int, rng: np.random.Generator
    ) -> dict[str, np.ndarray]:
        """Glorot/Xavier uniform init (He normal for relu); zero biases."""
        h = self.n_hidden

        def draw(fan_in: int, fan_out: int) -> np.ndarray:
            if self.activation == "relu":
                return rng.normal(0.0, np.sqrt(2.0 / fan_in), size=(fan_in, fan_out))
            limit = np.sqrt(6.0 / (fan_in + fan_out))
            return rng.uniform(-limit, limit, size=(fan_in, fan_out))

        return {
            "W1": draw(n_features, h),
            "b1": np.zeros(h),
            "W2": draw(h, n_features),
            "b2": np.zeros(n_features),
        }

    def _forward(
        self, X: np.ndarray, w: dict[str, np.ndarray], out: str
    ) -> dict[str, Any]:
        Z1 = X @ w["W1"] + w["b1"]
        H = _activate(self.activation, Z1)
        Z2 = H @ w["W2"] + w["b2"]
        Y = _activate(out, Z2)
        return {"X": X, "Z1": Z1, "H": H, "Z2": Z2, "Y": Y}

    def _backward(
        self, cache: dict[str, Any], w: dict[str, np.ndarray], out: str
    ) -> dict[str, np.ndarray]:
        """Chain rule for ``L = mean((Y - X) ** 2)``, from the output back."""
        X, H, Y = cache["X"], cache["H"], cache["Y"]
        dY = 2.0 * (Y - X) / X.size  # dL/dY
        dZ2 = dY * _derivative(out, cache["Z2"], Y)
        dH = dZ2 @ w["W2"].T
        dZ1 = dH * _derivative(self.activation, cache["Z1"], H)
        grads = {"dW1": X.T @ dZ1, "db1": dZ1.sum(axis=0)}
        grads |= {"dW2": H.T @ dZ2, "db2": dZ2.sum(axis=0)}
        if not self.use_bias:
            del grads["db1"], grads["db2"]  # biases are not parameters then
        return grads

    def forward(self, X: Any) -> dict[str, np.ndarray]:
        """Run the network and keep every intermediate result.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)

        Returns
        -------
        cache : dict of str to ndarray
            ``X`` (as float64), ``Z1 = X W1 + b1``, ``H = f(Z1)``,
            ``Z2 = H W2 + b2`` and the reconstruction ``Y = g(Z2)``.
        """
        self._check_fitted()
        X = _as_2d(X, "X", self.n_features_in_)
        return self._forward(X, self.weights_, self.output_)

    def loss(self, X: Any) -> float:
        """Mean squared reconstruction error over all elements of ``X``.

        That is ``sum((Y - X) ** 2) / (n_samples * n_features)``.
        """
        cache = self.forward(X)
        return float(np.mean((cache["Y"] - cache["X"]) ** 2))

    def gradients(self, X: Any) -> dict[str, np.ndarray]:
        """Gradients of :meth:`loss` by hand-written backpropagation.

        Returns
        -------
        grads : dict of str to ndarray
            ``dW1``, ``db1``, ``dW2`` and ``db2``, each with the shape of its
            weight. With ``use_bias=False`` only ``dW1`` and ``dW2``.
        """
        return self._backward(self.forward(X), self.weights_, self.output_)

    # -------------------------------------------------------------- training
    def _run_epoch(
        self,
        X: np.ndarray,
        w: dict[str, np.ndarray],
        out: str,
        step: _SGD | _Adam,
        rng: np.random.Generator,
    ) -> None:
        n = X.shape[0]
        size = n if self.batch_size is None else min(self.batch_size, n)
        order = np.arange(n) if size == n else rng.permutation(n)
        for start in range(0, n, size):
            batch = X[order[start : start + size]]
            step.step(w, self._backward(self._forward(batch, w, out), w, out))

    def fit(self, X: Any, y: None = None) -> ScratchAutoencoder:
        """Train on ``X`` by gradient descent on the reconstruction MSE.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
        y : ignored

        Returns
        -------
        self : ScratchAutoencoder
        """
        self._check_params()
        X = _as_2d(X, "X")
        rng = np.random.default_rng(self.random_state)
        out = self._resolve_output(X)
        w = self._init_weights(X.shape[1], rng)
        step: _SGD | _Adam
        if self.optimizer == "adam":
            step = _Adam(float(self.learning_rate))
        else:
            step = _SGD(float(self.learning_rate), float(self.momentum))
        history: list[float] = []
        every = int(self.verbose)
        for epoch in range(1, self.n_epochs + 1):
            self._run_epoch(X, w, out, step, rng)
            history.append(float(np.mean((self._forward(X, w, out)["Y"] - X) ** 2)))
            if not np.isfinite(history[-1]):
                raise TrainingError(
                    f"the loss became {history[-1]} at epoch {epoch}; lower "
                    f"learning_rate (now {self.learning_rate})."
                )
            if every and (epoch % every == 0 or epoch == self.n_epochs):
                print(f"epoch {epoch}: loss {history[-1]:.6f}")
        # Set fitted attributes only now: a failed fit leaves the estimator as it was.
        self.weights_, self.output_, self.n_features_in_ = w, out, X.shape[1]
        self.loss_history_ = history
        return self

    # ------------------------------------------------------------- inference
    def transform(self, X: Any) -> np.ndarray:
        """Hidden codes ``H = f(X W1 + b1)``, shape (n_samples, n_hidden)."""
        return self.forward(X)["H"]

    def inverse_transform(self, H: Any) -> np.ndarray:
        """Decode hidden codes: ``g(H W2 + b2)``, shape (n_samples, n_features)."""
        self._check_fitted()
        H = _as_2d(H, "H", self.weights_["W2"].shape[0])
        return _activate(self.output_, H @ self.weights_["W2"] + self.weights_["b2"])

    def reconstruct(self, X: Any) -> np.ndarray:
        """Reconstruction ``g(f(X W1 + b1) W2 + b2)`` of ``X``."""
        return self.forward(X)["Y"]

    def reconstruction_error(self, X: Any) -> np.ndarray:
        """Per-sample MSE (mean over features), shape (n_samples,)."""
        cache = self.forward(X)
        return np.mean((cache["Y"] - cache["X"]) ** 2, axis=1)

    # ---------------------------------------------------------------- weights
    def get_weights(self) -> dict[str, np.ndarray]:
        """Copies of ``W1`` (d, h), ``b1`` (h,), ``W2`` (h, d) and ``b2`` (d,)."""
        self._check_fitted()
        return {name: self.weights_[name].copy() for name in WEIGHT_NAMES}

    def set_weights(self, weights: dict[str, Any]) -> ScratchAutoencoder:
        """Load weights (copied, as float64), e.g. to compare with another engine.

        ``weights`` needs the keys ``W1``, ``b1``, ``W2``, ``b2`` with consistent
        shapes and ``W1.shape[1] == n_hidden``. An unfitted estimator needs an
        explicit ``output`` ("linear" or "sigmoid"), since "auto" is resolved from
        training data. ``loss_history_`` is left as it is.
        """
        self._check_params()
        if set(weights) != set(WEIGHT_NAMES):
            raise ValueError(
                f"weights must have exactly the keys {WEIGHT_NAMES}, "
                f"got {sorted(weights)}."
            )
        w = {k: np.array(weights[k], dtype=np.float64) for k in WEIGHT_NAMES}
        d, h = w["W1"].shape if w["W1"].ndim == 2 else (-1, -1)
        expected = {"W1": (d, h), "b1": (h,), "W2": (h, d), "b2": (d,)}
        if h != self.n_hidden or any(w[k].shape != expected[k] for k in w):
            shapes = {k: w[k].shape for k in WEIGHT_NAMES}
            raise ValueError(
                f"weights must have shapes W1 (d, {self.n_hidden}), b1 "
                f"({self.n_hidden},), W2 ({self.n_hidden}, d), b2 (d,); got {shapes}."
            )
        if not self.use_bias and (w["b1"].any() or w["b2"].any()):
            raise ValueError("use_bias=False needs b1 and b2 to be all zeros.")
        if self.output != "auto":
            self.output_ = str(self.output)
        elif not hasattr(self, "output_"):
            raise ValueError(
                "output='auto' is resolved from training data; to set_weights on an "
                "unfitted autoencoder, pass output='linear' or output='sigmoid'."
            )
        self.weights_, self.n_features_in_ = w, d
        return self
