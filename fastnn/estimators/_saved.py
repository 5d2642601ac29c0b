"""What the three estimators share of their saved state: how one is made again from
the parameters :mod:`fastnn.saving` read (each class's ``from_config``)."""


def from_config(cls, params):
    """The estimator of saved ``get_params(deep=False)`` values, checked against its
    ``_parameter_constraints`` (InvalidParameterError is a ValueError)."""
    estimator = cls(**params)
    estimator._validate_params()
    return estimator
