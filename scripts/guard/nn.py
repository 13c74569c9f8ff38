"""A small numpy MLP (one hidden ReLU layer, or none) trained with Adam, and grouped folds; enough for the guard heads."""
from collections import defaultdict

import numpy as np


def grouped_folds(groups, folds, seed):
    """Fold index per group: whole groups go to one fold, largest first, each to the emptiest fold (ties at random)."""
    rng = np.random.default_rng(seed)
    size_of = defaultdict(int)
    for g in groups:
        size_of[g] += 1
    fold_of, sizes = {}, [0] * folds
    for g in sorted(size_of, key=lambda g: (-size_of[g], rng.random())):
        f = int(np.argmin(sizes))
        fold_of[g] = f
        sizes[f] += size_of[g]
    return fold_of


def init(sizes, rng):
    layers = []
    for fan_in, fan_out in zip(sizes[:-1], sizes[1:]):
        layers.append([rng.normal(0, np.sqrt(2.0 / fan_in), (fan_in, fan_out)).astype(np.float64), np.zeros(fan_out)])
    return layers


def forward(layers, x):
    activations = [x]
    for i, (w, b) in enumerate(layers):
        x = x @ w + b
        if i + 1 < len(layers):
            x = np.maximum(x, 0)
        activations.append(x)
    return activations


def softmax(z):
    z = z - z.max(axis=1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=1, keepdims=True)


def train(x, y, classes, hidden=64, epochs=60, lr=2e-3, l2=1e-4, batch=256, seed=0, weights=None):
    """Softmax regression (hidden=0) or a one-hidden-layer MLP; y holds class indices."""
    rng = np.random.default_rng(seed)
    sizes = [x.shape[1]] + ([hidden] if hidden else []) + [classes]
    layers = init(sizes, rng)
    moments = [[np.zeros_like(p) for p in layer] for layer in layers]
    velocities = [[np.zeros_like(p) for p in layer] for layer in layers]
    sample_weights = np.ones(len(y)) if weights is None else weights
    step = 0
    for _ in range(epochs):
        order = rng.permutation(len(y))
        for start in range(0, len(y), batch):
            idx = order[start:start + batch]
            acts = forward(layers, x[idx])
            probs = softmax(acts[-1])
            grad = probs
            grad[np.arange(len(idx)), y[idx]] -= 1
            grad *= sample_weights[idx][:, None] / sample_weights[idx].sum()
            step += 1
            for i in reversed(range(len(layers))):
                w, b = layers[i]
                gw = acts[i].T @ grad + l2 * w
                gb = grad.sum(axis=0)
                if i > 0:
                    grad = (grad @ w.T) * (acts[i] > 0)
                for j, g in enumerate((gw, gb)):
                    moments[i][j] = 0.9 * moments[i][j] + 0.1 * g
                    velocities[i][j] = 0.999 * velocities[i][j] + 0.001 * g * g
                    mhat = moments[i][j] / (1 - 0.9 ** step)
                    vhat = velocities[i][j] / (1 - 0.999 ** step)
                    layers[i][j] -= lr * mhat / (np.sqrt(vhat) + 1e-8)
    return layers


def predict(layers, x):
    return softmax(forward(layers, x)[-1])
