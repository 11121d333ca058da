"""The estimators inside scikit-learn's machinery: Pipeline, GridSearchCV, clone,
joblib persistence, and the README's quickstart."""

import re
from pathlib import Path

import joblib
import numpy as np
import pytest
from sklearn.base import clone
from sklearn.datasets import load_digits
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GridSearchCV
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import MinMaxScaler

from stackeddae import (
    DenoisingAutoencoder,
    SdAClassifier,
    SdARegressor,
    StackedDenoisingAutoencoder,
)

README = Path(__file__).resolve().parents[1] / "README.md"


@pytest.fixture(scope="module")
def digits():
    X, y = load_digits(return_X_y=True)
    return X[:300], y[:300]


def test_grid_search_pipeline_over_per_layer_corruption(digits):
    X, y = digits
    pipe = Pipeline(
        [
            ("scale", MinMaxScaler()),
            (
                "sda",
                StackedDenoisingAutoencoder(
                    hidden_layer_sizes=(32, 16), max_iter=3, random_state=0
                ),
            ),
            ("clf", LogisticRegression(max_iter=300)),
        ]
    )
    grid = {"sda__corruption_level": [[0.0, 0.0], [0.1, 0.3], [0.3, 0.1]]}
    search = GridSearchCV(pipe, grid, cv=2, n_jobs=2).fit(X, y)
    assert len(search.cv_results_["mean_test_score"]) == 3
    assert search.best_params_["sda__corruption_level"] in grid["sda__corruption_level"]
    fitted = search.best_estimator_.named_steps["sda"]
    assert [ae.corruption_level for ae in fitted.autoencoders_] == list(
        map(float, search.best_params_["sda__corruption_level"])
    )
    assert search.score(X, y) > 0.5


def test_grid_search_sda_classifier(digits):
    X, y = digits
    clf = SdAClassifier(  # 20 epochs: mini-batches of 128 make few steps each
        hidden_layer_sizes=(32,), pretrain_max_iter=2, max_iter=20, random_state=0
    )
    search = GridSearchCV(
        clf, {"corruption_level": [0.1, 0.3], "pretrain": [True, False]}, cv=2
    ).fit(X / 16, y)
    assert search.cv_results_["mean_test_score"].shape == (4,)
    assert search.best_score_ > 0.5


def test_grid_search_selects_on_reconstruction_score(digits):
    """score() is a negative reconstruction cost, so a search can select on it."""
    X, _ = digits
    search = GridSearchCV(
        DenoisingAutoencoder(n_components=8, max_iter=3, random_state=0),
        {"n_components": [2, 32]},
        cv=2,
    ).fit(X / 16)
    assert search.best_params_ == {"n_components": 32}


@pytest.mark.parametrize(
    "estimator",
    [
        DenoisingAutoencoder(n_components=8, max_iter=2, random_state=0),
        StackedDenoisingAutoencoder((8, 4), max_iter=2, random_state=0),
        SdAClassifier((8,), pretrain_max_iter=2, max_iter=3, random_state=0),
        SdARegressor((8,), pretrain_max_iter=2, max_iter=3, random_state=0),
    ],
    ids=lambda e: type(e).__name__,
)
def test_clone_and_joblib_round_trip(estimator, digits, tmp_path):
    X, y = digits
    X = X / 16
    target = y if not isinstance(estimator, SdARegressor) else y / 9.0
    fitted = clone(estimator).fit(X, target)
    path = tmp_path / "model.joblib"
    joblib.dump(fitted, path)
    loaded = joblib.load(path)
    np.testing.assert_array_equal(loaded.transform(X), fitted.transform(X))
    if hasattr(fitted, "predict"):
        np.testing.assert_array_equal(loaded.predict(X), fitted.predict(X))
    assert clone(fitted).get_params() == estimator.get_params()
    # The loaded model keeps training where the saved one stopped.
    loaded.partial_fit(X, target)
    assert loaded.n_iter_ is not None


def test_readme_quickstart_runs():
    text = README.read_text()
    section = text.split("## Quickstart", 1)[1]
    code = re.search(r"```python\n(.*?)```", section, re.S).group(1)
    namespace = {}
    exec(compile(code, str(README), "exec"), namespace)
    assert namespace["clf"].score(namespace["X_test"], namespace["y_test"]) > 0.85
    assert namespace["search"].best_params_["sda__corruption_level"] in (
        [0.1, 0.2],
        [0.3, 0.3],
    )


def test_readme_tabular_recipe_runs():
    text = README.read_text()
    section = text.split("**Tabular data.**", 1)[1]
    code = re.search(r"```python\n(.*?)```", section, re.S).group(1)
    namespace = {}
    exec(compile(code, str(README), "exec"), namespace)
    pipe, X = namespace["pipe"], namespace["X"]
    assert namespace["scores"].mean() > 0.9
    union = pipe.fit(X, namespace["y"])[1]
    encoded = pipe[0].transform(X)
    stack = union.named_transformers["codes"]
    assert stack.transform(encoded).shape[1] == 256
    assert stack.get_feature_names_out()[128] == "stackeddenoisingautoencoder_layer2_0"
    # the encoded columns (3 one-hot, 29 numeric), then both layers' codes
    assert union.transform(encoded).shape[1] == 32 + 256
