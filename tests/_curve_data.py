"""Ground truth shared by the curve tests: the Rosenfeld et al. (2021)
form in accuracy, the sweeps drawn from it, and a real SET sweep."""

import warnings

import numpy as np

from sklearn_set._curve import CollapseNotIdentifiedWarning

E_NP, E_UP, G, P = 0.02, 0.9, 1.5, 0.002


def rosenfeld_accuracy(s, e_np=E_NP, e_up=E_UP, g=G, p=P):
    d = 1.0 - np.asarray(s, dtype=float)
    ratio = (d**2 + p**2 * (e_up / e_np) ** (2 / g)) / (d**2 + p**2)
    return 1.0 - e_np * ratio ** (g / 2)


def rosenfeld_sparsity_at_error(e, e_np=E_NP, e_up=E_UP, g=G, p=P):
    q = (e / e_np) ** (2 / g)
    a = (e_up / e_np) ** (2 / g)
    return 1.0 - p * np.sqrt((a - q) / (q - 1.0))


TRUE_KNEE = rosenfeld_sparsity_at_error(1.1 * E_NP)
# the collapse midpoint: accuracy halfway between the plateaus
TRUE_EXTREME = rosenfeld_sparsity_at_error(0.5 * (E_NP + E_UP))
# the middle of the fall on the log-error axis (what identification asks for)
LOG_ERROR_MIDPOINT = rosenfeld_sparsity_at_error(np.sqrt(E_NP * E_UP))

# 35 levels evenly spaced in log10 density from S=0.5 to S=0.9999; the even
# ones are measured (18 levels), the odd ones are held out.
_LOG10_D = np.linspace(np.log10(0.5), -4.0, 35)
FIT_LEVELS = 1.0 - 10.0 ** _LOG10_D[::2]
HELD_OUT = 1.0 - 10.0 ** _LOG10_D[1::2]
NOISE = 0.004  # 0.4 percentage points


def sweep(levels, n_repeats=3, noise=NOISE, seed=0):
    rng = np.random.RandomState(seed)
    s = np.repeat(levels, n_repeats)
    acc = np.clip(rosenfeld_accuracy(s) + rng.normal(0.0, noise, s.size), 0, 1)
    return s.reshape(-1, 1), acc


def fit_quietly(est, X, y, **kw):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", CollapseNotIdentifiedWarning)
        return est.fit(X, y, **kw)


# GridSearchCV on digits, StandardScaler + SETClassifier((256, 256),
# max_iter=60, random_state=0), cv=3.
DIGITS_LEVELS = np.array([0.5, 0.8, 0.9, 0.95, 0.98, 0.99, 0.993, 0.995, 0.997, 0.998,
                          0.999, 0.9995])
DIGITS_SCORES = np.array([
    [0.9549, 0.9566, 0.9232], [0.9499, 0.9566, 0.9316], [0.9382, 0.9549, 0.9165],
    [0.9115, 0.9082, 0.9082], [0.8881, 0.8731, 0.8681], [0.8013, 0.828, 0.8531],
    [0.7195, 0.8147, 0.8097], [0.7329, 0.6127, 0.6644], [0.2104, 0.4741, 0.2521],
    [0.1018, 0.1018, 0.1002], [0.1018, 0.1018, 0.1018], [0.1018, 0.1018, 0.1018]])


def cv_results_table(levels, scores, key="param_setclassifier__sparsity", extra=None):
    """A ``cv_results_`` dict of a grid over ``levels``: one candidate per
    row of ``scores``, one split per column, ``extra`` parameter columns."""
    n_cand, n_splits = scores.shape
    res = {
        key: np.ma.MaskedArray(list(levels), mask=False, dtype=object),
        "mean_test_score": scores.mean(axis=1),
        "std_test_score": scores.std(axis=1),
        "rank_test_score": np.argsort(np.argsort(-scores.mean(axis=1))) + 1,
        "params": [{key[len("param_"):]: v} for v in levels],
    }
    for i in range(n_splits):
        res[f"split{i}_test_score"] = scores[:, i]
    for name, values in (extra or {}).items():
        res[name] = np.ma.MaskedArray(list(values), mask=False, dtype=object)
    return res
