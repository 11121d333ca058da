"""scikit-learn's own estimator checks, over every public estimator (and the
classifier taking -1 as the unlabeled marker, as sklearn.semi_supervised does)."""

from sklearn.utils.estimator_checks import parametrize_with_checks

from stackeddae import (
    DenoisingAutoencoder,
    ReconstructionOutlierDetector,
    SdAClassifier,
    SdARegressor,
    StackedDenoisingAutoencoder,
)

ESTIMATORS = [
    DenoisingAutoencoder(),
    StackedDenoisingAutoencoder(),
    # the tabular settings: swap noise, every layer's codes
    StackedDenoisingAutoencoder(
        (8, 4), corruption="swap", corruption_level=0.15, transform_layers="all"
    ),
    SdAClassifier(),
    SdAClassifier(unlabeled_label=-1),
    SdARegressor(),
    ReconstructionOutlierDetector(),
]


def _expected_failed_checks(estimator):
    if getattr(estimator, "unlabeled_label", None) == -1:
        return {
            "check_classifiers_classes": "its binary labels are -1 and 1: with -1 "
            "the unlabeled marker one class is left, and fit raises (by design)"
        }
    return {}


@parametrize_with_checks(ESTIMATORS, expected_failed_checks=_expected_failed_checks)
def test_sklearn_compatible_estimator(estimator, check):
    check(estimator)
