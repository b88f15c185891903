"""The Safety Polytope (SaP, arXiv:2505.24445) as a compliance detector on hidden states.

A learned ReLU feature map z = relu(W h + c) and K linear facets a_k . z <= b_k; a case is safe
(permitted) iff it satisfies every facet. Training pulls safe cases inside every facet with a margin
and pushes each unsafe case outside at least one facet (a hinge on its largest violation), with an
L1 term that keeps the facets sparse and a penalty on the cosine similarity between facet normals
so the K facets describe different ways of being unsafe.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np
import torch
from torch import nn


@dataclass(frozen=True)
class PolytopeConfig:
    facets: int = 8                  # K
    features: int = 64               # width of the learned ReLU feature map
    margin: float = 1.0              # distance safe points keep from every facet, unsafe points from one
    sparsity: float = 1e-3           # L1 weight on the facet normals
    diversity: float = 1e-2          # weight on the squared cosine similarity between facet normals
    epochs: int = 300
    lr: float = 1e-2
    weight_decay: float = 1e-4
    seed: int = 0


class SafetyPolytope(nn.Module):
    def __init__(self, dim: int, config: PolytopeConfig):
        super().__init__()
        self.config = config
        self.register_buffer("mean", torch.zeros(dim))
        self.register_buffer("scale", torch.ones(dim))
        self.feature_map = nn.Linear(dim, config.features)
        self.facets = nn.Linear(config.features, config.facets)   # rows a_k, bias -b_k

    def violations(self, hidden: torch.Tensor) -> torch.Tensor:
        """a_k . z - b_k for every facet: positive where the point lies outside that facet."""
        z = torch.relu(self.feature_map((hidden - self.mean) / self.scale))
        return self.facets(z)

    def score(self, hidden: torch.Tensor) -> torch.Tensor:
        """The largest violation: > 0 means outside the polytope, i.e. unsafe."""
        return self.violations(hidden).max(dim=1).values


def polytope_loss(model: SafetyPolytope, hidden: torch.Tensor, unsafe: torch.Tensor) -> torch.Tensor:
    config = model.config
    violations = model.violations(hidden)
    safe_rows = violations[~unsafe]
    unsafe_rows = violations[unsafe]
    terms = []
    if len(safe_rows):
        terms.append(torch.relu(safe_rows + config.margin).mean())
    if len(unsafe_rows):
        terms.append(torch.relu(config.margin - unsafe_rows.max(dim=1).values).mean())
    normals = model.facets.weight
    unit = normals / normals.norm(dim=1, keepdim=True).clamp_min(1e-8)
    cosine = unit @ unit.T
    off_diagonal = cosine - torch.diag(torch.diag(cosine))
    k = normals.shape[0]
    diversity = (off_diagonal ** 2).sum() / max(k * (k - 1), 1)
    return sum(terms) + config.sparsity * normals.abs().mean() + config.diversity * diversity


def train_polytope(hidden: np.ndarray, unsafe: np.ndarray, config: PolytopeConfig | None = None) -> SafetyPolytope:
    """Fit a polytope on hidden states (n x d) with labels unsafe (n, bool); full-batch Adam."""
    config = config or PolytopeConfig()
    hidden = np.asarray(hidden, dtype=np.float32)
    unsafe = np.asarray(unsafe, dtype=bool)
    if hidden.ndim != 2 or len(hidden) != len(unsafe):
        raise ValueError(f"need an n x d feature matrix and n labels, got {hidden.shape} and {unsafe.shape}")
    if unsafe.all() or not unsafe.any():
        raise ValueError("the training set needs both safe and unsafe samples")
    # A few thousand small full-batch steps: thread start-up and spin-waits cost more than the
    # arithmetic, so one thread is many times faster on a CPU (and leaves the others free).
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        return _fit(hidden, unsafe, config)
    finally:
        torch.set_num_threads(threads)


def _fit(hidden: np.ndarray, unsafe: np.ndarray, config: PolytopeConfig) -> SafetyPolytope:
    torch.manual_seed(config.seed)
    x = torch.from_numpy(hidden)
    y = torch.from_numpy(unsafe)
    model = SafetyPolytope(x.shape[1], config)
    model.mean.copy_(x.mean(dim=0))
    model.scale.copy_(x.std(dim=0).clamp_min(1e-6))
    optimiser = torch.optim.Adam(model.parameters(), lr=config.lr, weight_decay=config.weight_decay)
    for _ in range(config.epochs):
        optimiser.zero_grad()
        loss = polytope_loss(model, x, y)
        loss.backward()
        optimiser.step()
    model.eval()
    return model


@torch.no_grad()
def polytope_scores(model: SafetyPolytope, hidden: np.ndarray) -> np.ndarray:
    return model.score(torch.from_numpy(np.asarray(hidden, dtype=np.float32))).numpy()


def save_polytope(model: SafetyPolytope, path) -> None:
    torch.save({"config": asdict(model.config), "dim": model.mean.shape[0], "state": model.state_dict()}, path)


def load_polytope(path) -> SafetyPolytope:
    blob = torch.load(path, weights_only=True)
    model = SafetyPolytope(blob["dim"], PolytopeConfig(**blob["config"]))
    model.load_state_dict(blob["state"])
    model.eval()
    return model
