"""OneVsAllClassifier's ``partial_fit``: one incremental step of every binary
estimator on a batch. A mixin, so that the estimator's module keeps to ``fit`` and
predicting."""

import numpy as np
import scipy.sparse as sp
from sklearn.base import _fit_context, clone
from sklearn.preprocessing import LabelBinarizer
from sklearn.utils.metaestimators import available_if
from sklearn.utils.multiclass import type_of_target, unique_labels
from sklearn.utils.parallel import Parallel, delayed
from sklearn.utils.validation import check_consistent_length, column_or_1d

from fastnn.estimators._one_vs_all_binary import (
    checked_weight,
    columns,
    estimators_have,
    partial_fit_binary,
)
from fastnn.estimators._stacked import StackedServing

__all__ = ["OneVsAllPartialFit"]


class OneVsAllPartialFit:
    """``partial_fit`` on the classifier's own validation and template
    (``_validate``, ``_base_estimator``)."""

    @available_if(estimators_have("partial_fit"))
    @_fit_context(prefer_skip_nested_validation=False)
    def partial_fit(self, X, y, classes=None, sample_weight=None):
        """One incremental step of every binary estimator on a batch.

        Available when the estimator has ``partial_fit``. Single-label targets only
        (scikit-learn's OneVsRestClassifier cannot learn a multilabel ``y`` in
        batches either).

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            A batch of training data.

        y : array-like of shape (n_samples,)
            Its labels; each must be one of ``classes``.

        classes : array-like of shape (n_classes,), default=None
            All the classes, across all calls. Required on the first call; on later
            calls it may be omitted or repeated, but not changed.

        sample_weight : array-like of shape (n_samples,), default=None
            Passed to each binary estimator's ``partial_fit``.

        Returns
        -------
        self : object
            The updated classifier.
        """
        first_call = "estimators_" not in self.__dict__
        if first_call:
            if classes is None:
                raise ValueError(
                    "classes must be passed on the first call to partial_fit."
                )
            classes = unique_labels(classes)
            if len(classes) < 2:
                raise ValueError(
                    f"{type(self).__name__} needs at least 2 classes, "
                    f"got {classes.tolist()}."
                )
            binarizer = LabelBinarizer(sparse_output=True).fit(classes)
        else:
            binarizer = self.label_binarizer_
            if classes is not None and not np.array_equal(
                self.classes_, unique_labels(classes)
            ):
                raise ValueError(  # scikit-learn's words
                    f"`classes={classes!r}` is not the same as on last call to "
                    f"partial_fit, was: {self.classes_!r}"
                )

        X = self._validate(X, reset=first_call)
        check_consistent_length(X, y)
        target = type_of_target(y, input_name="y")
        if target.startswith("multilabel") or "multioutput" in target:
            raise ValueError(
                f"partial_fit takes single-label targets, y of shape (n_samples,); "
                f"got a {target} y. A multilabel y is learned by fit."
            )
        y = column_or_1d(y)
        if np.setdiff1d(y, binarizer.classes_).size:
            raise ValueError(  # scikit-learn's words
                f"Mini-batch contains {np.unique(y)} while classes must be subset "
                f"of {binarizer.classes_}"
            )
        Y = sp.csc_array(binarizer.transform(y))  # one column for a binary problem
        if first_call:
            template = self._base_estimator()
            estimators = [clone(template) for _ in range(Y.shape[1])]
        else:
            estimators = self.estimators_
        sample_weight = checked_weight(
            self, estimators[0].partial_fit, sample_weight, X
        )
        self.estimators_ = Parallel(n_jobs=self.n_jobs, verbose=self.verbose)(
            delayed(partial_fit_binary)(estimator, X, column, sample_weight)
            for estimator, column in zip(estimators, columns(Y))
        )
        self.label_binarizer_ = binarizer
        self.classes_ = binarizer.classes_
        self._serve = StackedServing()
        return self
