"""scikit-learn's fit callbacks (sklearn.callback): the tasks each estimator
reports, nested as its work is; the fitted state at each epoch's end (what
ScoringMonitor scores); ProgressBar and propagation from GridSearchCV and
Pipeline; clone and pickle; Ctrl-C, divergence and a callback's request to stop;
and nothing at all where scikit-learn has no sklearn.callback."""

import json
import pickle
import re
import subprocess
import sys
import textwrap
from collections import Counter
from pathlib import Path

import numpy as np
import pytest
from sklearn.base import clone
from sklearn.callback import (
    AutoPropagatedCallback,
    CallbackContext,
    FitCallback,
    ProgressBar,
    ScoringMonitor,
)
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GridSearchCV
from sklearn.pipeline import Pipeline
from support import (
    assert_same_state,
    fit_quiet,
    make_clf,
    make_dae,
    make_deep,
    make_reg,
    make_stack,
    make_X,
    make_y,
    make_y_reg,
    partial_fit_quiet,
    quietly,
    raise_on,
    record,
    return_on,
    warning_messages,
)

from stackeddae import (
    DenoisingAutoencoder,
    ReconstructionOutlierDetector,
    SdAClassifier,
)
from stackeddae._callbacks import Task
from stackeddae._objectives import DAEObjective


class Recorder(FitCallback):
    """Records each hook call: (event, path of task names from the root, whether
    a fitted estimator came with it); keeps the fitted estimators of the ends."""

    def __init__(self, stop_after=None):
        self.events, self.fitted, self.stop_after = [], [], stop_after
        self.setups = self.teardowns = 0

    def setup(self, estimator, context):
        self.setups += 1

    def teardown(self, estimator, context):
        self.teardowns += 1

    def on_fit_task_begin(self, estimator, context):
        self.events.append(("begin", _path(context), None))

    def on_fit_task_end(self, estimator, context, *, fitted_estimator=None):
        path = _path(context)
        self.events.append(("end", path, fitted_estimator is not None))
        self.fitted.append((path, fitted_estimator))
        return path == self.stop_after

    def ends(self):
        return [path for event, path, _ in self.events if event == "end"]


class PropagatedRecorder(Recorder, AutoPropagatedCallback):
    """A Recorder that meta-estimators hand down to every level."""

    max_propagation_depth = None


def _path(context):
    names = []
    while context is not None:
        names.append(context.task_name)
        context = context.parent
    return "/".join(reversed(names))


def _fit(est, X, y=None):
    return fit_quiet(est.set_callbacks(Recorder()), X, y)._skl_callbacks[0]


def _paired(events):
    """Whether every task that began ended, once, after the tasks it holds."""
    open_tasks = []
    for event, path, _ in events:
        if event == "begin":
            open_tasks.append(path)
        elif not open_tasks or open_tasks.pop() != path:
            return False
    return not open_tasks


def reconstruction(est, X, y):
    """ScoringMonitor's scorer for an autoencoder: its own score (y is X)."""
    return est.score(X)


RECONSTRUCTION = {"reconstruction": reconstruction}
SCORING = {
    "DenoisingAutoencoder": RECONSTRUCTION,
    "StackedDenoisingAutoencoder": RECONSTRUCTION,
    "SdAClassifier": "accuracy",
    "SdARegressor": "r2",
}


# ------------------------------------------------------------------ the task trees
def test_autoencoder_reports_its_epochs():
    dae = make_dae(max_iter=3)
    recorder = _fit(dae, make_X())
    assert recorder.ends() == ["fit/epoch"] * 3 + ["fit"]
    assert _paired(recorder.events)
    assert recorder.setups == recorder.teardowns == 1
    assert not hasattr(dae, "_callback_fit_ctx")  # torn down


def test_stack_reports_layers_then_epochs_then_fine_tuning():
    recorder = _fit(make_deep(max_iter=2, fine_tune_max_iter=3), make_X())
    layer = ["fit/layer/epoch"] * 2 + ["fit/layer"]
    fine_tuning = ["fit/fine-tuning/epoch"] * 3 + ["fit/fine-tuning"]
    assert recorder.ends() == layer * 3 + fine_tuning + ["fit"]
    assert _paired(recorder.events)


@pytest.mark.parametrize("make", [make_clf, make_reg])
def test_supervised_reports_pretraining_and_fine_tuning(make):
    est = make(pretrain_max_iter=2, max_iter=3)
    y = make_y() if isinstance(est, SdAClassifier) else make_y_reg()
    recorder = _fit(est, make_X(), y)
    layer = ["fit/pretraining/layer/epoch"] * 2 + ["fit/pretraining/layer"]
    fine_tuning = ["fit/fine-tuning/epoch"] * 3 + ["fit/fine-tuning"]
    assert recorder.ends() == layer * 2 + ["fit/pretraining"] + fine_tuning + ["fit"]
    assert _paired(recorder.events)


def test_supervised_without_pretraining_reports_fine_tuning_only():
    recorder = _fit(make_clf(pretrain=False, max_iter=2), make_X(), make_y())
    assert recorder.ends() == ["fit/fine-tuning/epoch"] * 2 + ["fit/fine-tuning", "fit"]


def test_lbfgs_iterations_are_the_epochs():
    reg = make_reg(pretrain=False, solver="lbfgs", max_iter=4)
    recorder = _fit(reg, make_X(), make_y_reg())
    epochs = recorder.ends().count("fit/fine-tuning/epoch")
    assert epochs == reg.n_iter_ == 4
    assert _paired(recorder.events)


def test_lbfgs_that_converges_early_ends_its_last_task_empty():
    dae = make_dae(solver="lbfgs", max_iter=200, corruption_level=0.0)
    recorder = _fit(dae, make_X())
    assert dae.n_iter_ < 200  # converged
    fitted = [
        f for event, p, f in recorder.events if p == "fit/epoch" and event == "end"
    ]
    assert fitted == [True] * dae.n_iter_ + [False]
    assert _paired(recorder.events)


def test_partial_fit_reports_one_epoch_per_call():
    X = make_X()
    stack = make_stack().set_callbacks(Recorder())
    partial_fit_quiet(stack, X)
    partial_fit_quiet(stack, X)
    ends = stack._skl_callbacks[0].ends()
    assert ends == (["fit/layer/epoch", "fit/layer"] * 2 + ["fit"]) * 2


def test_detector_reports_its_autoencoder_below_it():
    detector = ReconstructionOutlierDetector(make_dae(max_iter=2))
    recorder = PropagatedRecorder()
    quietly(detector.set_callbacks(recorder).fit, make_X())
    # the autoencoder's fit is the detector's task "fit-estimator", merged
    assert recorder.ends() == ["fit/fit/epoch"] * 2 + ["fit/fit", "fit"]
    assert _paired(recorder.events)


def test_epochs_stop_where_early_stopping_stops():
    clf = make_clf(pretrain=False, max_iter=50, early_stopping=True, n_iter_no_change=2)
    recorder = _fit(clf, make_X(), make_y())
    assert clf.n_iter_ < 50
    assert recorder.ends().count("fit/fine-tuning/epoch") == clf.n_iter_


# ------------------------------------------------------- the fitted state per epoch
def _epoch_scores(monitor, task="epoch"):
    return [
        row["reconstruction"]
        for row in monitor.get_logs().data
        if row["task_name"] == task
    ]


def test_scoring_monitor_scores_each_epoch_of_an_autoencoder_as_if_it_stopped_there():
    X = make_X()
    monitor = ScoringMonitor(scoring=RECONSTRUCTION)
    fit_quiet(make_dae(max_iter=3).set_callbacks(monitor), X)  # no y: X is the target
    expected = [fit_quiet(make_dae(max_iter=n), X).score(X) for n in (1, 2, 3)]
    assert _epoch_scores(monitor) == expected


def test_scoring_monitor_scores_each_fine_tuning_epoch_of_a_classifier():
    X, y = make_X(), make_y()
    monitor = ScoringMonitor(scoring="accuracy")
    fit_quiet(make_clf(max_iter=4).set_callbacks(monitor), X, y)
    rows = monitor.get_logs().data
    scores = [row["accuracy"] for row in rows if row["task_name"] == "epoch"]
    expected = [fit_quiet(make_clf(max_iter=n), X, y).score(X, y) for n in (1, 2, 3, 4)]
    assert scores == expected
    # pretraining has no output layer to score: none of its tasks is
    assert {row["task_name"] for row in rows} == {"fit", "fine-tuning", "epoch"}


def test_a_layers_epochs_are_the_stack_up_to_that_layer():
    X = make_X()
    stack = make_stack(hidden_layer_sizes=(5, 4), max_iter=3)
    monitor = ScoringMonitor(scoring=RECONSTRUCTION)
    fit_quiet(stack.set_callbacks(monitor), X)
    rows = monitor.get_logs().data
    first = [r["reconstruction"] for r in rows if r["task_id_path"][:2] == (0, 0)]
    top = [r["reconstruction"] for r in rows if r["task_id_path"][:2] == (0, 1)]
    # the first layer's epochs: that layer alone, trained for 1, 2, 3 epochs
    params = stack.layer_params()[0]
    alone = [
        fit_quiet(DenoisingAutoencoder(**{**params, "max_iter": n}), X).score(X)
        for n in (1, 2, 3)
    ]
    assert first[1:] == pytest.approx(alone, rel=1e-12)  # [0] is the layer's end
    assert first[0] == first[-1]
    # the top layer's last epoch: the fitted stack
    assert top[-1] == stack.score(X)


def test_fitted_estimators_keep_their_epochs_weights():
    X = make_X()
    recorder = _fit(make_dae(max_iter=3), X)
    epochs = [est for path, est in recorder.fitted if path == "fit/epoch"]
    expected = [fit_quiet(make_dae(max_iter=n), X) for n in (1, 2, 3)]
    for kept, reference in zip(epochs, expected, strict=True):
        np.testing.assert_array_equal(kept.components_, reference.components_)
        assert kept.score(X) == reference.score(X)


@pytest.mark.parametrize(
    "make, y",
    [
        (lambda: make_deep(), None),
        (lambda: make_clf(), make_y()),
        (lambda: make_reg(pretrain=False, solver="lbfgs", max_iter=5), make_y_reg()),
        (lambda: make_dae(early_stopping=True), None),
    ],
    ids=["deep", "classifier", "lbfgs", "early_stopping"],
)
def test_callbacks_do_not_change_training(make, y):
    X = make_X()
    plain = fit_quiet(make(), X, y)
    monitor = ScoringMonitor(scoring=SCORING[type(plain).__name__])
    watched = fit_quiet(make().set_callbacks(Recorder(), monitor), X, y)
    assert monitor.get_logs().data
    assert_same_state(plain, watched.set_callbacks())  # without them


# ----------------------------------------------------- ProgressBar, meta-estimators
def test_progress_bar_in_a_grid_search_over_a_pipeline_reaches_the_layers(capsys):
    X, y = make_X(), make_y()
    pipe = Pipeline([("sda", make_stack()), ("clf", LogisticRegression())])
    search = GridSearchCV(pipe, {"sda__corruption_level": [0.1, 0.3]}, cv=2)
    recorder = PropagatedRecorder()
    bar = ProgressBar(max_propagation_depth=None)
    quietly(search.set_callbacks(bar, recorder).fit, X, y)
    out = capsys.readouterr().out
    assert "Pipeline - fit-transform-sda | StackedDenoisingAutoencoder - fit" in out
    assert len(re.findall(r"StackedDenoisingAutoencoder - layer #1 +.*100%", out)) == 5
    # 2 candidates x 2 folds + the refit, 2 layers of 2 epochs each
    epochs = [p for p in recorder.ends() if p.endswith("fit/layer/epoch")]
    assert len(epochs) == 5 * 2 * 2
    assert _paired(recorder.events)


def test_default_progress_bar_of_a_search_reaches_a_classifiers_layers(capsys):
    search = GridSearchCV(make_clf(), {"alpha": [1e-4, 1e-3]}, cv=2)
    quietly(search.set_callbacks(ProgressBar()).fit, make_X(), make_y())
    out = capsys.readouterr().out
    assert "GridSearchCV - candidate-split-evaluation | SdAClassifier - fit" in out
    assert len(re.findall(r"SdAClassifier - layer #1 +.*100%", out)) == 5
    assert len(re.findall(r"SdAClassifier - fine-tuning #1 +.*100%", out)) == 5


def test_progress_bar_on_an_estimator():
    for est, y in [(make_deep(), None), (make_clf(), make_y())]:
        fit_quiet(est.set_callbacks(ProgressBar()), make_X(), y)
        assert est.n_iter_ > 0


# ------------------------------------------------------------------ clone, pickle
def test_clone_shares_the_callbacks_as_scikit_learn_does():
    recorder = Recorder()
    stack = make_stack().set_callbacks(recorder)
    copy = clone(stack)
    assert copy._skl_callbacks == [recorder]
    assert copy._skl_callbacks[0] is recorder  # one instance for all clones
    fit_quiet(copy, make_X())
    assert recorder.ends()[-1] == "fit"


@pytest.mark.parametrize("fitted", [False, True])
def test_pickle_keeps_the_callbacks(fitted):
    X = make_X()
    clf = make_clf().set_callbacks(ProgressBar(), ScoringMonitor(scoring="accuracy"))
    if fitted:
        fit_quiet(clf, X, make_y())
    restored = pickle.loads(pickle.dumps(clf))
    assert [type(c) for c in restored._skl_callbacks] == [ProgressBar, ScoringMonitor]
    assert not hasattr(restored, "_callback_fit_ctx")
    fit_quiet(restored, X, make_y())
    scores = restored._skl_callbacks[1].get_logs().data
    assert sum(row["task_name"] == "epoch" for row in scores) == restored.n_iter_


def test_set_callbacks_with_nothing_removes_them():
    stack = make_stack().set_callbacks(Recorder()).set_callbacks()
    assert not hasattr(stack, "_skl_callbacks")


# ------------------------------------- Ctrl-C, divergence, a callback that stops
def test_ctrl_c_ends_the_interrupted_epoch_without_a_fitted_state(patch_objective):
    dae = make_dae(max_iter=3).set_callbacks(Recorder())
    patch_objective(DAEObjective, raise_on(9))  # in the second epoch
    _, caught = record(dae.fit, make_X())
    assert dae._stop_status == "interrupted" and dae.n_iter_ == 1
    assert any("interrupted by the user" in m for m in warning_messages(caught))
    recorder = dae._skl_callbacks[0]
    ends = [(p, f) for e, p, f in recorder.events if e == "end"]
    assert ends == [("fit/epoch", True), ("fit/epoch", False), ("fit", True)]
    assert _paired(recorder.events)


def test_ctrl_c_in_pretraining_ends_every_task(patch_objective):
    clf = make_clf().set_callbacks(Recorder())
    patch_objective(DAEObjective, raise_on(15))  # the second layer's first epoch
    quietly(clf.fit, make_X(), make_y())
    assert clf._stop_status == "interrupted"
    recorder = clf._skl_callbacks[0]
    assert _paired(recorder.events)
    assert "fit/fine-tuning" not in recorder.ends()


def test_divergence_ends_the_epoch_without_a_fitted_state(patch_objective):
    dae = make_dae(max_iter=3).set_callbacks(Recorder())
    patch_objective(DAEObjective, return_on(8, np.inf))
    record(dae.fit, make_X())
    assert dae._stop_status == "diverged"
    ends = [(p, f) for e, p, f in dae._skl_callbacks[0].events if e == "end"]
    assert ends == [("fit/epoch", True), ("fit/epoch", False), ("fit", True)]


def test_a_callback_stops_its_level_of_iterations():
    stack = make_stack(max_iter=4)
    recorder = Recorder(stop_after="fit/layer/epoch")  # after each layer's 1st
    _, caught = record(stack.set_callbacks(recorder).fit, make_X())
    assert [ae.n_iter_ for ae in stack.autoencoders_] == [1, 1]
    assert [ae._stop_status for ae in stack.autoencoders_] == ["stopped"] * 2
    assert recorder.ends() == ["fit/layer/epoch", "fit/layer"] * 2 + ["fit"]
    assert warning_messages(caught) == []  # asked for: no ConvergenceWarning


# ------------------------------------------------- no cost; no sklearn.callback
def test_epochs_are_not_reported_without_callbacks(monkeypatch):
    made = Counter()
    subcontext = CallbackContext.subcontext

    def counted(self, task_name="", *args, **kwargs):
        made[task_name] += 1
        return subcontext(self, task_name, *args, **kwargs)

    monkeypatch.setattr(CallbackContext, "subcontext", counted)
    fit_quiet(make_clf(), make_X(), make_y())
    assert made == {"pretraining": 1, "layer": 2, "fine-tuning": 1}
    assert Task(make_dae(), None, None, None).epochs(None) is None


FITS = """
import json, sys, warnings
warnings.simplefilter("ignore")
import sklearn.callback._callback_support  # scikit-learn's own fit needs it
import sklearn.linear_model, sklearn.model_selection, sklearn.neighbors
import sklearn.pipeline, sklearn.preprocessing
real = sys.modules["sklearn.callback"]
if sys.argv[1] == "without":
    sys.modules["sklearn.callback"] = None  # `from sklearn.callback import` fails
import stackeddae
from stackeddae import _callbacks
sys.modules["sklearn.callback"] = real
sys.path.insert(0, "tests")
from support import MAKERS, make_target, make_X
from stackeddae import ReconstructionOutlierDetector
X = make_X()
out = {"fallback": not hasattr(_callbacks.CallbackSupportMixin, "set_callbacks")}
detector = lambda: ReconstructionOutlierDetector(random_state=0)
for kind, make in [*MAKERS.items(), ("detector", detector)]:
    est = make().fit(X, make_target(kind))
    out[kind] = [hasattr(est, "set_callbacks"), repr(est.score_samples(X).sum())
                 if kind == "detector" else repr(float(est.transform(X).sum()))]
print(json.dumps(out))
"""


def _fits(mode):
    root = Path(__file__).resolve().parent.parent
    done = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(FITS), mode],
        cwd=root,
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_without_sklearn_callback_everything_fits_alike_and_reports_nothing():
    with_callbacks, without = _fits("with"), _fits("without")
    assert not with_callbacks.pop("fallback") and without.pop("fallback")
    assert all(has for has, _ in with_callbacks.values())
    assert not any(has for has, _ in without.values())  # no set_callbacks
    # bit-identical results
    assert [v for _, v in with_callbacks.values()] == [v for _, v in without.values()]


def test_a_fit_reports_to_the_callbacks_of_its_own_estimator_only():
    # the layers of a stack and a classifier's pretraining stack are no
    # sub-estimators: their tasks are the outer estimator's, with its callbacks
    recorder = Recorder()
    clf = fit_quiet(make_clf().set_callbacks(recorder), make_X(), make_y())
    assert recorder.setups == recorder.teardowns == 1
    assert not hasattr(clf.stack_, "_skl_callbacks")
    assert all(not hasattr(ae, "_skl_callbacks") for ae in clf.stack_.autoencoders_)


def test_a_layer_that_a_callback_stopped_is_not_cached(tmp_path):
    X = make_X()
    stopped = make_stack(max_iter=4, memory=tmp_path)
    fit_quiet(stopped.set_callbacks(Recorder(stop_after="fit/layer/epoch")), X)
    assert [ae.n_iter_ for ae in stopped.autoencoders_] == [1, 1]
    assert not list(tmp_path.rglob("output.pkl"))
    full = fit_quiet(make_stack(max_iter=4, memory=tmp_path), X)
    assert [ae.n_iter_ for ae in full.autoencoders_] == [4, 4]


def test_readme_progress_and_callbacks_runs(capsys):
    text = (Path(__file__).resolve().parents[1] / "README.md").read_text()
    section = text.split("## Progress and callbacks", 1)[1].split("\n## ", 1)[0]
    blocks = re.findall(r"```python\n(.*?)```", section, re.S)
    pipe = Pipeline([("sda", make_stack()), ("clf", LogisticRegression())])
    namespace = {
        "X": make_X(),
        "y": make_y(),
        "pipe": pipe,
        "grid": {"sda__corruption_level": [0.1, 0.3]},
        "GridSearchCV": GridSearchCV,
        "SdAClassifier": SdAClassifier,
    }
    for code in blocks:
        quietly(exec, compile(code, "README.md", "exec"), namespace)
    assert "StackedDenoisingAutoencoder - layer #1" in capsys.readouterr().out
    logged = namespace["monitor"].get_logs().data_as_pandas
    assert (logged["task_name"] == "epoch").sum() == namespace["clf"].n_iter_
