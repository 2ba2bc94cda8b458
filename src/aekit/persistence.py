"""Save and load fitted estimators as a folder that never executes code on load.

A model folder holds ``config.json`` (estimator name, parameters, fitted metadata,
versions, and the SHA-256 of the weights) and ``model.safetensors`` (the module's
weights and fitted arrays such as scaler statistics). No pickle anywhere.
Writes go to a temporary folder that replaces the target only when complete.

What is saved of an estimator: its registered name, ``get_params(deep=False)``
(it is rebuilt by calling its class with them, then checked by
`aekit._validation.check_params`), its fitted attributes (the public instance
attributes ending in ``_``; fitted estimators among them, such as a detector's
``model_``, are saved the same way, nested) and, when it trains a torch module
(see `ModuleOwner`), the module's weights.

Format versions: 2 saves a module's weights only for estimators that have one
(version 1 also wrote an `AnomalyDetector`'s weights a second time, at the top
level); version 1 folders still load.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
from pathlib import Path
from typing import Any, Protocol, TypeGuard

import numpy as np
import torch
from safetensors.torch import load_file, save_file
from sklearn.base import BaseEstimator
from sklearn.exceptions import NotFittedError
from sklearn.utils.validation import check_is_fitted
from torch import nn

from aekit._validation import check_params
from aekit.exceptions import ModelFileError
from aekit.registry import get_estimator_class, name_of
from aekit.training import resolve_device
from aekit.training.distributed import is_main_process

FORMAT = "aekit"
FORMAT_VERSION = 2
# Parameters that shape a training run rather than the model (user callbacks are
# arbitrary objects): a saved model keeps them as None.
RUN_PARAMS = ("callbacks",)
CONFIG, WEIGHTS = "config.json", "model.safetensors"


class ModuleOwner(Protocol):
    """The hooks `save` and `load` use on an estimator that trains a torch module
    (every `aekit.estimators._base.TorchEstimator`).

    ``module_``, ``device_``
        The fitted module (its ``state_dict`` is saved) and where it is; `load`
        sets both.
    ``device``
        The parameter saying where `load` puts the module (unless `load` is
        given a device).
    ``_build_module()``
        A fresh module of the fitted architecture, built from the estimator's
        parameters and fitted attributes (restored before it is called); the
        saved weights are then loaded into it.
    """

    module_: nn.Module
    device_: str
    device: str

    def _build_module(self) -> nn.Module: ...


def owns_module(estimator: Any) -> TypeGuard[ModuleOwner]:
    """Whether ``estimator``'s class trains a torch module (see `ModuleOwner`)."""
    return callable(getattr(type(estimator), "_build_module", None))


def save(estimator: BaseEstimator, path: str | os.PathLike) -> None:
    """Write the fitted ``estimator`` to the folder ``path`` (created or replaced).

    Examples
    --------
    >>> import numpy as np, aekit, tempfile
    >>> X = np.random.default_rng(0).normal(size=(100, 5))
    >>> ae = aekit.Autoencoder((8,), 2, max_epochs=2, random_state=0).fit(X)
    >>> folder = tempfile.mkdtemp()
    >>> aekit.save(ae, folder)
    >>> np.allclose(aekit.load(folder).transform(X), ae.transform(X))
    True

    In distributed training (`aekit.training.distributed`) only rank 0 writes;
    on the other ranks ``save`` checks the estimator and returns, so every rank
    can run the same script.
    """
    check_is_fitted(estimator)
    if not is_main_process():
        return
    tensors: dict[str, torch.Tensor] = {}
    config = {"format": FORMAT, "format_version": FORMAT_VERSION}
    config.update(_dump(estimator, "", tensors))
    config["versions"] = {"aekit": _aekit_version(), "torch": torch.__version__}
    target = Path(path)
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        _clean_up_after_killed_saves(target)
        tmp = Path(tempfile.mkdtemp(prefix=_temp_prefix(target), dir=target.parent))
    except OSError as exc:
        raise ModelFileError(f"cannot save a model to {target}: {exc}") from exc
    try:
        tmp.chmod(0o777 & ~_umask())  # mkdtemp makes 0700; others may serve it
        save_file(tensors, str(tmp / WEIGHTS))
        config["weights_sha256"] = _sha256(tmp / WEIGHTS)
        (tmp / CONFIG).write_text(json.dumps(config, indent=2))
        for name in (WEIGHTS, CONFIG):
            (tmp / name).chmod(0o666 & ~_umask())
        _replace_dir(tmp, target)
    except Exception as exc:  # a full disk, permissions; safetensors' own errors
        if isinstance(exc, FileExistsError):
            raise
        raise ModelFileError(
            f"saving the model to {target} failed ({type(exc).__name__}: {exc}); "
            "anything already there is unchanged"
        ) from exc
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def load(path: str | os.PathLike, *, device: str | None = None) -> Any:
    """Read a model folder written by `save` and return the fitted estimator.

    ``device`` overrides where the module is put (default: the estimator's
    ``device`` parameter, so "auto" picks CUDA when available).
    """
    folder = Path(path)
    if not (folder / CONFIG).is_file():
        raise ModelFileError(f"no aekit model at {folder}: {CONFIG} not found")
    try:
        config = json.loads((folder / CONFIG).read_text())
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ModelFileError(f"{folder / CONFIG} is not valid JSON: {exc}") from None
    if not isinstance(config, dict) or config.get("format") != FORMAT:
        raise ModelFileError(f"{folder / CONFIG} is not an aekit model config")
    version = config.get("format_version")
    if not isinstance(version, int) or version > FORMAT_VERSION:
        raise ModelFileError(
            f"{folder / CONFIG} has format_version {version!r}; this aekit "
            f"({_aekit_version()}) reads versions up to {FORMAT_VERSION}: upgrade aekit"
        )
    weights = folder / WEIGHTS
    if not weights.is_file():
        raise ModelFileError(f"{weights} not found")
    if _sha256(weights) != config.get("weights_sha256"):
        raise ModelFileError(
            f"{weights} does not match the checksum in {CONFIG}: the file is "
            "truncated, corrupted or was modified"
        )
    try:
        tensors = load_file(str(weights), device="cpu")
    except Exception as exc:  # safetensors raises its own error types
        raise ModelFileError(f"{weights} could not be read: {exc}") from None
    try:
        return _restore(config, tensors, device)
    except (KeyError, TypeError, ValueError, RuntimeError) as exc:
        raise ModelFileError(f"{folder} holds an invalid model: {exc}") from None


# -- turning an estimator into (JSON, tensors) and back ---------------------------


def _dump(estimator: Any, prefix: str, tensors: dict[str, torch.Tensor]) -> dict:
    fitted: dict[str, Any] = {}
    for name, value in vars(estimator).items():
        if not name.endswith("_") or name.startswith("_") or name == "module_":
            continue
        fitted[name] = _encode(value, f"{prefix}{name}", tensors)
    params = _saved_params(estimator)
    config = {
        "estimator": name_of(type(estimator)),
        "params": {k: _encode(p, f"{prefix}{k}", tensors) for k, p in params.items()},
        "fitted": fitted,
    }
    if owns_module(estimator):
        for key, tensor in estimator.module_.state_dict().items():
            saved = tensor.detach().cpu().clone().contiguous()
            tensors[f"{prefix}module.{key}"] = saved
        config["weights_prefix"] = f"{prefix}module."
    return config


def _saved_params(estimator: BaseEstimator) -> dict[str, Any]:
    """The parameters to save: run-time ones (`RUN_PARAMS`) as None."""
    return {
        name: None if name in RUN_PARAMS else value
        for name, value in estimator.get_params(deep=False).items()
    }


def _is_fitted(estimator: BaseEstimator) -> bool:
    try:
        check_is_fitted(estimator)
    except NotFittedError:
        return False
    return True


def _encode(value: Any, key: str, tensors: dict[str, torch.Tensor]) -> Any:
    """A JSON-able form of ``value``; arrays go to ``tensors`` under ``key``."""
    if isinstance(value, BaseEstimator):
        if _is_fitted(value):
            return {"__fitted__": _dump(value, key + "/", tensors)}
        params = _saved_params(value)
        return {
            "__estimator__": name_of(type(value)),
            "params": {k: _encode(p, f"{key}/{k}", tensors) for k, p in params.items()},
        }
    if isinstance(value, np.ndarray):
        if value.dtype.kind in "OUS":
            return {"__strings__": [str(s) for s in value.tolist()]}
        tensors[key] = torch.from_numpy(np.ascontiguousarray(value))
        return {"__tensor__": key}
    if isinstance(value, tuple):
        return {
            "__tuple__": [
                _encode(x, f"{key}/{i}", tensors) for i, x in enumerate(value)
            ]
        }
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.random.RandomState | np.random.Generator):
        return None  # a generator's state is not a model parameter worth keeping
    if isinstance(value, list):
        return [_encode(x, f"{key}/{i}", tensors) for i, x in enumerate(value)]
    if isinstance(value, dict):
        return {str(k): _encode(x, f"{key}/{k}", tensors) for k, x in value.items()}
    if value is None or isinstance(value, bool | int | float | str):
        return value
    raise TypeError(f"cannot save {key}={value!r} of type {type(value).__name__}")


def _decode(value: Any, tensors: dict[str, torch.Tensor], device: str | None) -> Any:
    if isinstance(value, list):
        return [_decode(x, tensors, device) for x in value]
    if not isinstance(value, dict):
        return value
    if "__tensor__" in value:
        return tensors[value["__tensor__"]].numpy()
    if "__strings__" in value:
        return np.asarray(value["__strings__"], dtype=object)
    if "__tuple__" in value:
        return tuple(_decode(x, tensors, device) for x in value["__tuple__"])
    if "__fitted__" in value:
        return _restore(value["__fitted__"], tensors, device)
    if "__estimator__" in value:
        cls = get_estimator_class(value["__estimator__"])
        return cls(**_decode(value["params"], tensors, device))
    return {k: _decode(x, tensors, device) for k, x in value.items()}


def _restore(config: dict, tensors: dict[str, torch.Tensor], device: str | None) -> Any:
    cls = get_estimator_class(config["estimator"])
    estimator = cls(**_decode(config["params"], tensors, device))
    check_params(estimator)
    for name, value in config["fitted"].items():
        setattr(estimator, name, _decode(value, tensors, device))
    if owns_module(estimator):  # (a version-1 detector's extra copy is ignored)
        _restore_module(estimator, config["weights_prefix"], tensors, device)
    return estimator


def _restore_module(
    estimator: ModuleOwner,
    prefix: str,
    tensors: dict[str, torch.Tensor],
    device: str | None,
) -> None:
    module = estimator._build_module()
    state = {k[len(prefix) :]: t for k, t in tensors.items() if k.startswith(prefix)}
    module.load_state_dict(state, strict=True)
    target = resolve_device(device or estimator.device)
    estimator.module_ = module.to(target).eval()
    estimator.device_ = str(target)


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _temp_prefix(target: Path) -> str:
    """Temporary folders are named after the target and the saving process, so
    a later save can tell a killed save's leftovers from a save in progress."""
    return f".{target.name}.tmp-{os.getpid()}-"


def _clean_up_after_killed_saves(target: Path) -> None:
    """Remove temporary folders left by saves whose process no longer runs, and
    put back a model that a save killed mid-swap left as ``.NAME.old``."""
    old = target.with_name(f".{target.name}.old")
    if old.is_dir() and not target.exists():
        os.replace(old, target)
    for leftover in target.parent.glob(f".{target.name}.tmp-*-*"):
        pid = leftover.name[len(f".{target.name}.tmp-") :].split("-")[0]
        if pid.isdigit() and not _process_runs(int(pid)):
            shutil.rmtree(leftover, ignore_errors=True)


def _process_runs(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # it runs, as another user
        return True
    return True


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def _replace_dir(new: Path, target: Path) -> None:
    """Move the complete folder ``new`` to ``target``, replacing what was there."""
    if target.exists() and not target.is_dir():
        raise FileExistsError(f"{target} exists and is not a folder")
    if target.exists():
        old = target.with_name(f".{target.name}.old")
        shutil.rmtree(old, ignore_errors=True)
        os.replace(target, old)
        os.replace(new, target)
        shutil.rmtree(old, ignore_errors=True)
    else:
        os.replace(new, target)


def _aekit_version() -> str:
    from aekit import __version__

    return __version__
