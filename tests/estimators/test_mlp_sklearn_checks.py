"""scikit-learn's own estimator checks on fastnn's MLPClassifier."""

import pytest
from sklearn.utils.estimator_checks import parametrize_with_checks

from fastnn.estimators._mlp import MLPClassifier

pytestmark = pytest.mark.slow  # about a minute: hundreds of small MLP fits

# max_iter=100, as scikit-learn's own suite runs its MLPClassifier. One instance per
# solver; the default (adam) and sgd pass every check, lbfgs too.
ESTIMATORS = [
    MLPClassifier(max_iter=100, random_state=0),
    MLPClassifier(solver="sgd", max_iter=100, random_state=0),
    MLPClassifier(solver="lbfgs", max_iter=100, random_state=0),
    MLPClassifier(max_iter=100, random_state=0, dropout=0.1),
]

_DROPOUT_REASON = (
    "dropout draws a mask per row of each mini-batch: a row repeated twice gets two "
    "masks and lands in other batches than the same row with weight 2, so the two "
    "fits differ by construction (without dropout this check passes)"
)


def _expected_failed_checks(estimator):
    if not estimator.dropout:
        return {}
    return {
        "check_sample_weight_equivalence_on_dense_data": _DROPOUT_REASON,
        "check_sample_weight_equivalence_on_sparse_data": _DROPOUT_REASON,
    }


@parametrize_with_checks(ESTIMATORS, expected_failed_checks=_expected_failed_checks)
def test_sklearn_compatible(estimator, check):
    check(estimator)
