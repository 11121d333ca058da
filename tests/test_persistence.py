"""Persistence: pickle, joblib and skops round trips keep outputs and training
identical, the fitted state is plain data, and faulted estimators persist and resume.
"""

import copy
import io
import pickle
import subprocess
import sys
import textwrap

import joblib
import numpy as np
import pytest
import scipy.sparse as sp
import skops.io as sio
from numpy.testing import assert_array_equal
from sklearn.base import clone
from support import (
    MAKERS,
    all_outputs,
    assert_same_state,
    fit_quiet,
    fitted_attributes,
    make_clf,
    make_dae,
    make_deep,
    make_reg,
    make_stack,
    make_target,
    make_X,
    make_y,
    make_y_reg,
    partial_fit_quiet,
    raise_on,
    record,
    return_on,
    trained_arrays,
)

from stackeddae import ReconstructionOutlierDetector
from stackeddae._objectives import DAEObjective
from stackeddae._persistence import BEFORE_ADDED

PERSISTED = {
    "dae-adam": lambda: make_dae(solver="adam", learning_rate_init=0.01),
    "dae-untied-early-stopping": lambda: make_dae(
        tied_weights=False, early_stopping=True, corruption="salt_and_pepper"
    ),
    "dae-float32-sparse": lambda: make_dae(momentum=0.9),
    "stack": make_stack,
    "stack-lbfgs": lambda: make_stack(solver="lbfgs", max_iter=5),
    "stack-fine-tuned": lambda: make_deep(early_stopping=True),
    "classifier-strings": make_clf,
    "classifier-no-pretraining-adam": lambda: make_clf(
        pretrain=False, solver="adam", learning_rate_init=0.01, early_stopping=True
    ),
    "regressor-multi-output": make_reg,
    "multilabel-classifier": make_clf,
}


def _persisted_data(case):
    X = make_X()
    y = None
    if case.startswith("multilabel"):  # three labels, each from its own column
        y = (X[:, :3] > 0.5).astype(int)
    elif case.startswith("classifier"):
        y = np.array(["ant", "bee", "cat"])[make_y()]
    elif case.startswith("regressor"):
        y = np.c_[make_y_reg(), -make_y_reg()]
    if "float32-sparse" in case:
        X = sp.csr_matrix(X * (X > 0.3), dtype=np.float32)
    return X, y


def _round_trips(est, tmp_path):
    copies = {"pickle": pickle.loads(pickle.dumps(est))}
    joblib.dump(est, tmp_path / "model.joblib")
    copies["joblib"] = joblib.load(tmp_path / "model.joblib")
    buffer = io.BytesIO()
    joblib.dump(est, buffer, compress=3)
    buffer.seek(0)
    copies["joblib-compressed"] = joblib.load(buffer)
    data = sio.dumps(est)
    copies["skops"] = sio.loads(data, trusted=sio.get_untrusted_types(data=data))
    return copies


def _continue(est, X, y):
    if getattr(est, "solver", "sgd") != "lbfgs":
        early_stopping = est.early_stopping  # which partial_fit refuses
        partial_fit_quiet(est.set_params(early_stopping=False), X, y)
        est.set_params(early_stopping=early_stopping)
    return fit_quiet(est.set_params(warm_start=True), X, y)


@pytest.mark.parametrize("case", list(PERSISTED))
def test_round_trips_give_identical_outputs_and_training(case, tmp_path):
    X, y = _persisted_data(case)
    est = fit_quiet(PERSISTED[case](), X, y)
    _assert_round_trips_continue_identically(est, X, y, tmp_path)


def _assert_round_trips_continue_identically(est, X, y, tmp_path):
    expected = all_outputs(est, X, y)
    for how, loaded in _round_trips(est, tmp_path).items():
        assert type(loaded) is type(est), how
        assert_same_state(loaded, est, how)
        got = all_outputs(loaded, X, y)
        for name in expected:
            assert_array_equal(got[name], expected[name], err_msg=f"{how} {name}")
        # training continues exactly as the original would have: random
        # generators and optimizer state travel with the model
        assert_same_state(
            _continue(loaded, X, y), _continue(copy.deepcopy(est), X, y), how
        )


def _check_plain_state(value, where):
    """The fitted state holds only plain data (and the package's estimators)."""
    if isinstance(value, np.ndarray):
        assert value.dtype.kind in "biufU", (where, value.dtype)
    elif isinstance(value, (list, tuple)):
        for i, v in enumerate(value):
            _check_plain_state(v, f"{where}[{i}]")
    elif isinstance(value, dict):
        for k, v in value.items():
            assert isinstance(k, str), where
            _check_plain_state(v, f"{where}[{k!r}]")
    elif isinstance(value, np.random.Generator):
        assert isinstance(value.bit_generator, np.random.PCG64), where
    elif hasattr(value, "get_params"):
        assert type(value).__module__.startswith("stackeddae."), where
        for k, v in fitted_attributes(value).items():
            _check_plain_state(v, f"{where}.{k}")
    else:
        assert value is None or isinstance(
            value, (bool, int, float, str, np.integer, np.floating, np.bool_)
        ), (where, type(value))


@pytest.mark.parametrize("case", list(PERSISTED))
def test_fitted_state_is_plain_data_and_skops_trusts_only_this_package(case, tmp_path):
    X, y = _persisted_data(case)
    est = fit_quiet(PERSISTED[case](), X, y)
    _check_plain_state(est, type(est).__name__)

    # the secure way to load a model, as the README shows it
    path = tmp_path / "model.skops"
    sio.dump(est, path)
    untrusted = sio.get_untrusted_types(file=path)
    assert f"stackeddae.{type(est).__module__.split('.')[-1]}.{type(est).__name__}" in (
        untrusted
    )
    assert all(t.startswith("stackeddae.") for t in untrusted), untrusted
    with pytest.raises(sio.exceptions.UntrustedTypesFoundException):
        sio.load(path)
    loaded = sio.load(path, trusted=untrusted)
    assert_same_state(loaded, est)


def _saved_without(est, name):
    """The pickle of ``est`` as a version without parameter ``name`` saved it:
    ``name`` missing from its state and from that of every estimator inside it."""

    def strip(obj):
        obj.__dict__.pop(name, None)
        for value in vars(obj).values():
            for inner in value if isinstance(value, list) else [value]:
                if hasattr(inner, "get_params"):
                    strip(inner)

    strip(est)
    return pickle.dumps(est)


OLD_MODELS = {
    **MAKERS,
    "detector": lambda: ReconstructionOutlierDetector(make_dae(), random_state=0),
}


def _outputs(est, X):
    if isinstance(est, ReconstructionOutlierDetector):
        return est.decision_function(X)
    return est.predict(X) if hasattr(est, "predict") else est.transform(X)


@pytest.mark.parametrize("kind", list(OLD_MODELS))
def test_a_model_saved_before_dtype_existed_loads_refits_and_predicts(kind):
    X, y = make_X(), make_target(kind)
    est = fit_quiet(OLD_MODELS[kind](), X, y)
    expected = _outputs(est, X)
    loaded = pickle.loads(_saved_without(copy.deepcopy(est), "dtype"))
    assert_array_equal(_outputs(loaded, X), expected)
    # dtype=None: as before dtype existed, it trains in the input's precision
    inner = loaded.estimator if kind == "detector" else loaded
    assert inner.get_params()["dtype"] is None
    fit_quiet(loaded, X, y)
    trained = loaded.estimator_ if kind == "detector" else loaded
    assert all(a.dtype == np.float64 for a in trained_arrays(trained))
    assert np.all(np.isfinite(_outputs(loaded, X)))


@pytest.mark.parametrize("kind", ["classifier", "regressor"])
def test_a_model_saved_before_unlabeled_label_existed_keeps_every_label(kind):
    # before unlabeled_label, -1 was a class like any other and NaN targets
    # raised: the loaded model keeps that (unlabeled_label=None) when refitted
    X = make_X()
    y = make_y() - 1 if kind == "classifier" else make_y_reg()
    est = fit_quiet(MAKERS[kind](), X, y)
    saved = est
    for name in ("unlabeled_label", "unlabeled_loss", "unlabeled_weight"):
        saved = pickle.loads(_saved_without(copy.deepcopy(saved), name))
    assert_array_equal(saved.predict(X), est.predict(X))
    assert saved.get_params() == est.get_params()
    assert saved.unlabeled_label is None
    refitted = fit_quiet(saved, X, y)
    if kind == "classifier":
        assert -1 in refitted.classes_
    assert_array_equal(refitted.predict(X), fit_quiet(MAKERS[kind](), X, y).predict(X))


@pytest.mark.parametrize("name", ["fine_tune_corruption_level", "dropout"])
@pytest.mark.parametrize("kind", ["classifier", "regressor"])
def test_a_model_saved_before_auto_fine_tunes_as_it_did(kind, name):
    # before "auto" the default was 0 (no noise, no dropout): a loaded model keeps it
    X = make_X()
    y = make_y() if kind == "classifier" else make_y_reg()
    est = fit_quiet(MAKERS[kind](), X, y)
    old = pickle.loads(_saved_without(copy.deepcopy(est), name))
    assert getattr(old, name) == 0.0


def test_a_detector_saved_before_the_residual_term_scores_without_it():
    # before subspace_variance, the anomaly was the divergence plus the distance
    X = make_X()
    est = fit_quiet(
        ReconstructionOutlierDetector(
            make_dae(), subspace_variance=None, random_state=0
        ),
        X,
    )
    old = copy.deepcopy(est)
    del old.subspace_
    loaded = pickle.loads(_saved_without(old, "subspace_variance"))
    assert loaded.subspace_variance is None
    assert_array_equal(loaded.decision_function(X), est.decision_function(X))
    assert fit_quiet(loaded, X).subspace_ is None  # and refits without it


def test_a_stack_saved_before_fine_tuning_existed_loads_as_not_fine_tuned():
    X = make_X()
    est = fit_quiet(make_stack(), X)
    expected = est.transform(X)
    old = copy.deepcopy(est)
    for name in [*vars(old)]:  # its parameters and its (empty) record
        if "fine_tune" in name:
            delattr(old, name)
    loaded = pickle.loads(pickle.dumps(old))
    assert loaded.get_params()["fine_tune_max_iter"] == 0
    assert_array_equal(loaded.transform(X), expected)
    # refit as before: the greedy stack, bit for bit
    assert_same_state(fit_quiet(loaded, X), fit_quiet(clone(est), X))
    # fine-tuning it later starts its record afresh
    old = pickle.loads(pickle.dumps(old))
    old.set_params(warm_start=True, fine_tune_max_iter=2, fine_tune_batch_size=10)
    fit_quiet(old, X)
    assert old.fine_tune_n_iter_ == 2
    assert [ae.n_iter_ for ae in old.autoencoders_] == [
        ae.n_iter_ for ae in est.autoencoders_
    ]


@pytest.mark.parametrize("kind", list(OLD_MODELS))
def test_every_parameter_missing_from_a_saved_state_gets_a_value(kind):
    # future parameters are covered too: each gets its default, or the value
    # that gives the behaviour before it (dtype: None, subspace_variance: None)
    est = OLD_MODELS[kind]()
    for name in est.get_params(deep=False):
        est.__dict__.pop(name)
    loaded = pickle.loads(pickle.dumps(est))
    defaults = type(est)().get_params(deep=False)
    defaults.update({k: v for k, v in BEFORE_ADDED.items() if k in defaults})
    assert loaded.get_params(deep=False) == defaults


@pytest.mark.parametrize("fault", ["interrupted", "diverged"])
@pytest.mark.parametrize("kind", ["stack", "classifier"])
def test_estimators_stopped_by_a_fault_persist_and_resume(
    monkeypatch, patch_objective, fault, kind, tmp_path
):
    X, y = make_X(), make_target(kind)
    action = raise_on(3) if fault == "interrupted" else return_on(3, np.nan)
    patch_objective(DAEObjective, action)
    est, _ = record(fit_quiet, MAKERS[kind](), X, y)
    monkeypatch.undo()
    _check_plain_state(est, kind)
    _assert_round_trips_continue_identically(est, X, y, tmp_path)


_MMAP_CHILD = """
    import sys, warnings
    import joblib
    from stackeddae import DenoisingAutoencoder
    from sklearn.utils import check_random_state

    warnings.simplefilter("ignore")
    X = check_random_state(0).random_sample((40, 6))
    dae = DenoisingAutoencoder(n_components=3, max_iter=1, batch_size=10,
                               random_state=0, solver="sgd", momentum=0).fit(X)
    joblib.dump(dae, sys.argv[1])
    loaded = joblib.load(sys.argv[1], mmap_mode="r")
    try:
        loaded.partial_fit(X)
    except ValueError as error:
        print("refused:", error)
"""


def test_a_memory_mapped_model_refuses_partial_fit_without_crashing(tmp_path):
    # joblib's mmap_mode="r" maps the weights read-only: the fused SGD step (numpy's
    # gemm called through ctypes) must leave them to numpy, which raises, instead of
    # writing into the mapping (a segfault; a child process, so that it cannot take
    # the test run down with it)
    child = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(_MMAP_CHILD), str(tmp_path / "m.pkl")],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert child.returncode == 0, (child.returncode, child.stderr[-3000:])
    assert "refused:" in child.stdout and "read-only" in child.stdout
