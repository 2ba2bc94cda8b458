"""scikit-learn's estimator contract, for every registered estimator."""

from sklearn.utils.estimator_checks import parametrize_with_checks

from tests.conftest import CHECK_INSTANCES, expected_failures


@parametrize_with_checks(CHECK_INSTANCES, expected_failed_checks=expected_failures)
def test_sklearn_contract(estimator, check):
    check(estimator)
