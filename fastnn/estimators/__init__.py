"""scikit-learn estimators on fastnn's engine: LogisticRegression, OneVsAllClassifier,
MLPClassifier (each in its own module, exported here as it lands)."""

__all__ = []
