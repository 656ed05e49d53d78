"""scikit-learn's estimator checks over every public estimator."""

from sklearn.utils.estimator_checks import parametrize_with_checks

from sklearn_set import AccSETClassifier, SETClassifier, SETRegressor

_SGD_REASON = (
    "minibatch SGD sees a weight-2 sample once per epoch but a duplicated "
    "sample twice, in different batches: the fits differ, as for MLPClassifier"
)


def _expected_failed_checks(estimator):
    return {
        "check_sample_weight_equivalence_on_dense_data": _SGD_REASON,
        "check_sample_weight_equivalence_on_sparse_data": _SGD_REASON,
    }


@parametrize_with_checks(
    [SETClassifier(), SETRegressor(), AccSETClassifier()],
    expected_failed_checks=_expected_failed_checks,
)
def test_sklearn_compatible_estimator(estimator, check):
    check(estimator)
