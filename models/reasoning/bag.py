"""The embedding-bag member (fastText-style): logits = H(sum_i x_i E[id_i]) + b with x = count /
total count of the row. It is linear, so it folds into one weight table U = E H^T of shape
[num_ids, 3] and stays additive in logit space: its per-feature contributions are x_i U[id_i].

Trained full-batch with Adam (sparse-dense products in torch), class-balanced cross-entropy,
deterministic for a given seed.
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp


def train(Xb, y, num_ids, dim=32, steps=300, lr=0.01, wd=0.0, seed=0, balanced=True, log=None, eval_fn=None):
    import torch
    torch.manual_seed(seed)
    Xc = Xb.tocoo()
    X = torch.sparse_coo_tensor(np.vstack([Xc.row, Xc.col]), Xc.data.astype(np.float32), Xc.shape).coalesce()
    E = torch.nn.Parameter(torch.empty(num_ids, dim).uniform_(-1.0 / dim, 1.0 / dim))
    H = torch.nn.Parameter(torch.empty(3, dim).uniform_(-1.0 / np.sqrt(dim), 1.0 / np.sqrt(dim)))
    b = torch.nn.Parameter(torch.zeros(3))
    counts = np.bincount(y, minlength=3)
    w = torch.tensor(len(y) / (3.0 * counts), dtype=torch.float32) if balanced else None
    lossf = torch.nn.CrossEntropyLoss(weight=w)
    opt = torch.optim.Adam([E, H, b], lr=lr, weight_decay=wd)
    yt = torch.tensor(y)
    for step in range(steps):
        opt.zero_grad()
        h = torch.sparse.mm(X, E)
        loss = lossf(h @ H.T + b, yt)
        loss.backward()
        opt.step()
        if eval_fn is not None and (step + 1) % 50 == 0:
            with torch.no_grad():
                U = (E @ H.T).numpy()
            eval_fn(step + 1, float(loss), U, b.detach().numpy().copy())
    with torch.no_grad():
        return (E @ H.T).numpy().astype(np.float32), b.detach().numpy().astype(np.float32)
