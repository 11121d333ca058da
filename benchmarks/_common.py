"""The one runner of the benchmark scripts, and the helpers they share.

Every script keeps its configuration in one dict at its top, ``CONFIG``, a smaller one
for ``--smoke`` (a run of seconds that only checks the script works), a function that
measures and returns rows (dicts), and hands the three to :func:`main`.  The runner
makes one command-line option of each configuration key (``--batch-sizes 20 128``),
runs the measurement, prints the rows as one table and writes one record, the same for
every script, as JSON (``results/<script>.json`` unless ``--out``; a smoke run writes
only where ``--out`` says): the command line, the configuration, the machine, the
package versions, the BLAS and its threads, start and end time, the rows and whatever
summary the script adds.  A script looks like this::

    '''What it measures (the first line is its --help).'''
    import time
    from _common import main
    from stackeddae import DenoisingAutoencoder
    from stackeddae.datasets import load_mnist_5k

    CONFIG = dict(epochs=10, widths=(100, 500))
    SMOKE = dict(epochs=1, widths=(10,))
    COLUMNS = {"width": "d", "seconds": ".3f"}  # the table: key -> format

    def measure(cfg):
        X, _ = load_mnist_5k(return_X_y=True)
        rows = []
        for width in cfg.widths:
            dae = DenoisingAutoencoder(width, max_iter=cfg.epochs, random_state=0)
            start = time.perf_counter()
            dae.fit(X)
            rows.append({"width": width, "seconds": time.perf_counter() - start})
        return rows  # or Result(rows, summary={...}, text="more tables")

    if __name__ == "__main__":
        main(measure, CONFIG, smoke=SMOKE, columns=COLUMNS, doc=__doc__)

``measure`` may also return a :class:`Result`: the rows, a ``summary`` dict recorded
beside them, ``tables`` to print instead of the rows (made by :func:`table`, e.g. of
a :func:`pivot` of the rows) and ``text`` printed after them.  ``plot``, given to
:func:`main`, draws the record into a PNG beside the JSON.  A script that needs an
optional package calls :func:`require`, which exits with a message naming the
package when it is missing.
"""

import argparse
import dataclasses
import datetime
import importlib
import json
import os
import platform
import shlex
import sys
import time
import types
from pathlib import Path

import numpy as np
from threadpoolctl import threadpool_info

RESULTS = Path(__file__).resolve().parent / "results"

# Mean training cost (cross-entropy summed over the 784 pixels) printed by the Theano
# tutorial at these epochs of the reference experiment (DAE 784-100, SGD 0.1, batch 20,
# 5000 MNIST digits), by corruption level.
PUBLISHED = {
    0.0: {0: 132.5, 10: 80.2, 100: 70.1, 190: 69.3},
    0.3: {0: 138.4, 10: 87.2, 100: 77.6, 190: 76.0},
}
TOLERANCE = 0.03  # relative difference from the published cost that counts as a match

# the packages whose versions a record names, when they are importable
PACKAGES = (
    "stackeddae",
    "numpy",
    "scipy",
    "sklearn",
    "joblib",
    "threadpoolctl",
    "torch",
    "jax",
    "onnxruntime",
    "skl2onnx",
    "dask",
    "matplotlib",
)


# ------------------------------------------------------------------ the record
def machine():
    """The facts that make a timing comparable: CPU, versions, BLAS."""
    model = ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    torch = sys.modules.get("torch")  # only if the benchmark uses it
    return {
        "platform": platform.platform(),
        "cpu": model or platform.processor(),
        "cpu_count": os.cpu_count(),
        "python": platform.python_version(),
        "numpy": np.__version__,
        "torch": getattr(torch, "__version__", None),
        "blas": [
            {k: info.get(k) for k in ("internal_api", "version", "architecture")}
            for info in threadpool_info()
            if info.get("user_api") == "blas"
        ],
    }


def versions():
    """The versions of the packages in :data:`PACKAGES` that this process imported.

    Only those already imported: a record does not import torch for a script that
    never used it.
    """
    found = {}
    for name in PACKAGES:
        module = sys.modules.get(name)
        if module is not None:
            found[name] = getattr(module, "__version__", None)
    return found


def thread_pools():
    """Each thread pool of the process (BLAS, OpenMP), with its current size."""
    keys = ("user_api", "internal_api", "num_threads", "version", "filepath")
    return [{k: info.get(k) for k in keys} for info in threadpool_info()]


def now():
    return datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds")


def _plain(value):
    """``json.dumps``'s fallback: numpy scalars and arrays, tuples, paths."""
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, Path):
        return str(value)
    if isinstance(value, (set, frozenset)):
        return sorted(value)
    raise TypeError(f"{type(value).__name__} is not JSON serializable")


def write_json(path, payload):
    """Write ``payload`` as indented JSON, creating the folder."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(payload, indent=1, default=_plain) + "\n")


# ------------------------------------------------------------------- the table
def _cell(value, spec):
    if value is None:
        return "-"
    if isinstance(value, (list, tuple)):
        return " ".join(_cell(v, spec) for v in value)
    if spec and not isinstance(value, str):
        try:
            return format(value, spec)
        except (TypeError, ValueError):
            pass
    if isinstance(value, float):
        return f"{value:.4g}"
    return str(value)


def table(rows, columns=None, title=None):
    """The rows as a text table, one column per key of ``columns`` (key -> format).

    Without ``columns``, every key of the rows whose values are scalars, formatted
    with ``.4g`` for floats.  A ``columns`` value may be a format (``".3f"``) or a
    pair ``(header, format)``.  Missing values print as ``-``.
    """
    rows = list(rows)
    if columns is None:
        columns = {}
        for row in rows:
            for key, value in row.items():
                if not isinstance(value, dict):
                    columns.setdefault(key, "")
    specs = {}
    for key, spec in columns.items():
        if all(row.get(key) is None for row in rows):  # nothing to show
            continue
        header, fmt = spec if isinstance(spec, tuple) else (key, spec)
        specs[key] = (header.replace("_", " "), fmt)
    cells = [
        [_cell(row.get(key), fmt) for key, (_, fmt) in specs.items()] for row in rows
    ]
    headers = [header for header, _ in specs.values()]
    widths = [max([len(h)] + [len(r[i]) for r in cells]) for i, h in enumerate(headers)]
    lines = [title] if title else []
    # text columns align left, numbers right
    left = [
        all(isinstance(row.get(key), (str, type(None))) for row in rows)
        for key in specs
    ]

    def line(texts):
        return "  ".join(
            t.ljust(w) if is_text else t.rjust(w)
            for t, w, is_text in zip(texts, widths, left, strict=True)
        ).rstrip()

    lines.append(line(headers))
    lines += [line(r) for r in cells]
    return "\n".join(lines)


def pivot(rows, index, column, value):
    """Rows of one ``index`` value each, one column per ``column`` value, of ``value``.

    ``pivot(rows, "task", "method", "auroc")`` turns long rows (one per task and
    method) into one row per task with the AUROC of each method, for :func:`table`.
    """
    wide = {}
    for row in rows:
        wide.setdefault(row[index], {index: row[index]})[row[column]] = row.get(value)
    return list(wide.values())


# ------------------------------------------------------------------ the runner
@dataclasses.dataclass
class Result:
    """What ``measure`` returns when the rows alone do not say it all."""

    rows: list
    summary: dict = dataclasses.field(default_factory=dict)  # recorded, not printed
    text: str = ""  # printed after the table
    tables: list = None  # the tables to print instead of the rows (pre-rendered)


class Usage(Exception):
    """A configuration the script cannot run; the runner prints it as a usage error."""


def pyplot():
    """matplotlib's pyplot on the Agg backend, or None when matplotlib is missing."""
    try:
        import matplotlib
    except ImportError:
        return None
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def require(module, why="", install=None):
    """Import ``module``, or exit with a message naming it and how to install it."""
    try:
        return importlib.import_module(module)
    except ImportError as exc:
        script = Path(sys.argv[0]).name or "this benchmark"
        hint = install or f"pip install {module.split('.')[0]}"
        sys.exit(f"{script} needs {module}{' ' + why if why else ''} ({hint}): {exc}")


def _option(parser, key, default, help_text, choices):
    """``--key``, typed after the default; absent from the namespace unless given."""
    kwargs = {"dest": key, "default": argparse.SUPPRESS}
    if choices is not None:
        kwargs["choices"] = choices
    if isinstance(default, bool):
        kwargs["action"] = argparse.BooleanOptionalAction
    elif isinstance(default, (tuple, list)):
        kinds = {type(v) for v in default}
        kind = kinds.pop() if len(kinds) == 1 else None
        kwargs.update(
            nargs="*", type=kind if kind in (int, float, str) else _parse_value
        )
    elif isinstance(default, dict):  # --key a=1 b=2,3 --key c=x: merged into it
        kwargs.update(nargs="+", action=_Assign, metavar="NAME=VALUE")
    elif isinstance(default, (int, float, str)):
        kwargs["type"] = type(default)
    else:  # None: a number, true/false/none, JSON or text
        kwargs["type"] = _parse_value
    shown = json.dumps(default, default=_plain)
    kwargs["help"] = f"{help_text + ' ' if help_text else ''}(default: {shown})"
    parser.add_argument("--" + key.replace("_", "-"), **kwargs)


def parse_value(text):
    """A command-line value: ``1``, ``0.1``, ``true``, ``none``, ``a,b`` (a tuple)."""
    if "," in text:
        return tuple(parse_value(t) for t in text.split(",") if t)
    for kind in (int, float):
        try:
            return kind(text)
        except ValueError:
            pass
    words = {"true": True, "false": False, "none": None}
    return words.get(text.lower(), text)


def _parse_value(text):
    try:
        return json.loads(text)
    except ValueError:
        return parse_value(text)


class _Assign(argparse.Action):
    """``NAME=VALUE`` items, gathered over repeated options into one dict."""

    def __call__(self, parser, namespace, values, option_string=None):
        gathered = dict(getattr(namespace, self.dest, {}))
        for item in values:
            name, sep, value = item.partition("=")
            if not sep:
                parser.error(f"{option_string} takes NAME=VALUE, not {item!r}")
            gathered[name] = parse_value(value)
        setattr(namespace, self.dest, gathered)


def parse(
    config, smoke=None, *, doc="", helps=None, choices=None, presets=None, argv=None
):
    """The configuration after the presets, ``--smoke`` and the command line.

    Returns ``(cfg, args)``: ``cfg`` a namespace of the configuration keys, ``args``
    the parsed options (``smoke``, ``out``, ``presets``: the names given).

    Each key of ``config`` is an option of the same name (``_`` written ``-``), typed
    after its default: a tuple or list takes several values, a bool is ``--key`` /
    ``--no-key``, a dict takes ``NAME=VALUE`` items that update it (``--set
    alpha=0.1 sizes=500,500``; a comma makes a tuple), ``None`` reads a number,
    ``none``, JSON or text.  Each key of ``presets`` (name -> values) is a flag
    ``--name`` that takes its values; ``--smoke`` takes ``smoke``'s values; the
    options given on the command line override both.
    """
    helps, choices = helps or {}, choices or {}
    description = (doc or "").strip().split("\n\n")[0]
    parser = argparse.ArgumentParser(
        description=description,
        epilog="Every option defaults to the configuration at the script's top.",
    )
    parser.add_argument(
        "--smoke",
        action="store_true",
        help="a tiny configuration that runs in seconds (writes nothing without --out)",
    )
    parser.add_argument(
        "--out",
        type=Path,
        default=None,
        help="JSON record to write (default results/<script>.json)",
    )
    presets = presets or {}
    for preset in presets:
        parser.add_argument(
            "--" + preset.replace("_", "-"),
            action="store_true",
            help=f"the {preset} configuration: "
            + ", ".join(f"{k}={v}" for k, v in presets[preset].items()),
        )
    for key, default in config.items():
        _option(parser, key, default, helps.get(key), choices.get(key))
    args = parser.parse_args(argv)
    args.presets = [preset for preset in presets if getattr(args, preset)]
    values = dict(config)
    for preset in args.presets:
        values.update(presets[preset])
    if args.smoke:
        values.update(smoke or {})
    for key, value in vars(args).items():
        if key not in config:
            continue
        if isinstance(config[key], tuple):
            value = tuple(value)
        elif isinstance(config[key], dict):  # the items given update the default
            value = {**values[key], **value}
        values[key] = value
    return types.SimpleNamespace(**values), args


def main(
    measure,
    config,
    *,
    smoke=None,
    doc="",
    columns=None,
    title=None,
    helps=None,
    choices=None,
    plot=None,
    presets=None,
    name=None,
    argv=None,
):
    """Parse the command line, measure, print the table, write the record.

    Parameters
    ----------
    measure : callable
        ``measure(cfg) -> rows or Result``; ``cfg`` has one attribute per key of
        ``config`` (after the overrides).
    config : dict
        The full configuration, whose keys become the command-line options.
    smoke : dict, optional
        The keys ``--smoke`` changes, so that the run takes seconds.
    doc : str
        The script's docstring (``--help`` shows its first paragraph).
    columns, title : optional
        The table of the rows: see :func:`table`.
    helps, choices : dict, optional
        ``--help`` texts and allowed values, by configuration key.
    presets : dict, optional
        Named configurations (name -> the keys they change), each a flag
        ``--name``; the record of a run with one is ``results/<script>_<name>.json``.
    plot : callable, optional
        ``plot(record, path)`` draws the record into the PNG ``path`` (beside the
        JSON record) and returns it, or None without matplotlib; it is not called
        when no record is written, nor when the configuration's ``plot`` is false
        (``--no-plot``).
    name : str, optional
        The record's name (default the script's file name without ``.py``).
    argv : list of str, optional
        The command line (default ``sys.argv[1:]``).

    Returns
    -------
    record : dict
        What was written (also when nothing was written: a smoke run).
    """
    cfg, args = parse(
        config,
        smoke,
        doc=doc,
        helps=helps,
        choices=choices,
        presets=presets,
        argv=argv,
    )
    name = "_".join([name or Path(sys.argv[0]).stem, *args.presets])
    started, start = now(), time.perf_counter()
    try:
        result = measure(cfg)
    except Usage as exc:
        sys.exit(f"{name}: {exc}")
    if not isinstance(result, Result):
        result = Result(list(result))
    record = {
        "name": name,
        "command": shlex.join(["python", *sys.argv] if argv is None else [name, *argv]),
        "smoke": args.smoke,
        "config": vars(cfg),
        "started": started,
        "finished": now(),
        "seconds": round(time.perf_counter() - start, 3),
        "machine": machine(),
        "versions": versions(),
        "thread_pools": thread_pools(),
        "summary": result.summary,
        "rows": result.rows,
    }
    print(
        "\n"
        + " ".join(f"{k}={json.dumps(v, default=_plain)}" for k, v in vars(cfg).items())
    )
    if result.tables is not None:
        print("\n\n".join(result.tables))
    elif result.rows:
        print(table(result.rows, columns, title))
    if result.text:
        print(result.text)
    out = args.out
    if out is None and not args.smoke:
        out = RESULTS / f"{name}.json"
    if out is None:
        print("\nsmoke run: no record written (--out PATH keeps it)")
        return record
    write_json(out, record)
    print(f"\nwrote {out}")
    if plot is not None and getattr(cfg, "plot", True):
        figure = Path(out).with_suffix(".png")
        if plot(record, figure):  # None: matplotlib is missing
            print(f"wrote {figure}")
    return record


# ------------------------------------------------------- shared measurements
def make_optimizer(est, params, state=None, training=None):
    """The optimizer named by ``est.solver``, configured from ``est``'s parameters.

    As the training loop makes it.  ``training`` is the ``_training`` module of the
    stackeddae to use (default the imported one; ``bench_step_versions.py`` passes an
    older checkout's, which may still have its own ``make_optimizer``).
    """
    if training is None:
        training = importlib.import_module("stackeddae._training")
    if not hasattr(training, "Settings"):  # versions before the Settings class
        return training.make_optimizer(est, params, state)
    return training.Settings.from_estimator(est).optimizer(params, state)


def loop_step(objective):
    """``update(*args)``'s arguments as the training loop passes them: the gradients,
    and the factors of the weight gradients where this version's objective leaves
    them so (``stackeddae/_objectives.py``; the objective is set to it here).

    Call ``optimizer.update(*args)`` after each call of the objective; the list of
    factors is the objective's own, filled by each call.
    """
    package = type(objective).__module__.rsplit(".", 1)[0]
    try:
        blas = importlib.import_module(package + "._blas")
    except ModuleNotFoundError:  # versions before the fused SGD step
        return (objective.grads,)
    if not hasattr(objective, "factored") or not blas.available():
        return (objective.grads,)
    objective.factored = True
    return (objective.grads, objective.factors)


def thread_cpu_seconds():
    """CPU seconds (user + system) of each thread of this process, by thread id.

    Read from ``/proc/self/task`` (Linux); empty elsewhere.  The difference of two
    readings around some work shows how many threads did it.
    """
    tick = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100
    seconds = {}
    try:
        tasks = list(Path("/proc/self/task").iterdir())
    except OSError:
        return seconds
    for task in tasks:
        try:
            fields = (task / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:  # the thread ended meanwhile
            continue
        seconds[task.name] = (int(fields[11]) + int(fields[12])) / tick
    return seconds


def busy_threads(before, after, share=0.05):
    """Threads that used more than ``share`` of the CPU time between two readings."""
    deltas = [after[t] - before.get(t, 0.0) for t in after]
    total = sum(deltas)
    return sum(d > share * total for d in deltas) if total > 0 else 0
