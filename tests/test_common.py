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
    SdAClassifier(),
    SdAClassifier(unlabeled_label=-1),
    SdARegressor(),
    ReconstructionOutlierDetector(),
]


@parametrize_with_checks(ESTIMATORS)
def test_sklearn_compatible_estimator(estimator, check):
    check(estimator)
