"""Model folders: exact round trips, atomic writes, and clear errors for missing,
truncated, tampered or incompatible files. Nothing is ever unpickled."""

import json
import os
import pickle
import stat
import subprocess

import numpy as np
import pytest

import aekit
from aekit import persistence
from aekit.exceptions import ModelFileError

X = np.random.default_rng(0).normal(size=(80, 5))


@pytest.fixture(scope="module")
def model():
    return aekit.Autoencoder(
        (8,),
        2,
        batch_norm=True,
        scaling="minmax",
        pca_path=False,
        max_epochs=3,
        random_state=0,
    ).fit(X)


@pytest.fixture
def folder(model, tmp_path):
    path = tmp_path / "model"
    model.save(path)
    return path


def test_round_trip_is_exact(model, folder):
    loaded = aekit.load(folder)
    for method in ("transform", "reconstruct", "reconstruction_error"):
        np.testing.assert_array_equal(
            getattr(loaded, method)(X), getattr(model, method)(X)
        )
    np.testing.assert_array_equal(loaded.input_scale_, model.input_scale_)
    assert loaded.best_epoch_ == model.best_epoch_
    assert loaded.output_activation_ == "sigmoid"


def test_config_is_plain_json(folder):
    config = json.loads((folder / "config.json").read_text())
    assert config["estimator"] == "autoencoder"
    assert config["format_version"] == persistence.FORMAT_VERSION
    assert config["params"]["latent_dim"] == 2
    assert {"aekit", "torch"} <= set(config["versions"])
    assert not (folder / "model.safetensors").read_bytes().startswith(b"\x80")


def test_saving_over_an_existing_model_replaces_it(model, folder):
    other = aekit.Autoencoder((4,), 3, max_epochs=1, random_state=1).fit(X)
    other.save(folder)
    assert aekit.load(folder).latent_dim == 3
    assert sorted(p.name for p in folder.parent.iterdir()) == ["model"]


def test_failed_save_leaves_the_old_model(model, folder, monkeypatch):
    def broken(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(persistence, "save_file", broken)
    with pytest.raises(
        ModelFileError, match=r"saving the model to .*model failed.*disk"
    ):
        model.save(folder)
    aekit.load(folder)  # still complete and loadable
    assert sorted(p.name for p in folder.parent.iterdir()) == ["model"]


def test_missing_folder(tmp_path):
    with pytest.raises(ModelFileError, match="config.json not found"):
        aekit.load(tmp_path / "nothing")


def test_missing_weights(folder):
    (folder / "model.safetensors").unlink()
    with pytest.raises(ModelFileError, match="model.safetensors not found"):
        aekit.load(folder)


def test_truncated_weights(folder):
    weights = folder / "model.safetensors"
    weights.write_bytes(weights.read_bytes()[:100])
    with pytest.raises(ModelFileError, match="model.safetensors.*truncated"):
        aekit.load(folder)


def test_tampered_weights(folder):
    weights = folder / "model.safetensors"
    data = bytearray(weights.read_bytes())
    data[-1] ^= 0xFF
    weights.write_bytes(bytes(data))
    with pytest.raises(ModelFileError, match="checksum"):
        aekit.load(folder)


def test_invalid_json(folder):
    (folder / "config.json").write_text("{not json")
    with pytest.raises(ModelFileError, match="config.json is not valid JSON"):
        aekit.load(folder)


def edit_config(folder, change):
    config = json.loads((folder / "config.json").read_text())
    change(config)
    (folder / "config.json").write_text(json.dumps(config))


def test_newer_format_version(folder):
    edit_config(folder, lambda c: c.update(format_version=99))
    with pytest.raises(ModelFileError, match="format_version 99.*upgrade aekit"):
        aekit.load(folder)


def test_unknown_estimator(folder):
    edit_config(folder, lambda c: c.update(estimator="os.system"))
    with pytest.raises(ModelFileError, match="unknown model 'os.system'"):
        aekit.load(folder)


def test_tampered_parameters(folder):
    edit_config(folder, lambda c: c["params"].update(latent_dim=-1))
    with pytest.raises(ModelFileError, match="latent_dim"):
        aekit.load(folder)


def test_shape_mismatch(folder):
    edit_config(folder, lambda c: c["params"].update(latent_dim=3))
    with pytest.raises(ModelFileError, match="invalid model"):
        aekit.load(folder)


def test_not_a_model_config(folder):
    (folder / "config.json").write_text(json.dumps({"hello": 1}))
    with pytest.raises(ModelFileError, match="not an aekit model config"):
        aekit.load(folder)


def test_unfitted_estimator_cannot_be_saved(tmp_path):
    from sklearn.exceptions import NotFittedError

    with pytest.raises(NotFittedError):
        aekit.Autoencoder().save(tmp_path / "m")


def test_pickle_still_works(model):
    clone = pickle.loads(pickle.dumps(model))
    np.testing.assert_array_equal(clone.transform(X), model.transform(X))


def test_arrays_in_lists_tuples_and_dicts_keep_their_own_keys():
    from aekit.persistence import _decode, _encode

    a, b, c = np.arange(3.0), np.ones(2), np.zeros(4)
    tensors: dict = {}
    encoded = _encode({"pair": (a, b), "list": [c]}, "x", tensors)
    assert len(tensors) == 3
    decoded = _decode(json.loads(json.dumps(encoded)), tensors, None)
    np.testing.assert_array_equal(decoded["pair"][0], a)
    np.testing.assert_array_equal(decoded["pair"][1], b)
    np.testing.assert_array_equal(decoded["list"][0], c)


@pytest.fixture(scope="module")
def detector():
    model = aekit.Autoencoder((8,), 2, max_epochs=2, random_state=0, device="cpu")
    return aekit.AnomalyDetector(model, contamination=0.1).fit(X)


def test_detector_is_saved_as_params_fitted_arrays_and_nested_model(detector, tmp_path):
    from safetensors.torch import load_file

    detector.save(tmp_path / "det")
    config = json.loads((tmp_path / "det" / "config.json").read_text())
    assert "weights_prefix" not in config  # the detector has no module of its own
    assert config["fitted"]["model_"]["__fitted__"]["weights_prefix"] == (
        "model_/module."
    )
    assert config["params"]["model"]["__estimator__"] == "autoencoder"
    keys = load_file(str(tmp_path / "det" / "model.safetensors")).keys()
    weights = [k for k in keys if "module." in k]
    assert weights and all(k.startswith("model_/module.") for k in weights)
    assert not hasattr(detector, "module_")


def test_version_1_detector_folder_still_loads(detector, tmp_path):
    """Version 1 wrote the nested model's weights a second time at the top level
    (``module.*``); they are ignored."""
    from safetensors.torch import load_file, save_file

    folder = tmp_path / "det"
    detector.save(folder)
    tensors = load_file(str(folder / "model.safetensors"))
    nested = "model_/module."
    for key in [k for k in tensors if k.startswith(nested)]:
        tensors["module." + key[len(nested) :]] = tensors[key].clone()
    save_file(tensors, str(folder / "model.safetensors"))
    sha = persistence._sha256(folder / "model.safetensors")
    edit_config(
        folder,
        lambda c: c.update(
            format_version=1, weights_prefix="module.", weights_sha256=sha
        ),
    )
    loaded = aekit.load(folder)
    np.testing.assert_array_equal(
        loaded.decision_function(X), detector.decision_function(X)
    )


def test_saved_folders_follow_the_umask(model, tmp_path):
    old = os.umask(0o022)
    try:
        model.save(tmp_path / "shared")
    finally:
        os.umask(old)
    folder = tmp_path / "shared"
    assert stat.S_IMODE(folder.stat().st_mode) == 0o755
    for name in ("config.json", "model.safetensors"):
        assert stat.S_IMODE((folder / name).stat().st_mode) == 0o644


def test_a_killed_save_is_cleaned_up_by_the_next(model, tmp_path):
    target = tmp_path / "m"
    child = subprocess.Popen(["true"])  # a process that has ended
    child.wait()
    stale = tmp_path / f".m.tmp-{child.pid}-abc123"
    stale.mkdir()
    (stale / "model.safetensors").write_bytes(b"half")
    live = tmp_path / f".m.tmp-{os.getpid()}-xyz789"  # a save in progress
    live.mkdir()
    model.save(target)
    assert not stale.exists() and live.exists()
    assert aekit.load(target).n_features_in_ == model.n_features_in_


def test_a_save_killed_mid_swap_is_recovered(model, tmp_path):
    target = tmp_path / "m"
    model.save(target)
    os.replace(target, tmp_path / ".m.old")  # killed between the two renames
    model.save(target)
    assert not (tmp_path / ".m.old").exists()
    assert aekit.load(target).n_features_in_ == model.n_features_in_
