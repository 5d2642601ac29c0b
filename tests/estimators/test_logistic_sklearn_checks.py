"""scikit-learn's own estimator checks on LogisticRegression, for both solvers.

No check is expected to fail. (Three are skipped by scikit-learn itself here: two need
pandas, one needs SCIPY_ARRAY_API.)
"""

from sklearn.utils.estimator_checks import parametrize_with_checks

from fastnn.estimators._logistic import LogisticRegression


@parametrize_with_checks(
    [LogisticRegression(), LogisticRegression(solver="sgd", random_state=0)],
    expected_failed_checks=lambda estimator: {},
)
def test_sklearn_compatible(estimator, check):
    check(estimator)
