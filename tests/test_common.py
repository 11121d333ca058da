"""scikit-learn's own estimator checks, over every public estimator."""

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
    SdARegressor(),
    ReconstructionOutlierDetector(),
]


@parametrize_with_checks(ESTIMATORS)
def test_sklearn_compatible_estimator(estimator, check):
    check(estimator)
