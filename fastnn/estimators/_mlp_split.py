"""The rows MLPClassifier's early stopping holds out, split as scikit-learn splits them."""

import numpy as np
from sklearn.model_selection import train_test_split

__all__ = ["validation_split"]


def validation_split(clf, arrays, Y, random_state):
    """``train_test_split`` of ``arrays`` (X, the network's targets and maybe
    sample_weight), holding out ``clf.validation_fraction`` of the rows.

    Binary labels are stratified on scikit-learn's indicator of ``classes_[1]`` (a bool
    column of the binarized ``Y``), so the split and its errors are scikit-learn's;
    an error for a class with too few members also names that class's label. More
    classes are stratified on the labels themselves; multi-label targets are not
    stratified.
    """
    binary = clf._label_binarizer.y_type_ == "binary"
    if binary or Y.shape[1] == 1:
        stratify = Y.astype(bool)
    elif clf.out_activation_ == "softmax":
        # NOTE: scikit-learn's documentation says the split is stratified; its code
        # stratifies binary problems only. The labels (not their indices) are what an
        # error for a class with too few members names.
        stratify = clf.classes_.take(Y.argmax(axis=1))
    else:
        stratify = None
    try:
        return train_test_split(*arrays, random_state=random_state,
                                test_size=clf.validation_fraction, stratify=stratify)
    except ValueError as error:
        if not binary:
            raise
        labels, counts = np.unique(clf.classes_.take(Y[:, 0].astype(np.intp)),
                                   return_counts=True)
        if counts.min() >= 2:
            raise
        positive = clf.classes_[-1].item()
        raise ValueError(
            f"{error} (True and False stand for y == {positive!r}: early stopping "
            "stratifies binary labels on that indicator, as scikit-learn does. The "
            f"labels with too few members are {labels[counts < 2].tolist()}.)"
        ) from error
