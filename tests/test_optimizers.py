"""Optimizers against their closed-form updates; schedules; resumable state."""

import tracemalloc

import numpy as np
import pytest
from numpy.testing import assert_allclose, assert_array_equal

from stackeddae import _optimizers
from stackeddae._optimizers import (
    OPTIMIZERS,
    AdaDeltaOptimizer,
    AdaGradOptimizer,
    AdamOptimizer,
    RMSPropOptimizer,
    SGDOptimizer,
)

N_STEPS = 3


def _start():
    """Two parameter arrays of different shapes."""
    return [np.array([[1.0, -2.0], [0.5, 3.0]]), np.array([0.25, -0.75, 2.0])]


def _gradients():
    """Fixed gradients for each of the steps (a different one per step)."""
    rng = np.random.default_rng(0)
    return [[rng.standard_normal(p.shape) for p in _start()] for _ in range(N_STEPS)]


def _run(optimizer, grads):
    for step in grads:
        optimizer.update([g.copy() for g in step])
    return optimizer.params


# Closed-form updates, written out by hand with fresh numpy arrays.


def _sgd(lr):
    params = _start()
    for step in _gradients():
        params = [p - lr * g for p, g in zip(params, step, strict=True)]
    return params


def _momentum(lr, mu, nesterov):
    params = _start()
    velocities = [np.zeros_like(p) for p in params]
    for step in _gradients():
        velocities = [mu * v - lr * g for v, g in zip(velocities, step, strict=True)]
        if nesterov:
            params = [
                p + mu * v - lr * g
                for p, v, g in zip(params, velocities, step, strict=True)
            ]
        else:
            params = [p + v for p, v in zip(params, velocities, strict=True)]
    return params


def _adagrad(lr, eps):
    params = _start()
    acc = [np.zeros_like(p) for p in params]
    for step in _gradients():
        acc = [a + g**2 for a, g in zip(acc, step, strict=True)]
        params = [
            p - lr * g / (np.sqrt(a) + eps)
            for p, g, a in zip(params, step, acc, strict=True)
        ]
    return params


def _rmsprop(lr, rho, eps):
    params = _start()
    acc = [np.zeros_like(p) for p in params]
    for step in _gradients():
        acc = [rho * a + (1 - rho) * g**2 for a, g in zip(acc, step, strict=True)]
        params = [
            p - lr * g / (np.sqrt(a) + eps)
            for p, g, a in zip(params, step, acc, strict=True)
        ]
    return params


def _adadelta(rho, eps):
    params = _start()
    a_avg = [np.zeros_like(p) for p in params]
    s_avg = [np.zeros_like(p) for p in params]
    for step in _gradients():
        new_params = []
        for k, (p, g) in enumerate(zip(params, step, strict=True)):
            a_avg[k] = rho * a_avg[k] + (1 - rho) * g**2
            d = -np.sqrt(s_avg[k] + eps) / np.sqrt(a_avg[k] + eps) * g
            s_avg[k] = rho * s_avg[k] + (1 - rho) * d**2
            new_params.append(p + d)
        params = new_params
    return params


def _adam(lr, b1, b2, eps):
    params = _start()
    m = [np.zeros_like(p) for p in params]
    v = [np.zeros_like(p) for p in params]
    for t, step in enumerate(_gradients(), start=1):
        m = [b1 * mk + (1 - b1) * g for mk, g in zip(m, step, strict=True)]
        v = [b2 * vk + (1 - b2) * g**2 for vk, g in zip(v, step, strict=True)]
        lr_t = lr * np.sqrt(1 - b2**t) / (1 - b1**t)
        params = [
            p - lr_t * mk / (np.sqrt(vk) + eps)
            for p, mk, vk in zip(params, m, v, strict=True)
        ]
    return params


CASES = {
    "sgd": (
        lambda p: SGDOptimizer(p, learning_rate_init=0.1, momentum=0.0),
        lambda: _sgd(0.1),
    ),
    "sgd_momentum": (
        lambda p: SGDOptimizer(
            p, learning_rate_init=0.1, momentum=0.8, nesterovs_momentum=False
        ),
        lambda: _momentum(0.1, 0.8, nesterov=False),
    ),
    "sgd_nesterov": (
        lambda p: SGDOptimizer(
            p, learning_rate_init=0.1, momentum=0.8, nesterovs_momentum=True
        ),
        lambda: _momentum(0.1, 0.8, nesterov=True),
    ),
    "adagrad": (
        lambda p: AdaGradOptimizer(p, learning_rate_init=0.05, epsilon=1e-3),
        lambda: _adagrad(0.05, 1e-3),
    ),
    "rmsprop": (
        lambda p: RMSPropOptimizer(p, learning_rate_init=0.01, rho=0.8, epsilon=1e-3),
        lambda: _rmsprop(0.01, 0.8, 1e-3),
    ),
    "adadelta": (
        # learning_rate_init is ignored by AdaDelta
        lambda p: AdaDeltaOptimizer(p, learning_rate_init=123.0, rho=0.9, epsilon=1e-2),
        lambda: _adadelta(0.9, 1e-2),
    ),
    "adam": (
        lambda p: AdamOptimizer(
            p, learning_rate_init=0.01, beta_1=0.8, beta_2=0.9, epsilon=1e-3
        ),
        lambda: _adam(0.01, 0.8, 0.9, 1e-3),
    ),
}


@pytest.mark.parametrize("case", list(CASES))
def test_three_steps_match_closed_form(case):
    make, closed_form = CASES[case]
    params = _start()
    arrays = [id(p) for p in params]
    optimizer = make(params)
    _run(optimizer, _gradients())
    # updated in place: the very same arrays
    assert [id(p) for p in optimizer.params] == arrays
    expected = closed_form()
    for p, e, p0 in zip(params, expected, _start(), strict=True):
        assert_allclose(p, e, rtol=1e-12, atol=1e-14)
        assert not np.allclose(p, p0)


def test_adam_is_close_to_the_textbook_bias_corrected_form():
    # With a tiny epsilon the folded bias correction equals m_hat / sqrt(v_hat).
    params = _start()
    opt = AdamOptimizer(params, learning_rate_init=0.01, epsilon=1e-12)
    _run(opt, _gradients())
    p_ref = _start()
    m = [np.zeros_like(p) for p in p_ref]
    v = [np.zeros_like(p) for p in p_ref]
    for t, step in enumerate(_gradients(), start=1):
        for k, g in enumerate(step):
            m[k] = 0.9 * m[k] + 0.1 * g
            v[k] = 0.999 * v[k] + 0.001 * g**2
            m_hat, v_hat = m[k] / (1 - 0.9**t), v[k] / (1 - 0.999**t)
            p_ref[k] = p_ref[k] - 0.01 * m_hat / np.sqrt(v_hat)
    for p, e in zip(params, p_ref, strict=True):
        assert_allclose(p, e, rtol=1e-9)


def test_sgd_plain_first_step_by_hand():
    p = [np.array([1.0, 2.0])]
    SGDOptimizer(p, learning_rate_init=0.1, momentum=0).update([np.array([1.0, -1.0])])
    assert_allclose(p[0], [0.9, 2.1])


def test_float32_params_stay_float32():
    for name, cls in OPTIMIZERS.items():
        params = [p.astype(np.float32) for p in _start()]
        opt = cls(params)
        _run(opt, [[g.astype(np.float32) for g in step] for step in _gradients()])
        assert all(p.dtype == np.float32 for p in params), name
        assert all(np.all(np.isfinite(p)) for p in params), name


@pytest.mark.parametrize("case", list(CASES))
def test_state_passed_to_a_new_optimizer_continues_exactly(case):
    make, _ = CASES[case]
    grads = _gradients()
    reference = _start()
    _run(make(reference), grads)

    params = _start()
    first = make(params)
    _run(first, grads[:2])
    cls = type(first)
    second_kwargs = {
        k: getattr(first, k)
        for k in (
            "momentum",
            "nesterovs_momentum",
            "epsilon",
            "rho",
            "beta_1",
            "beta_2",
        )
        if hasattr(first, k)
    }
    second = cls(
        params,
        learning_rate_init=first.learning_rate_init,
        state=first.state,
        **second_kwargs,
    )
    assert second.state is first.state
    _run(second, grads[2:])
    for p, r in zip(params, reference, strict=True):
        assert_array_equal(p, r)


def test_adam_state_counts_steps():
    opt = AdamOptimizer(_start())
    _run(opt, _gradients())
    assert opt.state["t"] == N_STEPS
    again = AdamOptimizer(opt.params, state=opt.state)
    again.update([np.ones_like(p) for p in opt.params])
    assert again.state["t"] == N_STEPS + 1


def test_a_fresh_optimizer_without_state_starts_over():
    # Without the state, momentum restarts from zero: the step differs.
    grads = _gradients()
    reference = _start()
    _run(SGDOptimizer(reference, momentum=0.9), grads)
    params = _start()
    _run(SGDOptimizer(params, momentum=0.9), grads[:2])
    _run(SGDOptimizer(params, momentum=0.9), grads[2:])
    assert not np.allclose(params[0], reference[0])


def test_invscaling_schedule():
    params = _start()
    opt = SGDOptimizer(
        params,
        learning_rate_init=0.2,
        lr_schedule="invscaling",
        power_t=0.5,
        momentum=0,
    )
    assert opt.learning_rate == 0.2
    opt.iteration_ends(99)
    assert_allclose(opt.learning_rate, 0.2 / 100**0.5)
    opt.iteration_ends(399)
    assert_allclose(opt.learning_rate, 0.2 / 400**0.5)
    # the next step uses the scheduled rate
    before = [p.copy() for p in params]
    grads = [np.ones_like(p) for p in params]
    opt.update(grads)
    for p, b in zip(params, before, strict=True):
        assert_allclose(p, b - 0.01)


def test_invscaling_power_t():
    opt = AdamOptimizer(_start(), learning_rate_init=1.0, lr_schedule="invscaling")
    opt.power_t = 0.25
    opt.iteration_ends(15)
    assert_allclose(opt.learning_rate, 16**-0.25)


def test_constant_schedule_never_changes():
    opt = SGDOptimizer(_start(), learning_rate_init=0.3)
    opt.iteration_ends(1000)
    assert opt.learning_rate == 0.3
    assert opt.trigger_stopping("no progress.", verbose=False) is True
    assert opt.learning_rate == 0.3


def test_adaptive_schedule_divides_by_five_then_stops(capsys):
    opt = SGDOptimizer(_start(), learning_rate_init=0.1, lr_schedule="adaptive")
    opt.iteration_ends(1000)  # adaptive ignores the sample count
    assert opt.learning_rate == 0.1
    rates = []
    while not opt.trigger_stopping("no progress.", verbose=False):
        rates.append(opt.learning_rate)
        assert len(rates) < 100
    expected = [0.1 / 5**k for k in range(1, 9)]
    assert_allclose(rates, expected, rtol=1e-12)
    assert rates[-2] > 1e-6 >= rates[-1]
    # once below the floor it keeps answering "stop" and leaves the rate alone
    assert opt.trigger_stopping("no progress.", verbose=False) is True
    assert opt.learning_rate == rates[-1]
    assert capsys.readouterr().out == ""


def test_adaptive_schedule_verbose_messages(capsys):
    opt = SGDOptimizer(_start(), learning_rate_init=1e-6, lr_schedule="adaptive")
    assert opt.trigger_stopping("Loss flat.", verbose=True) is True
    assert "Learning rate too small" in capsys.readouterr().out
    opt = SGDOptimizer(_start(), learning_rate_init=1.0, lr_schedule="adaptive")
    assert opt.trigger_stopping("Loss flat.", verbose=True) is False
    assert "Setting learning rate to 0.2" in capsys.readouterr().out


def test_adaptive_learning_rate_lives_in_state():
    params = _start()
    opt = SGDOptimizer(params, learning_rate_init=0.5, lr_schedule="adaptive")
    opt.trigger_stopping("", verbose=False)
    resumed = SGDOptimizer(
        params, learning_rate_init=0.5, lr_schedule="adaptive", state=opt.state
    )
    assert resumed.learning_rate == 0.1


def test_adadelta_ignores_learning_rate_init():
    a, b = _start(), _start()
    _run(AdaDeltaOptimizer(a, learning_rate_init=1.0), _gradients())
    _run(AdaDeltaOptimizer(b, learning_rate_init=1e-5), _gradients())
    for pa, pb in zip(a, b, strict=True):
        assert_array_equal(pa, pb)


def _factored_steps():
    """Per step: the first parameter's gradient as factors (A, B) of its product,
    and the second's (a vector) as a plain gradient."""
    rng = np.random.default_rng(1)
    return [
        (rng.standard_normal((2, 3)), rng.standard_normal((3, 2)), g)
        for g in (step[1] for step in _gradients())
    ]


@pytest.mark.parametrize("case", list(CASES))
@pytest.mark.parametrize("decay", [0.0, 0.3])
@pytest.mark.parametrize("blas", [True, False])
def test_factored_gradients_step_as_their_products(case, decay, blas, monkeypatch):
    if not blas:  # numpy's products and passes, where numpy's BLAS is out of reach
        monkeypatch.setattr("stackeddae._optimizers.gemm", lambda *args: False)
    make, _ = CASES[case]
    factored, plain = _start(), _start()
    opt_factored, opt_plain = make(factored), make(plain)
    for A, B, g in _factored_steps():
        grads = [np.full_like(factored[0], np.nan), g.copy()]  # the product's place
        opt_factored.update(grads, [(A, B, decay), None])
        opt_plain.update([A @ B + decay * plain[0], g.copy()])
    for p, e in zip(factored, plain, strict=True):
        assert_allclose(p, e, rtol=1e-12, atol=1e-14)
    assert not np.allclose(factored[0], _start()[0])


def test_plain_sgd_takes_a_factored_step_in_the_product(monkeypatch):
    # the gemm writes the step into the weights: the gradient buffer stays as it was
    calls = []
    original = _optimizers.gemm

    def watched(alpha, A, B, beta, C):
        calls.append((alpha, beta, C))
        return original(alpha, A, B, beta, C)

    monkeypatch.setattr("stackeddae._optimizers.gemm", watched)
    p = [np.ones((2, 2)), np.zeros(2)]
    grads = [np.full((2, 2), np.nan), np.array([1.0, -1.0])]
    A, B = np.eye(2), np.array([[1.0, 2.0], [3.0, 4.0]])
    sgd = SGDOptimizer(p, learning_rate_init=0.5, momentum=0)
    sgd.update(grads, [(A, B, 0.1), None])
    assert_allclose(p[0], (1 - 0.5 * 0.1) * 1.0 - 0.5 * B)
    assert_allclose(p[1], [-0.5, 0.5])
    assert np.isnan(grads[0]).all()
    assert [(a, b) for a, b, _ in calls] == [(-0.5, 1 - 0.5 * 0.1)]
    assert calls[0][2] is p[0]


def test_plain_sgd_leaves_read_only_weights_to_numpy():
    # weights that cannot be written (a model loaded with mmap_mode="r") raise
    # numpy's error; the product must not write into them behind numpy's back
    p = [np.ones((2, 2)), np.zeros(2)]
    p[0].flags.writeable = False
    sgd = SGDOptimizer(p, learning_rate_init=0.5, momentum=0)
    A, B = np.eye(2), np.array([[1.0, 2.0], [3.0, 4.0]])
    with pytest.raises(ValueError, match="read-only"):
        sgd.update([np.empty((2, 2)), np.array([1.0, -1.0])], [(A, B, 0.0), None])
    assert_array_equal(p[0], 1.0)


def _decayed_steps(dtype, lr, lr_decay, n_steps, factored):
    """Plain SGD of a 20 x 30 weight under an L2 decay (lr * decay = lr_decay),
    each step's gradient A B + decay W factored or filled; the final weight."""
    rng = np.random.default_rng(0)
    W = rng.standard_normal((20, 30)).astype(dtype)
    sgd, decay = SGDOptimizer([W], learning_rate_init=lr, momentum=0), lr_decay / lr
    g = np.empty_like(W)
    for _ in range(n_steps):
        A = (0.01 * rng.standard_normal((20, 4))).astype(dtype)
        B = rng.standard_normal((4, 30)).astype(dtype)
        if factored:
            sgd.update([g], [(A, B, decay)])
        else:
            sgd.update([A @ B + dtype(decay) * W])
    return W


@pytest.mark.parametrize("lr_decay", [1e-8, 1e-6])
def test_float32_plain_sgd_keeps_a_small_weight_decay(lr_decay):
    # in float32, 1 - lr decay as gemm's beta loses lr decay below 3e-8 and rounds
    # it to a multiple of 6e-8 above, at every step: the factored step must stay
    # as close to the float64 run as the step of filled gradients
    exact = _decayed_steps(np.float64, 0.1, lr_decay, 3000, factored=True)

    def error(W):
        return float(np.mean(np.abs(W - exact) / np.abs(exact)))

    filled = error(_decayed_steps(np.float32, 0.1, lr_decay, 3000, factored=False))
    factored = error(_decayed_steps(np.float32, 0.1, lr_decay, 3000, factored=True))
    assert filled < 1e-5  # float32's rounding, no lost decay
    assert factored < 3 * filled


@pytest.mark.parametrize(
    "dtype, decay, fused",
    [(np.float64, 0.0, True), (np.float64, 0.01, True)]
    + [(np.float32, 0.0, True), (np.float32, 0.01, False)],
)
def test_plain_sgd_fuses_the_decay_in_float64_only(monkeypatch, dtype, decay, fused):
    calls = []
    original = _optimizers.gemm

    def watched(alpha, A, B, beta, C):
        calls.append((beta, C))
        return original(alpha, A, B, beta, C)

    monkeypatch.setattr("stackeddae._optimizers.gemm", watched)
    rng = np.random.default_rng(0)
    W, A, B = (rng.standard_normal(s).astype(dtype) for s in [(3, 4), (3, 2), (2, 4)])
    start = W.copy()
    SGDOptimizer([W], learning_rate_init=0.5, momentum=0).update(
        [np.empty_like(W)], [(A, B, decay)]
    )
    assert (calls[0][1] is W) == fused  # the step in the product, or in passes
    if fused:
        assert calls[0][0] == 1 - 0.5 * decay
    expected = start - 0.5 * (A.astype(float) @ B + decay * start)
    assert_allclose(W, expected, rtol=1e-5 if dtype == np.float32 else 1e-12)


@pytest.mark.parametrize("decay", [0.0, 0.3])
def test_products_without_numpys_blas_allocate_no_product_without_decay(
    monkeypatch, decay
):
    # where gemm is out of reach the product is numpy's: into the gradient itself
    # when there is no decay to add to it
    monkeypatch.setattr("stackeddae._optimizers.gemm", lambda *args: False)
    rng = np.random.default_rng(0)
    A, B = rng.standard_normal((200, 10)), rng.standard_normal((10, 300))
    p, g = [rng.standard_normal((200, 300))], [np.empty((200, 300))]
    _optimizers.take_products(p, g, [(A, B, decay)], 0.5)  # warm up
    tracemalloc.start()
    try:
        _optimizers.take_products(p, g, [(A, B, decay)], 0.5)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert_allclose(g[0], 0.5 * (A @ B + decay * p[0]), rtol=1e-12)
    assert (peak >= g[0].nbytes) == bool(decay)
