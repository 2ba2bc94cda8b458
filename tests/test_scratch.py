"""Tests of the from-scratch NumPy autoencoder in aekit.scratch."""

import doctest
import re

import numpy as np
import pytest
import torch
from sklearn.datasets import load_digits
from sklearn.decomposition import PCA
from sklearn.exceptions import NotFittedError

import aekit.scratch
from aekit.exceptions import TrainingError
from aekit.scratch import ACTIVATIONS, ScratchAutoencoder

NAMES = ("W1", "b1", "W2", "b2")


def random_weights(rng, d, h, bias=True):
    """Random weights with non-zero biases, so every gradient term is exercised."""
    scale = 1.0 if bias else 0.0
    return {
        "W1": rng.normal(0.0, 0.7, (d, h)),
        "b1": scale * rng.normal(0.0, 0.5, h),
        "W2": rng.normal(0.0, 0.7, (h, d)),
        "b2": scale * rng.normal(0.0, 0.5, d),
    }


def tiny_model(activation, output, seed=0, use_bias=True):
    """A 7 x 5 problem with 3 hidden units and random weights loaded."""
    rng = np.random.default_rng(seed)
    X = rng.uniform(0.0, 1.0, (7, 5))
    ae = ScratchAutoencoder(3, activation=activation, output=output, use_bias=use_bias)
    return ae.set_weights(random_weights(rng, 5, 3, use_bias)), X


def relative_error(a, b):
    return np.linalg.norm(a - b) / max(np.linalg.norm(a), np.linalg.norm(b), 1e-300)


def pca_mse(X, k):
    pca = PCA(n_components=k).fit(X)
    return float(np.mean((pca.inverse_transform(pca.transform(X)) - X) ** 2))


@pytest.fixture(scope="module")
def gaussian():
    return np.random.default_rng(0).standard_normal((1000, 20))


# ----------------------------------------------------------------- gradients
@pytest.mark.parametrize("output", ["linear", "sigmoid"])
@pytest.mark.parametrize("activation", ACTIVATIONS)
def test_gradients_match_central_differences(activation, output):
    ae, X = tiny_model(activation, output)
    grads = ae.gradients(X)
    assert set(grads) == {"d" + name for name in NAMES}
    eps = 1e-6
    for name in NAMES:
        w = ae.get_weights()
        numeric = np.zeros_like(w[name])
        for idx in np.ndindex(w[name].shape):
            original = w[name][idx]
            w[name][idx] = original + eps
            up = ae.set_weights(w).loss(X)
            w[name][idx] = original - eps
            down = ae.set_weights(w).loss(X)
            w[name][idx] = original
            numeric[idx] = (up - down) / (2 * eps)
        ae.set_weights(w)
        assert grads["d" + name].shape == w[name].shape
        assert grads["d" + name].dtype == np.float64
        assert relative_error(grads["d" + name], numeric) < 1e-6, name


def torch_gradients(ae, X):
    """The same network and MSE in torch float64, differentiated by autograd."""
    params = {
        k: torch.tensor(w, dtype=torch.float64, requires_grad=True)
        for k, w in ae.get_weights().items()
    }
    hidden = {
        "tanh": torch.tanh,
        "sigmoid": torch.sigmoid,
        "relu": torch.relu,
        "identity": lambda z: z,
    }[ae.activation]
    out = torch.sigmoid if ae.output_ == "sigmoid" else (lambda z: z)
    x = torch.tensor(X, dtype=torch.float64)
    h = hidden(x @ params["W1"] + params["b1"])
    y = out(h @ params["W2"] + params["b2"])
    torch.nn.functional.mse_loss(y, x).backward()
    return {"d" + k: p.grad.numpy() for k, p in params.items()}


@pytest.mark.parametrize("output", ["linear", "sigmoid"])
@pytest.mark.parametrize("activation", ACTIVATIONS)
def test_gradients_match_torch_autograd(activation, output):
    ae, X = tiny_model(activation, output, seed=1)
    ours, theirs = ae.gradients(X), torch_gradients(ae, X)
    assert set(ours) == set(theirs)
    for key in ours:
        assert relative_error(ours[key], theirs[key]) < 1e-6, key
    expected_loss = float(np.mean((ae.reconstruct(X) - X) ** 2))
    assert ae.loss(X) == pytest.approx(expected_loss, rel=1e-12)


def test_no_bias_gradients_match_torch_and_omit_biases():
    ae, X = tiny_model("sigmoid", "sigmoid", seed=2, use_bias=False)
    ours, theirs = ae.gradients(X), torch_gradients(ae, X)
    assert set(ours) == {"dW1", "dW2"}
    for key in ours:
        assert relative_error(ours[key], theirs[key]) < 1e-6, key


# ---------------------------------------------------------------- vs PCA
@pytest.mark.parametrize("activation", ["identity", "tanh"])
def test_matches_pca_on_standardised_data(gaussian, activation):
    ae = ScratchAutoencoder(
        10, activation=activation, learning_rate=0.01, n_epochs=1000, random_state=0
    ).fit(gaussian)
    assert ae.output_ == "linear"
    mse, reference = ae.loss(gaussian), pca_mse(gaussian, 10)
    assert mse < 1.05 * reference, (mse, reference)
    # An autoencoder cannot beat PCA by more than rounding: PCA is optimal.
    assert mse > reference * (1 - 1e-9)


def fit_naive_textbook(X, n_hidden, n_epochs, lr=0.01, seed=0):
    """The naive textbook model: sigmoid hidden and output layers, no biases,
    trained with the same Adam steps and budget as ``ScratchAutoencoder``.

    ``fit`` refuses a sigmoid output on data outside [0, 1], so this loop drives the
    same (checked) ``gradients`` through ``get_weights``/``set_weights`` instead.
    """
    rng = np.random.default_rng(seed)
    d = X.shape[1]
    limit = np.sqrt(6.0 / (d + n_hidden))  # Glorot, as in ScratchAutoencoder
    ae = ScratchAutoencoder(
        n_hidden, activation="sigmoid", output="sigmoid", use_bias=False
    )
    ae.set_weights(
        {
            "W1": rng.uniform(-limit, limit, (d, n_hidden)),
            "b1": np.zeros(n_hidden),
            "W2": rng.uniform(-limit, limit, (n_hidden, d)),
            "b2": np.zeros(d),
        }
    )
    m, s = {}, {}
    for t in range(1, n_epochs + 1):
        w = ae.get_weights()
        for key, g in ae.gradients(X).items():
            m[key] = 0.9 * m.get(key, 0.0) + 0.1 * g
            s[key] = 0.999 * s.get(key, 0.0) + 0.001 * g**2
            m_hat, s_hat = m[key] / (1 - 0.9**t), s[key] / (1 - 0.999**t)
            w[key[1:]] -= lr * m_hat / (np.sqrt(s_hat) + 1e-8)
        ae.set_weights(w)
    return ae


def test_naive_textbook_model_cannot_match_pca(gaussian):
    naive = fit_naive_textbook(gaussian, n_hidden=10, n_epochs=1000)
    mse, reference = naive.loss(gaussian), pca_mse(gaussian, 10)
    # No sigmoid output can do better than clip(x, 0, 1) on standard normal data.
    floor = float(np.mean((np.clip(gaussian, 0.0, 1.0) - gaussian) ** 2))
    assert mse >= floor
    assert mse > 1.5 * reference, (mse, reference)
    with pytest.raises(ValueError, match="output='sigmoid'"):
        ScratchAutoencoder(10, output="sigmoid").fit(gaussian)


# ------------------------------------------------------------------ training
def test_loss_decreases_and_history_is_python_floats(gaussian):
    ae = ScratchAutoencoder(5, n_epochs=50, random_state=0).fit(gaussian[:200])
    assert len(ae.loss_history_) == 50
    assert all(type(value) is float for value in ae.loss_history_)
    assert ae.loss_history_[-1] < 0.8 * ae.loss_history_[0]
    assert ae.loss_history_[-1] == pytest.approx(ae.loss(gaussian[:200]))


@pytest.mark.parametrize("batch_size", [None, 32])
def test_momentum_sgd_and_mini_batches_decrease_loss(gaussian, batch_size):
    ae = ScratchAutoencoder(
        5,
        optimizer="sgd",
        learning_rate=0.05,
        momentum=0.9,
        batch_size=batch_size,
        n_epochs=30,
        random_state=0,
    ).fit(gaussian[:300])
    assert ae.loss_history_[-1] < 0.8 * ae.loss_history_[0]


@pytest.mark.parametrize(
    ("verbose", "epochs"), [(True, [1, 2, 3, 4, 5]), (2, [2, 4, 5])]
)
def test_verbose_prints_epoch_and_loss(gaussian, capsys, verbose, epochs):
    ae = ScratchAutoencoder(4, n_epochs=5, verbose=verbose, random_state=0)
    ae.fit(gaussian[:50])
    lines = capsys.readouterr().out.splitlines()
    pattern = re.compile(r"epoch (\d+): loss (\d+\.\d{6})")
    matches = [pattern.fullmatch(line) for line in lines]
    assert all(matches), lines
    assert [int(m.group(1)) for m in matches] == epochs
    for m in matches:
        expected = ae.loss_history_[int(m.group(1)) - 1]
        assert float(m.group(2)) == pytest.approx(expected, abs=5e-7)


def test_silent_by_default(gaussian, capsys):
    ScratchAutoencoder(4, n_epochs=3, random_state=0).fit(gaussian[:50])
    assert capsys.readouterr().out == ""


def test_mini_batches_are_shuffled_with_the_estimator_generator(gaussian):
    # A Generator passed as random_state is used (and advanced) by fit: full-batch
    # training draws only the initial weights, mini-batch training also draws one
    # permutation per epoch.
    full, mini = np.random.default_rng(7), np.random.default_rng(7)
    ScratchAutoencoder(4, n_epochs=3, random_state=full).fit(gaussian[:64])
    ScratchAutoencoder(4, n_epochs=3, batch_size=16, random_state=mini).fit(
        gaussian[:64]
    )
    reference = np.random.default_rng(7)
    reference.uniform(size=20 * 4 + 4 * 20)  # Glorot draws of W1 and W2
    assert full.random() == reference.random()
    for _ in range(3):
        reference.permutation(64)
    assert mini.random() == reference.random()


def test_same_seed_same_model(gaussian):
    kwargs = dict(n_epochs=5, batch_size=16, random_state=3)
    a = ScratchAutoencoder(4, **kwargs).fit(gaussian[:100])
    b = ScratchAutoencoder(4, **kwargs).fit(gaussian[:100])
    for name in NAMES:
        np.testing.assert_array_equal(a.get_weights()[name], b.get_weights()[name])


# ----------------------------------------------------------- initialisation
@pytest.mark.parametrize("activation", ACTIVATIONS)
def test_initialisation(activation):
    X = np.random.default_rng(0).standard_normal((10, 400))
    # One negligible step, so the weights stay at their initial values.
    ae = ScratchAutoencoder(
        300, activation=activation, learning_rate=1e-12, n_epochs=1, random_state=0
    )
    w = ae.fit(X).get_weights()
    assert {k: w[k].shape for k in NAMES} == {
        "W1": (400, 300),
        "b1": (300,),
        "W2": (300, 400),
        "b2": (400,),
    }
    assert all(w[k].dtype == np.float64 for k in NAMES)
    np.testing.assert_allclose(w["b1"], 0.0, atol=1e-9)
    np.testing.assert_allclose(w["b2"], 0.0, atol=1e-9)
    if activation == "relu":  # He: N(0, 2 / fan_in)
        assert np.std(w["W1"]) == pytest.approx(np.sqrt(2 / 400), rel=0.02)
        assert np.std(w["W2"]) == pytest.approx(np.sqrt(2 / 300), rel=0.02)
    else:  # Glorot uniform: U(-a, a), a = sqrt(6 / (fan_in + fan_out))
        limit = np.sqrt(6 / 700)
        assert np.abs(w["W1"]).max() <= limit + 1e-9
        assert np.std(w["W1"]) == pytest.approx(limit / np.sqrt(3), rel=0.02)


# ------------------------------------------------------- parameter checking
@pytest.mark.parametrize(
    ("param", "value", "error"),
    [
        ("n_hidden", 0, ValueError),
        ("n_hidden", 2.5, TypeError),
        ("activation", "softplus", ValueError),
        ("output", "softmax", ValueError),
        ("learning_rate", 0.0, ValueError),
        ("learning_rate", "fast", TypeError),
        ("n_epochs", -1, ValueError),
        ("batch_size", 0, ValueError),
        ("optimizer", "rmsprop", ValueError),
        ("momentum", 1.0, ValueError),
        ("use_bias", "yes", TypeError),
        ("random_state", "seed", TypeError),
        ("verbose", -1, ValueError),
    ],
)
def test_bad_parameters_raise_naming_the_parameter(param, value, error):
    X = np.random.default_rng(0).standard_normal((20, 4))
    ae = ScratchAutoencoder(2, n_epochs=2)
    setattr(ae, param, value)
    with pytest.raises(error, match=param) as info:
        ae.fit(X)
    assert repr(value) in str(info.value) or str(value) in str(info.value)
    assert not hasattr(ae, "weights_")


def test_bad_parameter_message_lists_allowed_values():
    with pytest.raises(ValueError, match="'tanh', 'sigmoid', 'relu', 'identity'"):
        ScratchAutoencoder(activation="softplus").fit(np.zeros((3, 2)))


def test_sigmoid_output_outside_unit_interval_raises():
    X = np.random.default_rng(0).uniform(0.0, 1.0, (30, 4))
    X[3, 2] = 1.5
    ae = ScratchAutoencoder(2, output="sigmoid", n_epochs=2)
    with pytest.raises(ValueError, match=r"output='sigmoid'.*\[0, 1\]"):
        ae.fit(X)
    assert not hasattr(ae, "weights_")
    X[3, 2] = -0.1
    with pytest.raises(ValueError, match="output='sigmoid'"):
        ae.fit(X)


@pytest.mark.parametrize(
    "X", [np.zeros(5), np.zeros((0, 3)), np.array([[1.0, np.nan]])], ids=str
)
def test_bad_input_raises(X):
    with pytest.raises(ValueError, match="X"):
        ScratchAutoencoder(2).fit(X)


def test_divergence_raises_training_error_and_keeps_previous_fit(gaussian):
    ae = ScratchAutoencoder(4, n_epochs=3, random_state=0).fit(gaussian[:50])
    before = ae.get_weights()
    ae.optimizer, ae.learning_rate, ae.n_epochs = "sgd", 1e6, 50
    with np.errstate(all="ignore"), pytest.raises(TrainingError, match="learning_rate"):
        ae.fit(gaussian[:50])
    np.testing.assert_array_equal(ae.get_weights()["W1"], before["W1"])


def test_unfitted_and_wrong_width_inputs():
    ae = ScratchAutoencoder(2)
    with pytest.raises(NotFittedError):
        ae.transform(np.zeros((3, 4)))
    ae.fit(np.random.default_rng(0).standard_normal((20, 4)))
    with pytest.raises(ValueError, match="3 columns"):
        ae.transform(np.zeros((2, 3)))
    with pytest.raises(ValueError, match="H has 3 columns"):
        ae.inverse_transform(np.zeros((2, 3)))


# --------------------------------------------------------- output="auto"
def test_auto_output_picks_sigmoid_on_unit_interval_data():
    X = load_digits().data[:300] / 16.0
    assert X.min() >= 0.0 and X.max() <= 1.0
    ae = ScratchAutoencoder(16, n_epochs=20, random_state=0).fit(X)
    assert ae.output_ == "sigmoid"
    Y = ae.reconstruct(X)
    assert np.all((Y > 0.0) & (Y < 1.0))
    assert ae.loss_history_[-1] < ae.loss_history_[0]


def test_auto_output_picks_linear_outside_unit_interval():
    X = load_digits().data[:100] / 16.0 - 0.5
    assert ScratchAutoencoder(4, n_epochs=2).fit(X).output_ == "linear"


# ---------------------------------------------------- API and weights I/O
def test_transform_inverse_transform_reconstruct_are_consistent(gaussian):
    X = gaussian[:100]
    ae = ScratchAutoencoder(6, n_epochs=20, random_state=0).fit(X)
    H = ae.transform(X)
    assert H.shape == (100, 6)
    np.testing.assert_allclose(ae.inverse_transform(H), ae.reconstruct(X))
    errors = ae.reconstruction_error(X)
    assert errors.shape == (100,)
    np.testing.assert_allclose(errors, np.mean((ae.reconstruct(X) - X) ** 2, axis=1))
    assert errors.mean() == pytest.approx(ae.loss(X))
    cache = ae.forward(X)
    assert set(cache) == {"X", "Z1", "H", "Z2", "Y"}
    np.testing.assert_allclose(cache["H"], H)


def test_set_weights_round_trip_and_checks(gaussian):
    X = gaussian[:50]
    a = ScratchAutoencoder(4, n_epochs=10, random_state=0).fit(X)
    b = ScratchAutoencoder(4, output="linear").set_weights(a.get_weights())
    np.testing.assert_array_equal(b.reconstruct(X), a.reconstruct(X))
    a.get_weights()["W1"][:] = 0.0  # a copy: the model is untouched
    assert np.any(a.get_weights()["W1"] != 0.0)
    w = a.get_weights()
    with pytest.raises(ValueError, match="output='auto'"):
        ScratchAutoencoder(4).set_weights(w)
    with pytest.raises(ValueError, match="shapes"):
        ScratchAutoencoder(5, output="linear").set_weights(w)
    with pytest.raises(ValueError, match="keys"):
        ScratchAutoencoder(4, output="linear").set_weights({"W1": w["W1"]})
    with pytest.raises(ValueError, match="use_bias=False"):
        w["b1"][0] = 1.0
        ScratchAutoencoder(4, output="linear", use_bias=False).set_weights(w)


def test_docstring_example_runs():
    result = doctest.testmod(aekit.scratch, optionflags=doctest.ELLIPSIS)
    assert result.attempted > 0
    assert result.failed == 0
