"""The objectives the training loop minimises: cost and gradients of a mini-batch.

An objective owns preallocated buffers, exposes ``params`` and ``grads`` (flat lists
of arrays, updated in place) and ``batch_size``, and ``objective(X, Y)`` returns the
mean cost of the mini-batch and fills ``grads`` (see ``_training.py``);
``objective(X, Y, weights)`` the weighted mean, with the rows' sample weights.

With ``factored`` set (the training loop sets it for its run, where numpy's BLAS
takes C <- alpha A B + beta C in the weights' dtype: ``_blas``), an objective
leaves the gradient of each weight matrix as its factors instead:
``factors[i] = (A, B, decay)`` for ``params[i]``, whose gradient is
``A @ B + decay * params[i]`` (``decay``: the L2 term's ``alpha / m``), None
where ``grads[i]`` holds it.  The optimizer takes the product
itself, into the weights for plain SGD (``_optimizers``): the product then writes
no gradient, and the step takes no pass of its own.  The factors are the
objective's buffers (and the mini-batch), valid until its next call.

Sample weights (``weights``, one per row, or None) are normalised as scikit-learn's
MLP normalises them (``BaseMultilayerPerceptron._backprop``): the cost is the
weighted mean ``sum_i w_i loss_i / sum_i w_i``, the gradients are of it, and the L2
penalty is ``alpha / (2 sum_i w_i) ||W||^2`` (``sum_i w_i`` where the unweighted
cost has m).  One row scaling of the output delta by ``w_i / sum w`` (into a
reused buffer) carries the weights through backpropagation; without weights the
step is the unweighted one, unchanged.

One mini-batch of a denoising autoencoder, top to bottom (``DAEObjective``)::

    x~ = corrupt(x)              masking / gaussian / salt-and-pepper / swap noise
    y  = s(x~ W^T + b)           encoder (W has shape (n_components, n_features))
    a  = y W + b'                decoder pre-activation (tied: W' = W^T)
    cost = loss(a, x)            cross-entropy from the logits, or squared error
    backward: da -> db', dy -> db, dW  (tied: one product [dy^T | y^T] [x~; da])

and of the supervised network (``NetworkObjective``, fine-tuning): the encoders,
then the head's pre-activation, its loss against Y, and backpropagation down;
``SemiSupervisedObjective`` adds a term for the unlabeled rows of a mini-batch.

The unrolled stack (``UnrolledObjective``, a deep autoencoder's fine-tuning)::

    h_0 = corrupt(x)                          the denoising criterion at the top
    h_k = s_k(h_{k-1} W_k^T + b_k)            encoders, k = 1..L (h_L: the code)
    z_L = h_L,  z_{k-1} = o_k(z_k W'_k + b'_k) decoders, k = L..1 (W'_k = W_k tied)
    cost = loss(a_0, x)                       a_0: z_0's pre-activation; clean x
    backward: the decoders bottom up, then the encoders top down; a tied W_k
    collects both its gradients
"""

import numpy as np

from ._activations import ACTIVATIONS, DERIVATIVES
from ._corruption import CORRUPTIONS, dropout_mask
from ._losses import LOSSES, l2_penalty


def weighted_loss(loss, A, Y, work, weights, scaled):
    """The weighted mean of the rows' losses, and their total weight.

    ``A`` becomes ``w_i / sum w`` times each row's gradient (one row scaling, the
    ratios written into ``scaled``, a reused buffer of at least m entries), as
    ``loss(..., scale=1/m)`` makes it the unweighted mean's.
    """
    total = float(weights.sum())
    ratios = scaled[: weights.shape[0]]
    np.multiply(weights, 1.0 / total, out=ratios)
    costs = loss(A, Y, work, axis=1)
    A *= ratios[:, None]
    return float(np.dot(ratios, costs)), total


class DAEObjective:
    """Cost and gradients of one DAE on a mini-batch, in preallocated buffers.

    ``visible`` stacks [x~; da], one sample per row.  The hidden layer is kept one
    unit per row, y^T and dy^T (n_components x m, each contiguous), because OpenBLAS
    computes W x~^T and W da^T 1.05-1.45x faster than x~ W^T and da W^T (one
    thread, float32, ``benchmarks/RESULTS.md``).  The tied gradient
    dW = dy^T x~ + y^T da is one product [dy^T | y^T] [x~; da], over a copy of the
    two side by side (n_components x 2m, a small copy beside the product; 1.13-1.16x
    faster than two products accumulated by scipy's gemm at batch 20, and numpy's
    BLAS only in the step: see ``_optimizers``).  Gradients are of the mean cost
    over the mini-batch (the loss folds 1/m into da).
    """

    def __init__(self, dae, batch_size):
        self.batch_size = batch_size
        self.tied = dae.tied_weights
        self.params = [dae.components_, dae.intercept_hidden_, dae.intercept_visible_]
        if not self.tied:
            self.params.append(dae.decoder_components_)
        self.grads = [np.empty_like(p) for p in self.params]
        self.factored = False  # see the module docstring
        self.factors = [None] * len(self.params)
        # the weight matrices (not the biases), which the L2 penalty applies to
        self.weights, self.weight_grads = self.params[::3], self.grads[::3]
        n_hidden, n_visible = dae.components_.shape
        dtype = dae.components_.dtype
        self.visible = np.empty((2 * batch_size, n_visible), dtype)
        # flat, so that a shorter last mini-batch gets contiguous (n_hidden, m) views
        self.hidden_t = np.empty((2, n_hidden * batch_size), dtype)
        # [dy^T | y^T] for the tied gradient, flat for the same reason
        self.hidden_pair = (
            np.empty(2 * n_hidden * batch_size, dtype) if self.tied else None
        )
        # scratch for the L2 penalty's alpha/m W, as large as the largest weight
        self.l2_work = np.empty(dae.components_.size, dtype) if dae.alpha else None
        self._view_cache = {}
        self.last_batch_size = batch_size
        self.work = np.empty((batch_size, n_visible), dtype)
        self.ones = np.ones(batch_size, dtype)  # column sums as matrix-vector products
        self.scaled = np.empty(batch_size, dtype)  # weighted rows: w_i / sum w
        # Without noise x~ = x: gathered straight into place, the copy is saved.
        self.input_buffer = (
            self.visible[:batch_size] if not dae.corruption_level else None
        )
        self.corrupt = CORRUPTIONS[dae.corruption]
        self.level = dae.corruption_level
        self.noise_range = dae.input_range_
        self.rng = dae._rng
        self.activation = ACTIVATIONS[dae.activation]
        self.derivative = DERIVATIVES[dae.activation]
        self.loss = LOSSES[dae.reconstruction_loss_]
        self.alpha = dae.alpha
        self.sparsity_target = dae.sparsity_target
        self.sparsity_weight = dae.sparsity_weight

    @property
    def hidden(self):
        """[dy; y] of the last mini-batch, one sample per row (a copy)."""
        views = self._views(self.last_batch_size)
        return np.hstack(views[2:4]).T

    def _views(self, m):
        """The buffers' views for a mini-batch of m, made once per size."""
        views = self._view_cache.get(m)
        if views is None:
            n_hidden = self.params[0].shape[0]
            delta_hidden_t, code_t = (
                h[: n_hidden * m].reshape(n_hidden, m) for h in self.hidden_t
            )
            views = self._view_cache[m] = (
                self.visible[:m],
                self.visible[m : 2 * m],
                delta_hidden_t,
                code_t,
                delta_hidden_t.T,  # the usual (m, n_components) views, for the
                code_t.T,  # element-wise work
                self.work[:m],
                self.ones[:m],
                None
                if self.hidden_pair is None
                else self.hidden_pair[: 2 * n_hidden * m].reshape(n_hidden, 2 * m),
            )
        return views

    def __call__(self, X, Y=None, weights=None):
        m = self.last_batch_size = X.shape[0]
        W, b_hidden, b_visible = self.params[:3]
        decoder = W if self.tied else self.params[3]
        (
            x_tilde,
            delta_out,
            delta_hidden_t,
            code_t,
            delta_hidden,
            hidden,
            work,
            ones,
            pair,
        ) = self._views(m)

        # forward: corrupt -> encode -> decode -> loss
        if self.level > 0:
            self.corrupt(X, self.level, self.rng, x_tilde, *self.noise_range)
        else:
            if X.base is not self.visible:
                np.copyto(x_tilde, X)
        np.matmul(W, x_tilde.T, out=code_t)
        hidden += b_hidden
        self.activation(code_t)  # element-wise: the contiguous view is faster
        np.matmul(hidden, decoder, out=delta_out)
        delta_out += b_visible
        if weights is None:
            cost, total = self.loss(delta_out, X, work, scale=1.0 / m) / m, m
        else:
            cost, total = weighted_loss(
                self.loss, delta_out, X, work, weights, self.scaled
            )

        # backward: delta_out holds d(mean cost)/d(pre-activation)
        grads = self.grads
        np.dot(ones, delta_out, out=grads[2])
        np.matmul(decoder, delta_out.T, out=delta_hidden_t)
        if self.sparsity_weight:
            ratios = None if weights is None else self.scaled[:m]
            cost += self._sparsity_penalty(hidden, delta_hidden, m, ratios)
        self.derivative(code_t, delta_hidden_t)
        np.matmul(delta_hidden_t, ones, out=grads[1])
        if self.tied:  # dW = dy^T x~ + y^T da = [dy^T | y^T] [x~; da]
            pair[:, :m] = delta_hidden_t
            pair[:, m:] = code_t
            products = [(0, pair, self.visible[: 2 * m])]
        else:  # W, then the decoder's W'
            products = [(0, delta_hidden_t, x_tilde), (3, code_t, delta_out)]
        for i, A, B in products:
            if self.factored:
                self.factors[i] = (A, B, self.alpha / total)
            else:
                np.matmul(A, B, out=grads[i])
        if self.alpha:
            cost += l2_penalty(
                self.weights,
                None if self.factored else self.weight_grads,
                self.alpha,
                total,
                self.l2_work,
            )
        return cost

    def _sparsity_penalty(self, hidden, delta_hidden, m, ratios=None):
        """KL(rho || mean activation) per hidden unit: its cost, its gradient added.

        With sample weights (``ratios``: w_i / sum w) the mean is weighted.
        """
        rho, beta = self.sparsity_target, self.sparsity_weight
        if ratios is None:
            rho_hat = np.clip(hidden.mean(axis=0), 1e-6, 1 - 1e-6)
            delta_hidden += (beta / m) * (-rho / rho_hat + (1 - rho) / (1 - rho_hat))
        else:
            rho_hat = np.clip(ratios @ hidden, 1e-6, 1 - 1e-6)
            slope = beta * (-rho / rho_hat + (1 - rho) / (1 - rho_hat))
            delta_hidden += np.outer(ratios, slope)
        kl = rho * np.log(rho / rho_hat) + (1 - rho) * np.log((1 - rho) / (1 - rho_hat))
        return beta * float(kl.sum())


class NetworkObjective:
    """Cost and gradients of the whole network on a mini-batch (fine-tuning).

    ``dropout``: one rate per hidden layer (None or all 0: no dropout).  A hidden
    layer of rate p > 0 has its outputs multiplied by an inverted-dropout mask
    (each unit kept with probability 1 - p and scaled by 1 / (1 - p): the
    expected input of the layer above unchanged, so prediction needs no
    rescaling), drawn from ``net._rng`` afresh at each call, after the input's
    noise.  The layer's own output is kept undropped (``outputs``), for its
    activation's derivative; the layer above reads the dropped copy
    (``dropped``) and its weights' gradient is taken against it.  Backward, the
    delta at a dropped layer is multiplied by the same mask.
    """

    def __init__(self, net, batch_size, dropout=None):
        self.batch_size = batch_size
        self.n_layers = len(net.coefs_)
        self.params = net.coefs_ + net.intercepts_
        self.grads = [np.empty_like(p) for p in self.params]
        self.factored = False  # see the module docstring
        self.factors = [None] * len(self.params)
        dtype = net.coefs_[0].dtype
        # outputs[i]: activations of layer i+1; the last holds the output's delta
        self.outputs = [np.empty((batch_size, W.shape[1]), dtype) for W in net.coefs_]
        self.deltas = [np.empty_like(out) for out in self.outputs[:-1]]
        # dropout: per hidden layer, its rate, mask and dropped outputs (None
        # where the rate is 0); no buffers, no draws without any
        rates = list(dropout) if dropout is not None else []
        self.dropout = rates if any(rates) else None
        if self.dropout is not None:
            self.masks = [
                np.empty_like(out) if p else None
                for p, out in zip(rates, self.outputs[:-1], strict=True)
            ]
            self.dropped = [
                None if mask is None else np.empty_like(mask) for mask in self.masks
            ]
            self.rng = net._rng
        self.work = np.empty_like(self.outputs[-1])
        self.ones = np.ones(batch_size, dtype)  # column sums as matrix-vector products
        self.scaled = np.empty(batch_size, dtype)  # weighted rows: w_i / sum w
        self.activation = ACTIVATIONS[net.activation]
        self.derivative = DERIVATIVES[net.activation]
        self.loss = LOSSES[net._loss_name]
        self.alpha = net.alpha
        # scratch for the L2 penalty's alpha/m W, as large as the largest weight
        self.l2_work = (
            np.empty(max(W.size for W in net.coefs_), dtype) if net.alpha else None
        )

    def __call__(self, X, Y, weights=None):
        m, n = X.shape[0], self.n_layers
        coefs = self.params[:n]
        coef_grads, intercept_grads = self.grads[:n], self.grads[n:]
        acts = [self.inputs(X, m)] + [out[:m] for out in self.outputs]
        layer_inputs, masks = self.forward(acts, drop=True)
        if weights is None:
            cost, total = self.head(acts[n], Y, m), m
        else:
            cost, total = self.weighted_head(acts[n], Y, weights)

        # backward: delta holds d(mean cost)/d(pre-activation)
        delta = acts[n]
        ones = self.ones[:m]
        factors = self.factors if self.factored else None
        decay = self.alpha / total
        for i in range(n - 1, -1, -1):
            if factors is None:
                np.dot(layer_inputs[i].T, delta, out=coef_grads[i])
            else:
                factors[i] = (layer_inputs[i].T, delta, decay)
            np.dot(ones, delta, out=intercept_grads[i])
            if i > 0:
                below = self.deltas[i - 1][:m]
                np.dot(delta, coefs[i].T, out=below)
                if masks[i - 1] is not None:
                    below *= masks[i - 1]
                self.derivative(acts[i], below)  # of the undropped output
                delta = below
        if self.alpha:
            cost += l2_penalty(
                coefs,
                None if self.factored else coef_grads,
                self.alpha,
                total,
                self.l2_work,
            )
        return cost

    def forward(self, acts, drop=False):
        """The encoders, then the head's pre-activation: ``acts[i + 1]`` from
        layer i's input; the layers' inputs and the dropout masks returned.

        With ``drop`` (and dropout), a hidden layer's output stays undropped in
        ``acts`` (its derivative's) and the layer above reads a dropped copy;
        its mask (a mini-batch view) is returned, None where every unit is kept.
        """
        n, m = self.n_layers, acts[0].shape[0]
        coefs, intercepts = self.params[:n], self.params[n:]
        inputs, masks = [acts[0]], [None] * (n - 1)
        for i in range(n):
            np.dot(inputs[i], coefs[i], out=acts[i + 1])
            acts[i + 1] += intercepts[i]
            if i == n - 1:
                break
            self.activation(acts[i + 1])
            inputs.append(acts[i + 1])
            if drop and self.dropout is not None and self.masks[i] is not None:
                masks[i], inputs[i + 1] = self.masks[i][:m], self.dropped[i][:m]
                dropout_mask(self.dropout[i], self.rng, masks[i])
                np.multiply(acts[i + 1], masks[i], out=inputs[i + 1])
        return inputs, masks

    def inputs(self, X, m):
        """The mini-batch's input to train on."""
        return X

    def head(self, A, Y, m):
        """Mean cost of the head's pre-activations A against Y; A becomes its delta."""
        return self.loss(A, Y, self.work[:m], scale=1.0 / m) / m

    def weighted_head(self, A, Y, weights):
        """``head`` with the rows weighted: the weighted mean cost and the total
        weight (see :func:`weighted_loss`)."""
        m = weights.shape[0]
        return weighted_loss(self.loss, A, Y, self.work[:m], weights, self.scaled)


def _pseudo_label(obj, log_p, P, u, m):
    """Lee (2013): the network's own most probable class as an unlabeled row's
    target (a constant: no gradient through the argmax)."""
    argmax, rows, target = obj.argmax[:m], obj.rows[:m], obj.target[:m]
    np.argmax(log_p, axis=1, out=argmax)
    picked = log_p[rows, argmax]
    target.fill(0)
    target[rows, argmax] = u
    np.multiply(P, u[:, None], out=log_p)  # log_p is no longer needed
    log_p -= target
    return -float(np.dot(u, picked)), log_p


def _entropy(obj, log_p, P, u, m):
    """Grandvalet & Bengio (2005): the entropy of an unlabeled row's prediction,
    H = -sum p log p, whose gradient -p (log p + H) sharpens it."""
    work = obj.target[:m]
    np.multiply(P, log_p, out=work)
    entropy = -work.sum(axis=1)
    log_p += entropy[:, None]
    np.multiply(log_p, P, out=work)
    work *= -u[:, None]
    return float(np.dot(u, entropy)), work


def _consistency(obj, log_p, P, u, m):
    """The cross-entropy of the prediction on the corrupted row against the
    prediction on the clean row (a constant target), as in the Pi-model (Laine &
    Aila 2017) under the DAE's own noise."""
    soft = obj.soft[:m]
    cost = -float(np.dot(u, np.einsum("ij,ij->i", soft, log_p)))
    np.subtract(P, soft, out=log_p)
    log_p *= u[:, None]
    return cost, log_p


def _spreading(obj, log_p, P, u, m):
    """Soft targets from label spreading over the network's codes (Zhou et al.
    2004), which the estimator puts in the unlabeled rows of Y (the spread
    distribution times its weight): the head's cross-entropy against Y, whose
    delta ``s p - y`` (``s`` the row's sum) holds for soft rows too, is the whole
    term."""
    work = obj.target[:m]
    work.fill(0)
    return 0.0, work


# The term of an unlabeled row: name -> f(objective, log_p, P, u, m) -> its summed
# cost and the (m, n_classes) array of its delta (before the 1/m); ``u`` holds each
# row's weight (0 for a labeled row).  "consistency" also corrupts every input;
# "spreading" reads its soft targets from Y.
UNLABELED_LOSSES = {
    "pseudo_label": _pseudo_label,
    "entropy": _entropy,
    "consistency": _consistency,
    "spreading": _spreading,
}


class SemiSupervisedObjective(NetworkObjective):
    """Fine-tuning on labeled and unlabeled rows together (softmax head).

    An unlabeled row comes with a zero row of Y.  The mini-batch's cost is

        (sum over labeled rows of -log p(y) + w(t) sum over unlabeled rows of
        loss_u) / m,

    ``loss_u`` one of ``UNLABELED_LOSSES`` and its weight w(t) ramped up linearly
    from 0 to ``unlabeled_weight`` over the first ``ramp`` rows of fine-tuning
    (``t_``, so that ``partial_fit`` continues the ramp; Lee 2013's schedule: the
    first epochs' guesses are poor).  Under "spreading" an unlabeled row's Y is
    its soft target times its weight (no ramp): the cost is the cross-entropy
    against every row of Y, its delta ``s p - y`` with ``s`` the row's sum.
    """

    def __init__(self, net, batch_size, ramp, dropout=None):
        super().__init__(net, batch_size, dropout=dropout)
        dtype = net.coefs_[0].dtype
        n_classes = net.coefs_[-1].shape[1]
        self.labeled = np.empty(batch_size, dtype)  # 1 for a labeled row, else 0
        self.unlabeled = np.empty(batch_size, dtype)  # w(t) for an unlabeled row
        self.row = np.empty((batch_size, 1), dtype)
        self.log_p = np.empty((batch_size, n_classes), dtype)
        self.target = np.empty((batch_size, n_classes), dtype)
        self.argmax = np.empty(batch_size, np.intp)
        self.rows = np.arange(batch_size)
        self.ones_k = np.ones(n_classes, dtype)
        self.term = UNLABELED_LOSSES[net.unlabeled_loss]
        self.weight = net.unlabeled_weight
        self.ramp = max(ramp, 1)
        # rows of fine-tuning seen before: partial_fit and warm_start continue
        self.seen = net.t_
        self.corrupted = None
        if net.unlabeled_loss == "consistency":  # the DAE's noise on every input
            n_features = net.coefs_[0].shape[0]
            self.corrupted = np.empty((batch_size, n_features), dtype)
            self.soft = np.empty((batch_size, n_classes), dtype)
            self.corrupt = CORRUPTIONS[net.corruption]
            self.level = np.ravel(net.corruption_level)[0]  # the first layer's
            self.noise_range = getattr(net, "_noise_range", (0.0, 1.0))
            self.rng = net._rng

    def inputs(self, X, m):
        if self.corrupted is None:
            return X
        # the clean prediction, the target of the corrupted row's
        acts = [X] + [out[:m] for out in self.outputs]
        self.forward(acts)
        soft = self.soft[:m]
        np.subtract(acts[-1], acts[-1].max(axis=1, keepdims=True), out=soft)
        np.exp(soft, out=soft)
        soft /= soft.sum(axis=1, keepdims=True)
        return self.corrupt(
            X, self.level, self.rng, self.corrupted[:m], *self.noise_range
        )

    def head(self, A, Y, m):
        return self._mixed_head(A, Y, m)[0]

    def weighted_head(self, A, Y, weights):
        """A row's weight scales its whole term, labeled (cross-entropy) or not
        (the unlabeled term, after w(t)); the mean is over the total weight of
        the mini-batch's rows, labeled or not, as the unweighted one is over m."""
        return self._mixed_head(A, Y, weights.shape[0], weights)

    def _mixed_head(self, A, Y, m, weights=None):
        """The mean cost and the rows' total weight (m without weights)."""
        self.seen += m
        weight = self.weight * min(1.0, self.seen / self.ramp)
        labeled, u, row = self.labeled[:m], self.unlabeled[:m], self.row[:m]
        log_p = self.log_p[:m]
        np.dot(Y, self.ones_k, out=labeled)
        np.subtract(1, labeled, out=u)
        u *= weight
        if weights is not None:
            u *= weights
        # log-softmax in log_p, the probabilities in A
        np.max(A, axis=1, out=row[:, 0])
        np.subtract(A, row, out=log_p)
        np.exp(log_p, out=A)
        np.sum(A, axis=1, out=row[:, 0])
        np.log(row, out=row)
        log_p -= row
        np.exp(log_p, out=A)
        if weights is None:
            cost = -float(np.vdot(Y, log_p))
        else:
            cost = -float(np.dot(weights, np.einsum("ij,ij->i", Y, log_p)))
        extra, delta = self.term(self, log_p, A, u, m)
        # the cross-entropy against Y: s p - y for a row of Y summing to s (1 for a
        # labeled row, the spreading term's weight or 0 for an unlabeled one),
        # times the row's weight; then the unlabeled term's delta
        A *= labeled[:, None]
        A -= Y
        if weights is None:
            total = m
        else:
            A *= weights[:, None]
            total = float(weights.sum())
        A += delta
        A *= 1.0 / total
        return (cost + extra) / total, total


class UnrolledObjective:
    """Cost and gradients of a stack's unrolled network on a mini-batch.

    The encoders of ``stack.autoencoders_`` bottom to top, then their decoders top
    to bottom, each with its own activation (a decoder's is its layer's
    ``out_activation_``), trained on the first layer's reconstruction loss of the
    clean input from the input corrupted at ``stack.fine_tune_corruption_level``.
    The parameters are the layers' own arrays, in each layer's order of
    :class:`DAEObjective` (``components_``, ``intercept_hidden_``,
    ``intercept_visible_``, and ``decoder_components_`` if untied), updated in
    place.  Activations are kept one sample per row, as in
    :class:`NetworkObjective`; a tied W gets its encoder's gradient added to its
    decoder's through a scratch buffer (numpy's BLAS only in the step: see
    ``_optimizers``).  The sparsity penalty is
    pretraining's only.
    """

    def __init__(self, stack, batch_size):
        layers = stack.autoencoders_
        self.batch_size = batch_size
        self.params, self.grads, self.weights, self.weight_grads = [], [], [], []
        # per layer: (W, b, b', W', and the gradients of the four; tied: W' is W)
        self.layers = []
        for ae in layers:
            tied = ae.tied_weights
            W, b, c = ae.components_, ae.intercept_hidden_, ae.intercept_visible_
            D = W if tied else ae.decoder_components_
            g_w, g_b, g_c = (np.empty_like(p) for p in (W, b, c))
            g_d = g_w if tied else np.empty_like(D)
            self.params += [W, b, c] if tied else [W, b, c, D]
            self.grads += [g_w, g_b, g_c] if tied else [g_w, g_b, g_c, g_d]
            self.weights += [W] if tied else [W, D]
            self.weight_grads += [g_w] if tied else [g_w, g_d]
            self.layers.append((W, b, c, D, g_w, g_b, g_c, g_d, tied))
        dtype = layers[0].components_.dtype
        sizes = [layers[0].components_.shape[1]]
        sizes += [ae.components_.shape[0] for ae in layers]
        # hidden[k] holds h_{k+1}, decoded[k] z_k (decoded[0]: the output's
        # pre-activation, then its delta), up[k] the delta at z_{k+1}, down[k]
        # the delta at h_{k+1}
        self.hidden = [np.empty((batch_size, n), dtype) for n in sizes[1:]]
        self.decoded = [np.empty((batch_size, n), dtype) for n in sizes[:-1]]
        self.up = [np.empty((batch_size, n), dtype) for n in sizes[1:]]
        self.down = [np.empty((batch_size, n), dtype) for n in sizes[1:-1]]
        self.work = np.empty((batch_size, sizes[0]), dtype)
        self.ones = np.ones(batch_size, dtype)  # column sums as matrix-vector products
        self.scaled = np.empty(batch_size, dtype)  # weighted rows: w_i / sum w
        # scratch for a tied W's second gradient and for the L2 penalty's alpha/m W
        largest = max(W.size for W in self.weights)
        self.tied_work = np.empty(largest, dtype)
        self.l2_work = np.empty(largest, dtype) if stack.alpha else None
        self.activations = [ACTIVATIONS[ae.activation] for ae in layers]
        self.derivatives = [DERIVATIVES[ae.activation] for ae in layers]
        # the decoder of layer k + 1 outputs z_k: its activation, its derivative
        self.out_activations = [ACTIVATIONS[ae.out_activation_] for ae in layers]
        self.out_derivatives = [DERIVATIVES[ae.out_activation_] for ae in layers]
        self.loss = LOSSES[layers[0].reconstruction_loss_]
        self.level = stack.fine_tune_corruption_level
        self.corrupted = np.empty((batch_size, sizes[0]), dtype) if self.level else None
        self.corrupt = CORRUPTIONS[stack.corruption]
        self.noise_range = layers[0].input_range_
        self.rng = stack._fine_tune_rng
        self.alpha = stack.alpha

    def __call__(self, X, Y=None, weights=None):
        m, n = X.shape[0], len(self.layers)
        layers, ones = self.layers, self.ones[:m]
        h = [X] + [out[:m] for out in self.hidden]  # h[k]: h_k
        if self.level > 0:
            h[0] = self.corrupt(
                X, self.level, self.rng, self.corrupted[:m], *self.noise_range
            )
        z = [out[:m] for out in self.decoded] + [h[n]]  # z[k]: z_k, z_n = the code

        # forward: the encoders, then the decoders, then the loss of clean X
        for k, (W, b, *_) in enumerate(layers):
            np.dot(h[k], W.T, out=h[k + 1])
            h[k + 1] += b
            self.activations[k](h[k + 1])
        for k in range(n - 1, -1, -1):
            _, _, c, D, *_ = layers[k]
            np.dot(z[k + 1], D, out=z[k])
            z[k] += c
            if k > 0:
                self.out_activations[k](z[k])
        if weights is None:
            cost, total = self.loss(z[0], X, self.work[:m], scale=1.0 / m) / m, m
        else:
            cost, total = weighted_loss(
                self.loss, z[0], X, self.work[:m], weights, self.scaled
            )

        # backward: delta holds d(mean cost)/d(pre-activation); decoders bottom up
        delta = z[0]
        for k in range(n):
            _, _, _, D, _, _, g_c, g_d, _ = layers[k]
            np.dot(ones, delta, out=g_c)
            np.dot(z[k + 1].T, delta, out=g_d)  # a tied W's first part
            above = self.up[k][:m]
            np.dot(delta, D.T, out=above)
            if k + 1 < n:
                self.out_derivatives[k + 1](z[k + 1], above)
            else:  # the code
                self.derivatives[k](z[k + 1], above)
            delta = above
        # ... then the encoders top down
        for k in range(n - 1, -1, -1):
            W, _, _, _, g_w, g_b, _, _, tied = layers[k]
            np.dot(ones, delta, out=g_b)
            if tied:  # dW += delta^T h
                encoder_part = self.tied_work[: g_w.size].reshape(g_w.shape)
                np.dot(delta.T, h[k], out=encoder_part)
                g_w += encoder_part
            else:
                np.dot(delta.T, h[k], out=g_w)
            if k > 0:
                below = self.down[k - 1][:m]
                np.dot(delta, W, out=below)
                self.derivatives[k - 1](h[k], below)
                delta = below
        if self.alpha:
            cost += l2_penalty(
                self.weights, self.weight_grads, self.alpha, total, self.l2_work
            )
        return cost
