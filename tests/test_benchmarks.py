"""The benchmark runner (benchmarks/_common.py) and the smoke runs of the scripts.

The scripts are not part of the package: they are run from the ``benchmarks`` folder
(on ``sys.path``, as when run as ``python benchmarks/<script>.py``).  Only the
scripts that need no optional package run here, in their ``--smoke`` configuration.
"""

import json
import runpy
import sys
import types
from pathlib import Path

import pytest

BENCHMARKS = Path(__file__).resolve().parents[1] / "benchmarks"
RECORD_KEYS = {
    "name",
    "command",
    "smoke",
    "config",
    "started",
    "finished",
    "seconds",
    "machine",
    "versions",
    "thread_pools",
    "summary",
    "rows",
}


@pytest.fixture
def common(monkeypatch):
    monkeypatch.syspath_prepend(str(BENCHMARKS))
    import _common

    return _common


CONFIG = dict(epochs=10, sizes=(100, 500), rate=0.1, name="a", flag=False, params={})


def test_options_follow_the_configuration(common):
    cfg, args = common.parse(
        CONFIG,
        argv=["--epochs", "3", "--sizes", "7", "--flag", "--params", "a=1", "b=2,3"],
    )
    assert vars(cfg) == dict(
        epochs=3,
        sizes=(7,),
        rate=0.1,
        name="a",
        flag=True,
        params={"a": 1, "b": (2, 3)},
    )
    assert not args.smoke and args.out is None
    # a dict option gathers NAME=VALUE items over repeated flags, as --set did
    cfg, _ = common.parse(CONFIG, argv=["--params", "a=1", "--params", "b=x"])
    assert cfg.params == {"a": 1, "b": "x"}


def test_smoke_and_presets_yield_to_the_command_line(common):
    smoke = dict(epochs=1, sizes=(5,))
    presets = {"short": dict(epochs=2, rate=0.5)}
    cfg, args = common.parse(CONFIG, smoke, presets=presets, argv=["--short"])
    assert (cfg.epochs, cfg.rate, cfg.sizes) == (2, 0.5, (100, 500))
    cfg, _ = common.parse(CONFIG, smoke, presets=presets, argv=["--short", "--smoke"])
    assert (cfg.epochs, cfg.rate, cfg.sizes) == (1, 0.5, (5,))
    # a value equal to the default, given explicitly, still beats --smoke
    cfg, _ = common.parse(CONFIG, smoke, argv=["--smoke", "--epochs", "10"])
    assert (cfg.epochs, cfg.sizes) == (10, (5,))


def test_main_writes_one_record(common, tmp_path, capsys):
    def measure(cfg):
        return common.Result(
            [{"size": s, "seconds": s / 1000} for s in cfg.sizes], summary={"x": 1}
        )

    out = tmp_path / "r.json"
    record = common.main(
        measure, CONFIG, name="demo", argv=["--out", str(out), "--sizes", "4", "8"]
    )
    assert json.loads(out.read_text()) == json.loads(json.dumps(record))
    assert set(record) == RECORD_KEYS
    assert record["rows"] == [
        {"size": 4, "seconds": 0.004},
        {"size": 8, "seconds": 0.008},
    ]
    assert record["config"]["sizes"] == (4, 8) and record["summary"] == {"x": 1}
    assert record["command"] == f"demo --out {out} --sizes 4 8"
    assert "size  seconds" in capsys.readouterr().out


def test_a_smoke_run_writes_nothing_without_out(common, tmp_path, monkeypatch):
    monkeypatch.setattr(common, "RESULTS", tmp_path)
    record = common.main(lambda cfg: [{"a": 1}], CONFIG, name="demo", argv=["--smoke"])
    assert record["smoke"] and not list(tmp_path.iterdir())


def test_table(common):
    rows = [{"name": "x", "value": 1.23456, "skip": None}, {"name": "long", "value": 2}]
    text = common.table(rows, {"name": "", "value": ("v", ".2f"), "skip": ""})
    assert text.splitlines() == ["name     v", "x     1.23", "long  2.00"]


def test_a_missing_package_exits_with_its_name(common):
    with pytest.raises(SystemExit, match="no_such_package.*pip install no_such"):
        common.require("no_such_package", install="pip install no_such")


# the scripts that need no optional package, and the options that keep them so
SCRIPTS = {
    "bench_optimizers": [],
    "bench_anomaly": [],
    "bench_classifier": [],
    "bench_regressor": [],
    "bench_inference_threads": [],
    "bench_reference": ["--no-plot"],
    "bench_scaling": ["--no-plot"],
    "bench_sda_scaling": [],
    "bench_grid_search": [],
    "bench_throughput": ["--no-torch"],
    "bench_swap_noise": [],
    "bench_semi_supervised": [],
    "bench_dimensionality": ["--validate"],
    "bench_threads": [],
    "run_sklearn_mlp_tests": [],
    "bench_callbacks": [],
    "bench_tabular": [],
    "reproduce_vincent2010": ["--no-references"],
}


@pytest.mark.parametrize("script", SCRIPTS)
def test_smoke_run(script, tmp_path, monkeypatch, capsys):
    monkeypatch.syspath_prepend(str(BENCHMARKS))
    out = tmp_path / f"{script}.json"
    path = str(BENCHMARKS / f"{script}.py")
    monkeypatch.setattr(
        sys, "argv", [path, "--smoke", "--out", str(out), *SCRIPTS[script]]
    )
    runpy.run_path(path, run_name="__main__")
    record = json.loads(out.read_text())
    assert set(record) == RECORD_KEYS
    assert record["name"] == script and record["smoke"] and record["rows"]
    assert f"wrote {out}" in capsys.readouterr().out


def test_dimensionality_reads_full_mnist_from_mnist_data_home(monkeypatch):
    monkeypatch.syspath_prepend(str(BENCHMARKS))
    import bench_dimensionality

    monkeypatch.setattr(
        bench_dimensionality, "mnist_data_home", lambda home: f"{home}/checked"
    )
    calls = []

    def fetch_mnist(*, data_home, subset, return_X_y):
        calls.append((data_home, subset, return_X_y))
        return subset + "_X", subset + "_y"

    monkeypatch.setattr(bench_dimensionality, "fetch_mnist", fetch_mnist)
    cfg = types.SimpleNamespace(dataset="mnist", data_home="home")
    assert bench_dimensionality.load(cfg) == ("train_X", "train_y", "test_X", "test_y")
    assert calls == [("home/checked", "train", True), ("home/checked", "test", True)]


def test_vincent2010_tuned_set_and_memory_change_the_tuned_recipe(monkeypatch):
    monkeypatch.syspath_prepend(str(BENCHMARKS))
    import reproduce_vincent2010 as script

    cfg = types.SimpleNamespace(**script.CONFIG)
    tuned = script.recipe_params("tuned", cfg, None, None)
    assert "memory" not in tuned
    assert {k: tuned[k] for k in script.TUNED} == script.TUNED
    cfg.tuned_set = {"momentum": 0.5, "pretrain_learning_rate_init": 0.2}
    cfg.memory = "cache"
    variant = script.recipe_params("tuned", cfg, None, None)
    assert variant == {
        **tuned,
        "momentum": 0.5,
        "pretrain_learning_rate_init": 0.2,
        "memory": "cache",
    }
    # the other recipes keep their own parameters
    assert script.recipe_params("tutorial", cfg, 0.1, 0.5)["momentum"] == 0.0
    assert "memory" not in script.recipe_params("defaults", cfg, None, None)


def test_tabular_skips_a_table_whose_package_is_missing(monkeypatch, capsys):
    monkeypatch.syspath_prepend(str(BENCHMARKS))
    import bench_tabular

    monkeypatch.setitem(bench_tabular.NEEDS, "wine", "no_such_package_for_wine")
    cfg = types.SimpleNamespace(tables=("wine", "breast_cancer"))
    assert bench_tabular.available(cfg) == ["breast_cancer"]
    assert "skipping wine: it needs no_such_package_for_wine" in capsys.readouterr().out


def test_tabular_dae_sees_test_rows_only_in_the_transductive_variant(monkeypatch):
    monkeypatch.syspath_prepend(str(BENCHMARKS))
    import bench_tabular

    seen = []
    fit = bench_tabular.StackedDenoisingAutoencoder.fit

    def recording_fit(self, X, y=None):
        seen.append(len(X))
        return fit(self, X, y)

    monkeypatch.setattr(bench_tabular.StackedDenoisingAutoencoder, "fit", recording_fit)
    cfg = types.SimpleNamespace(**{**bench_tabular.CONFIG, **bench_tabular.SMOKE})
    X, y = bench_tabular.load_table("wine")
    train, test = bench_tabular.splits(cfg, X, y)[0]
    for method in ("DAE+LR", "DAE+LR tr"):
        bench_tabular.fit_score(cfg, method, X, y, train, test, 0)
    assert seen == [len(train), len(X)]
