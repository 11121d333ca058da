"""pandas DataFrames in and out: fitting on a DataFrame (with string column names)
raises no feature-name warning, whatever the estimator scores internally on the
validated array (early stopping, the detector's threshold)."""

import warnings

import numpy as np
import pytest
from sklearn.exceptions import ConvergenceWarning
from support import MAKERS, make_dae, make_stack, make_target, make_X

from stackeddae import ReconstructionOutlierDetector

pd = pytest.importorskip("pandas")


def _frame(n=60, d=6):
    return pd.DataFrame(make_X(n=n, d=d), columns=[f"f{j}" for j in range(d)])


def _fit_strictly(est, *data):
    """Fit with every warning but a ConvergenceWarning an error."""
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        warnings.simplefilter("ignore", ConvergenceWarning)
        return est.fit(*data)


@pytest.mark.parametrize("kind", list(MAKERS))
def test_early_stopping_on_a_dataframe_does_not_warn(kind):
    X, y = _frame(), make_target(kind)
    est = MAKERS[kind](early_stopping=True, max_iter=3)
    _fit_strictly(est, X) if y is None else _fit_strictly(est, X, y)
    assert list(est.feature_names_in_) == list(X.columns)
    assert len(est.predict(X) if y is not None else est.transform(X)) == len(X)


DETECTED = {
    "dae": lambda: make_dae(early_stopping=True),
    "stack": lambda: make_stack(early_stopping=True),
}


@pytest.mark.parametrize("estimator", list(DETECTED))
@pytest.mark.parametrize("contamination", ["auto", 0.1])
def test_detector_fitted_on_a_dataframe_does_not_warn(estimator, contamination):
    X = _frame()
    detector = ReconstructionOutlierDetector(
        DETECTED[estimator](), contamination=contamination, random_state=0
    )
    _fit_strictly(detector, X)
    assert list(detector.feature_names_in_) == list(X.columns)
    assert np.mean(detector.predict(X) == -1) <= 0.2
