"""OneVsAllClassifier's default estimator: ``estimator=None`` means fastnn's
``LogisticRegression()``, and its parameters are still searchable.

scikit-learn's convention for a default sub-estimator is ``None`` (an estimator
instance as a default is refused by ``check_parameters_default_constructible``,
and would be shared by every instance). ``None`` alone leaves nothing to set
``estimator__C`` on, so a ``GridSearchCV`` over ``OneVsAllClassifier()`` failed; here
``set_params`` makes the default explicit first, and deep ``get_params`` lists it.
A mixin, so that the estimator's module keeps to learning and predicting.
"""

from fastnn.estimators._logistic import LogisticRegression

__all__ = ["DefaultEstimator"]

_PREFIX = "estimator__"


class DefaultEstimator:
    """``_base_estimator``, ``get_params`` and ``set_params`` of a meta-estimator
    whose ``estimator=None`` is ``LogisticRegression()``."""

    def _base_estimator(self):
        """The template the binary estimators are cloned from."""
        return LogisticRegression() if self.estimator is None else self.estimator

    def get_params(self, deep=True):
        """Parameters of this classifier, and with ``deep`` of its estimator's.

        With ``estimator=None``, the default ``LogisticRegression()``'s parameters
        are listed too, as ``estimator__<name>``: they can be set (see
        :meth:`set_params`).

        Parameters
        ----------
        deep : bool, default=True
            Whether to list the estimator's parameters too.

        Returns
        -------
        params : dict
            Parameter names mapped to their values.
        """
        params = super().get_params(deep=deep)
        if deep and self.estimator is None:
            for name, value in LogisticRegression().get_params().items():
                params[_PREFIX + name] = value
        return params

    def set_params(self, **params):
        """Set parameters, of this classifier or (``estimator__<name>``) its
        estimator's.

        Setting an ``estimator__<name>`` while ``estimator`` is None first makes the
        default explicit: ``estimator`` becomes ``LogisticRegression()``, then its
        parameter is set. This is what lets ``GridSearchCV`` search
        ``estimator__C`` of ``OneVsAllClassifier()``.

        Parameters
        ----------
        **params : dict
            Parameter names mapped to their new values.

        Returns
        -------
        self : estimator instance
            This estimator.
        """
        nested = any(key.startswith(_PREFIX) for key in params)
        if nested and params.get("estimator", self.estimator) is None:
            params = {**params, "estimator": LogisticRegression()}
        return super().set_params(**params)
