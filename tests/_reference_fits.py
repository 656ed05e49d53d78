"""Fits whose results are recorded in ``tests/data/reference_fits.npz``.

``test_reference_fits.py`` refits the recorded configurations and requires
bit-identical models, so a refactoring that changes what a fit computes
cannot pass unnoticed. Every parameter that shapes training is given
explicitly, so a change of defaults does not touch these fits.

Run ``python tests/_reference_fits.py`` only to record them anew (a deliberate
change of the training arithmetic), and say why in the commit.
"""

import pathlib

import numpy as np
from sklearn.datasets import load_diabetes, load_digits
from sklearn.preprocessing import StandardScaler

PATH = pathlib.Path(__file__).parent / "data" / "reference_fits.npz"

# The recording's values of the parameters its configurations leave out (a
# configuration's own parameters take precedence).
RECORDED_DEFAULTS = {"solver": "sgd", "learning_rate": "constant", "zeta_schedule": "constant",
                     "activation": "relu", "alpha": 1e-4}

COMMON = dict(max_iter=6, random_state=0, batch_size=32, learning_rate_init=0.01,
              momentum=0.9, nesterovs_momentum=True, alpha=1e-4, zeta=0.3, n_jobs=1)

CONFIGS = {
    "set_random_relu": ("SETClassifier", dict(hidden_layer_sizes=(64, 32), sparsity=0.9,
                                              regrowth="random", activation="relu")),
    "set_connected_allrelu": ("SETClassifier", dict(hidden_layer_sizes=(128, 64),
                                                    sparsity=0.99, regrowth="connected",
                                                    activation="allrelu")),
    "set_gradient_tanh": ("SETClassifier", dict(hidden_layer_sizes=(64,), sparsity=0.95,
                                                regrowth="gradient", activation="tanh")),
    "set_dropout_logistic_es": ("SETClassifier", dict(
        hidden_layer_sizes=(64,), sparsity=0.8, activation="logistic", dropout=0.2,
        early_stopping=True, validation_fraction=0.2)),
    "set_float64": ("SETClassifier", dict(hidden_layer_sizes=(32,), sparsity=0.7,
                                          dtype="float64")),
    "accset": ("AccSETClassifier", dict(hidden_layer_sizes=(64,), sparsity=0.8,
                                        max_sparsity=0.95, early_stopping=True)),
    "regressor": ("SETRegressor", dict(hidden_layer_sizes=(32,), sparsity=0.7)),
}


def data(kind):
    if kind == "SETRegressor":
        X, y = load_diabetes(return_X_y=True)
    else:
        X, y = load_digits(return_X_y=True)
        X, y = X[:600], y[:600]
    return StandardScaler().fit_transform(X), y


def fit_all(estimator_classes):
    """Fit every configuration; return {name: {array name: array}}."""
    out = {}
    for name, (kind, params) in CONFIGS.items():
        X, y = data(kind)
        known = estimator_classes[kind]().get_params()
        extra = {k: v for k, v in RECORDED_DEFAULTS.items() if k in known}
        est = estimator_classes[kind](**{**COMMON, **extra, **params})
        est.fit(X, y)
        arrays = {"loss_curve": np.asarray(est.loss_curve_)}
        for i, (coef, intercept) in enumerate(zip(est.coefs_, est.intercepts_)):
            coef = coef.tocsr()
            coef.sort_indices()
            arrays[f"coef{i}_indptr"] = coef.indptr
            arrays[f"coef{i}_indices"] = coef.indices
            arrays[f"coef{i}_data"] = coef.data
            arrays[f"intercept{i}"] = intercept
        out[name] = arrays
    return out


if __name__ == "__main__":
    import sklearn_set

    classes = {k: getattr(sklearn_set, k) for k in ("SETClassifier", "AccSETClassifier",
                                                    "SETRegressor")}
    flat = {f"{name}/{key}": value
            for name, arrays in fit_all(classes).items() for key, value in arrays.items()}
    PATH.parent.mkdir(exist_ok=True)
    np.savez_compressed(PATH, **flat)
    print(f"wrote {len(flat)} arrays to {PATH}")
