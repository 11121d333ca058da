"""scikit-learn's own estimator checks, over every public estimator."""

import numpy as np
from sklearn.utils.estimator_checks import parametrize_with_checks

from stackeddae import (
    DenoisingAutoencoder,
    ReconstructionOutlierDetector,
    SdAClassifier,
    SdARegressor,
    StackedDenoisingAutoencoder,
)

# Trained in float32 (the default dtype), a sample's output differs in the last bits
# with the size of the batch it is computed in (BLAS blocks the products by size),
# beyond the check's 1e-7; tests/test_precision.py runs the same check in float64,
# where it holds, and in float32 within float32's tolerance.
_FLOAT32_SUBSET = "float32: outputs vary in the last bits with the batch size"
EXPECTED_FAILURES = {
    "SdARegressor": {"check_methods_subset_invariance": _FLOAT32_SUBSET},
    "ReconstructionOutlierDetector": {
        "check_methods_subset_invariance": _FLOAT32_SUBSET
    },
}

ESTIMATORS = [
    DenoisingAutoencoder(),
    StackedDenoisingAutoencoder(),
    SdAClassifier(),
    SdARegressor(),
    ReconstructionOutlierDetector(),
]


def _expected_failures(estimator):
    if getattr(estimator, "dtype", np.float32) is None:
        return {}
    return EXPECTED_FAILURES.get(type(estimator).__name__, {})


@parametrize_with_checks(ESTIMATORS, expected_failed_checks=_expected_failures)
def test_sklearn_compatible_estimator(estimator, check):
    check(estimator)
