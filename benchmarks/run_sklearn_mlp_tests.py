"""scikit-learn's MLP tests, run against SdAClassifier / SdARegressor(pretrain=False).

Takes the installed scikit-learn's ``sklearn/neural_network/tests/test_mlp.py``, swaps
its ``MLPClassifier`` / ``MLPRegressor`` for the shims below (our estimators with
``pretrain=False`` and MLP's defaults, MLP's parameter names mapped to ours where they
differ), runs it with pytest in a subprocess and prints pass / fail / error counts
with one line per failing test: its first line of error, and where the failure is
known, why (``KNOWN``: a deliberate difference, listed in the README's "Compared with
scikit-learn's MLP").

    python benchmarks/run_sklearn_mlp_tests.py            # the whole file
    python benchmarks/run_sklearn_mlp_tests.py --select test_alpha test_fit
"""

import inspect
import os
import subprocess
import sys
import tempfile
import xml.etree.ElementTree as ET
from pathlib import Path

import sklearn
from _common import Result, main, table
from sklearn import neural_network

from stackeddae import SdAClassifier, SdARegressor

CONFIG = dict(select=(), seed=42)
SMOKE = dict(select=("test_alpha", "test_multilabel_classification"))
COLUMNS = {"test": "s", "outcome": "s", "why": "s", "message": "s"}

SOURCE = Path(neural_network.__file__).parent / "tests" / "test_mlp.py"
IMPORT = "from sklearn.neural_network import MLPClassifier, MLPRegressor"

# MLP's parameter values that mean something else of ours: name -> {MLP's: ours}
VALUES = {"activation": {"logistic": "sigmoid"}}
# MLP's parameters we lack, with the one value under which we behave as MLP
IMPLIED = {"loss": {"log_loss", "squared_error"}}
# Ours whose default differs from MLP's behaviour: MLP computes in X's precision.
OURS = {"pretrain": False, "dtype": None}


class UnmappedParameter(NotImplementedError):
    """An MLP parameter value the shim cannot express with ours."""


def _shim(mlp_cls, our_cls):
    """A factory with MLP's signature and defaults that returns ``our_cls``."""
    signature = inspect.signature(mlp_cls.__init__)
    defaults = {
        name: p.default
        for name, p in signature.parameters.items()
        if p.default is not p.empty
    }
    ours = set(inspect.signature(our_cls.__init__).parameters)

    def make(**params):
        params = {**defaults, **params}
        mapped = dict(OURS)
        for name, value in params.items():
            value = VALUES.get(name, {}).get(value, value)
            if name in ours:
                mapped[name] = value
            elif value not in IMPLIED.get(name, ()):
                raise UnmappedParameter(
                    f"shim: {mlp_cls.__name__}'s {name}={value!r} has no "
                    f"counterpart in {our_cls.__name__}"
                )
        return our_cls(**mapped)

    make.__name__ = make.__qualname__ = mlp_cls.__name__
    make.__doc__ = f"{our_cls.__name__}(pretrain=False) with {mlp_cls.__name__}'s API"
    return make


MLPClassifier = _shim(neural_network.MLPClassifier, SdAClassifier)
MLPRegressor = _shim(neural_network.MLPRegressor, SdARegressor)

# Why a test fails where we differ from MLP on purpose (README, "Compared with
# scikit-learn's MLP").
WHY = {
    "lbfgs_converged": "deliberate: from the zero head (see zero_head) L-BFGS "
    "converges on the linear network (activation='identity', scipy's ftol) in 9 "
    "iterations, before max_fun=10 is reached: no ConvergenceWarning",
    "internals": "deliberate: reads or sets MLP's private internals (_optimizer, "
    "_loss_grad_lbfgs, hand-built state with a 1-unit binary head)",
    "n_iter": "deliberate: n_iter_ counts every epoch since the last fresh fit, "
    "warm-started fits included (MLP: the last call's)",
    "divergence": "deliberate: a diverging fit stops with a DivergenceWarning and "
    "the last finite weights (MLP: ValueError, or NaN validation scores)",
    "float64": "deliberate: SdARegressor.predict returns float64 whatever the "
    "training dtype (MLP: the input's)",
    "one_class": "deliberate: a y of one class raises (MLP fits it)",
    "min_valid": "deliberate: early stopping needs 2 held-out samples or more; "
    "that ValueError comes before the stratified split's",
    "verbose": "deliberate: verbose prints 'epoch N cost' lines, and draws a tqdm "
    "bar at verbose >= 2 (MLP: 'Iteration N, loss = ...')",
    "poisson": "deliberate: no loss='poisson' for SdARegressor",
    "zero_head": "deliberate: the head starts at zero and a binary head has 2 "
    "softmax units: its weights grow slightly with alpha as the hidden layers "
    "shrink (their sum falls: 117 -> 63)",
    "log_proba": "deliberate: predict_log_proba is computed from the logits, not "
    "as log(predict_proba): -5.5e-31 where MLP's gives log(1.0) = 0, and its "
    "argmax tells apart probabilities that round to 1",
}

# Failures we expect, by test (the name before any [parameters]) -> a key of WHY.
KNOWN = {
    "test_alpha": "zero_head",
    "test_fit": "internals",
    "test_gradient": "internals",
    "test_lbfgs_regression_maxfun": "lbfgs_converged",
    "test_learning_rate_warmstart": "internals",
    "test_nonfinite_params": "divergence",
    "test_predict_proba_multilabel": "log_proba",
    "test_verbose_sgd": "verbose",
    "test_adaptive_learning_rate": "internals",
    "test_warm_start_full_iteration": "n_iter",
    "test_early_stopping_stratified": "min_valid",
    "test_mlp_param_dtypes": "float64",
    "test_preserve_feature_names": "one_class",
    "test_mlp_warm_start_no_convergence": "n_iter",
    "test_mlp_diverging_loss": "divergence",
    "test_mlp_vs_poisson_glm_equivalent": "poisson",
}

CONFTEST = """
import pytest

@pytest.fixture
def global_random_seed():
    return {seed}
"""


def _run_pytest(cfg, folder):
    """pytest on the rewritten file in ``folder``; its JUnit XML report."""
    source = SOURCE.read_text()
    if IMPORT not in source:
        raise SystemExit(f"{SOURCE} no longer imports the MLPs as `{IMPORT}`")
    shimmed = source.replace(
        IMPORT, "from run_sklearn_mlp_tests import MLPClassifier, MLPRegressor"
    )
    (folder / "test_mlp_ours.py").write_text(shimmed)
    (folder / "conftest.py").write_text(CONFTEST.format(seed=cfg.seed))
    (folder / "pytest.ini").write_text("[pytest]\n")
    report = folder / "report.xml"
    here = Path(__file__).resolve().parent
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(
        [str(here), str(here.parent), env.get("PYTHONPATH", "")]
    )
    command = [
        sys.executable,
        "-m",
        "pytest",
        str(folder / "test_mlp_ours.py"),
        "-q",
        "-p",
        "no:cacheprovider",
        "-c",
        str(folder / "pytest.ini"),
        f"--junitxml={report}",
    ]
    if cfg.select:
        command += ["-k", " or ".join(cfg.select)]
    subprocess.run(command, cwd=folder, env=env, capture_output=True, check=False)
    if not report.exists():
        raise SystemExit("pytest wrote no report: " + " ".join(command))
    return ET.parse(report).getroot()


def _outcome(case):
    """(outcome, first line of the message) of one <testcase>."""
    for tag, outcome in (
        ("failure", "failed"),
        ("error", "error"),
        ("skipped", "skipped"),
    ):
        found = case.find(tag)
        if found is not None:
            message = (found.get("message") or found.text or "").strip()
            return outcome, message.splitlines()[0][:160] if message else ""
    return "passed", ""


def measure(cfg):
    with tempfile.TemporaryDirectory() as folder:
        root = _run_pytest(cfg, Path(folder))
    rows = []
    for case in root.iter("testcase"):
        outcome, message = _outcome(case)
        name = case.get("name")
        known = (
            KNOWN.get(name.split("[")[0]) if outcome in ("failed", "error") else None
        )
        rows.append(
            {"test": name, "outcome": outcome, "why": known or "", "message": message}
        )
    counts = {
        outcome: sum(r["outcome"] == outcome for r in rows)
        for outcome in ("passed", "failed", "error", "skipped")
    }
    failing = [r for r in rows if r["outcome"] in ("failed", "error")]
    unexplained = [r for r in failing if not r["why"]]
    lines = [
        "shim: "
        + ", ".join(f"{k}={v!r}" for k, v in OURS.items())
        + "; "
        + ", ".join(
            f"{name}={mlp!r} -> {ours!r}"
            for name, values in VALUES.items()
            for mlp, ours in values.items()
        )
        + "; cannot map: "
        + ", ".join(
            f"{name} other than {sorted(values)}" for name, values in IMPLIED.items()
        ),
        f"scikit-learn {sklearn.__version__}'s {SOURCE.name}, MLPs replaced by ours: "
        + ", ".join(f"{n} {outcome}" for outcome, n in counts.items()),
        f"failing: {len(failing)} ({len(failing) - len(unexplained)} explained in "
        f"KNOWN, {len(unexplained)} not)",
    ]
    lines += [
        f"  {r['outcome'].upper():6} {r['test']}: "
        + (WHY[r["why"]] if r["why"] else f"NOT EXPLAINED: {r['message']}")
        for r in failing
    ]
    by_reason = {key: sum(r["why"] == key for r in failing) for key in WHY}
    lines.append(
        "failing tests by reason: "
        + ", ".join(f"{key} {n}" for key, n in by_reason.items() if n)
    )
    summary = {
        **counts,
        "failing": len(failing),
        "unexplained": len(unexplained),
        "by_reason": by_reason,
    }
    return Result(
        rows,
        summary=summary,
        tables=[table(failing, COLUMNS, title="failing tests")] if failing else [],
        text="\n".join(lines),
    )


if __name__ == "__main__":
    main(measure, CONFIG, smoke=SMOKE, columns=COLUMNS, doc=__doc__)
