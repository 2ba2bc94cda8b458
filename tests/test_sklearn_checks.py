"""scikit-learn's estimator contract, for every registered estimator."""

import pytest
from sklearn.utils.estimator_checks import parametrize_with_checks

from tests.conftest import CHECK_INSTANCES, expected_failures

# scikit-learn's check data have as few columns as the small test models' codes:
# the lossless-code warning is right there, and beside the point
pytestmark = pytest.mark.filterwarnings("ignore:latent_dim=.*is not below")


@parametrize_with_checks(CHECK_INSTANCES, expected_failed_checks=expected_failures)
def test_sklearn_contract(estimator, check):
    check(estimator)
