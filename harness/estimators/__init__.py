"""scikit-learn estimators over the zoo's losses: :class:`LossClassifier` (torch MLP) and
:class:`LightGBMLossClassifier`."""
