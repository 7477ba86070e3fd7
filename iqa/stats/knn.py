"""k-nearest-neighbour manifold metrics: precision/recall and density/coverage, memory-bounded.

Papers: Kynkaanniemi, Karras, Laine, Lehtinen, Aila, "Improved Precision and Recall Metric for
Assessing Generative Models", NeurIPS 2019 (precision/recall, k = 3); Naeem, Oh, Uh, Choi, Yoo,
"Reliable Fidelity and Diversity Metrics for Generative Models", ICML 2020 (density/coverage, k = 5).

Each sample of a set gets a ball whose radius is the distance to its k-th nearest neighbour in its
own set, the sample itself excluded (as the references count it: the (k+1)-th smallest distance
with the self-distance 0 included; ``prdc`` 0.2 ``get_kth_value(d, k + 1)``, torch-fidelity 0.4.0
``kthvalue(neighborhood + 1)``). Then, with ``real`` of N and ``fake`` of M samples:

- precision: share of fake samples inside at least one real ball;
- recall: share of real samples inside at least one fake ball;
- density: ``sum_j #{real balls holding fake j} / (k M)`` (can exceed 1);
- coverage: share of real balls holding at least one fake sample.

Memory: the N x M (or N x N) distance matrix is never held; rows are processed in chunks sized from
``memory_budget`` (bytes of the distance block and its temporaries, 256 MiB by default), so the
working memory beyond the inputs is bounded whatever N and M (float32 inputs are used in place, not
copied): 50k x 50k 2048-d float32 features take 0.8 GB plus the budget. The references hold whole
matrices (``prdc``: N x N, M x M and N x M at once; torch-fidelity: 10000-row blocks concatenated
into whole matrices unless ``save_cpu_ram``). Within a set the matrix is symmetric, so only the
tiles on and above the diagonal are computed, each giving the nearest neighbours of its rows and
of its columns (10 of 16 tiles for a set split in 4).

Distances are Euclidean and every decision is the one exact float64 distances give. The bulk is
float32 matrix products through ``|a|^2 + |b|^2 - 2 a.b`` (the expansion ``sklearn.metrics.
pairwise_distances``, used by ``prdc``, and ``torch.cdist``, used by torch-fidelity, compute too),
whose error is bounded by ``g (|a|^2 + |b|^2)`` with ``g = 1.1 (dim + 32) 2^-24`` (Higham's
gamma_n for a dot product of ``dim`` terms plus the roundings around it; float64 norms). The
float32 radius (k-th smallest) is within the largest error of its row of the exact one. A
comparison that these bounds leave open is redone with the distance recomputed directly as
``|a - b|^2`` in float64 from the features given and the exact radius of that ball (its candidate
neighbours recomputed the same way); on random 2048-d features that is about 1 comparison in 5000.
Identical samples are therefore exactly 0 apart: a set compared with itself has precision, recall
and coverage 1. Comparisons are made between squared distances (monotone in the distance; the
references compare square roots, which can only differ at ties after rounding). Features with a
large common offset widen the bound relative to the distances and send more pairs to the exact
route: slower, never different.

Ties at the ball boundary (duplicates, or distances equal after rounding): ``ball="closed"``
counts a sample at exactly the radius as inside (``<=``: the authors' precision/recall code,
NVlabs ``precision_recall.py``, and torch-fidelity; the default everywhere); ``ball="open"``
counts it outside (``<``: ``prdc`` 0.2, the density/coverage authors' code, for all four). On
continuous features the two agree; they differ where a real sample has k or more exact duplicates:
its radius is 0 and the open ball is empty, so a set compared with a copy of itself gets 0.

Agreement with the references on identical features: the counts are equal (values to 1e-12) unless a
distance falls within the references' own rounding error of a radius (float32 distances in
torch-fidelity, float64 upcast in sklearn), which random features never do; tested in
``tests/stats/test_knn.py``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Literal

import torch

from iqa.errors import InputError

__all__ = ["METRICS", "Ball", "Metric", "density_coverage", "knn_metrics", "knn_radii", "prdc", "precision_recall"]

Ball = Literal["closed", "open"]

#: bytes of one chunk's distance block and its temporaries (float32 distances, a float32
#: temporary, boolean masks)
DEFAULT_MEMORY_BUDGET = 256 * 2**20
_BYTES_PER_ENTRY = 12
_EPS32 = 2.0**-24  # unit roundoff of float32


def _rows_per_chunk(cols: int, memory_budget: int) -> int:
    return max(1, int(memory_budget) // (max(cols, 1) * _BYTES_PER_ENTRY))


class _Set:
    """One feature set: ``exact`` (the values given, float32 or float64) for the exact distances,
    ``fast`` (float32) for the matrix products, squared norms, and the error bound of the fast route.
    """

    def __init__(self, x: torch.Tensor, what: str, device: torch.device | None = None) -> None:
        if not isinstance(x, torch.Tensor):
            raise InputError(f"{what} must be a tensor of features (N, dim), got {type(x).__name__}")
        if x.ndim != 2 or x.shape[0] == 0:
            raise InputError(f"{what} must have shape (N, dim) with N >= 1, got {tuple(x.shape)}")
        dev = device or (x.device if x.device.type != "mps" else torch.device("cpu"))  # MPS: no float64
        x = x.detach().to(dev)
        if x.dtype not in (torch.float32, torch.float64):
            x = x.to(torch.float64)
        # float64 accumulation without a float64 copy; a non-finite value makes its row's norm non-finite
        self.norms = torch.linalg.vector_norm(x, 2, dim=1, dtype=torch.float64).square()
        if not torch.isfinite(self.norms).all():
            raise InputError(f"{what} has non-finite values")
        self.exact = x
        self.fast = x.contiguous() if x.dtype == torch.float32 else x.to(torch.float32)
        self.norms32 = self.norms.to(torch.float32)
        # |fast d^2 - exact d^2| <= g (|a|^2 + |b|^2): Higham's gamma_n for the dot product over n = dim
        # terms, plus the roundings of the norms, of the conversion to float32 and of the comparison
        self.g = 1.1 * (x.shape[1] + 32) * _EPS32

    def __len__(self) -> int:
        return self.exact.shape[0]


def _check_k(k: int, n: int, what: str) -> None:
    if isinstance(k, bool) or not isinstance(k, int) or k < 1:
        raise InputError(f"k (nearest_k) must be a positive integer, got {k!r}")
    if k >= n:
        raise InputError(
            f"k={k} needs more than k samples in the {what} (it has {n}): each ball's radius is the distance "
            f"to the k-th nearest other sample; give at least {k + 1} samples (thousands for a stable value) "
            "or lower k"
        )


def _fast_d2(a: _Set, i0: int, i1: int, b: _Set, j0: int = 0, j1: int | None = None) -> torch.Tensor:
    """(R, M) float32 squared distances of rows i0:i1 of ``a`` to rows j0:j1 of ``b`` by the norm
    expansion (one matrix product).
    """
    j1 = len(b) if j1 is None else j1
    return torch.addmm(b.norms32[j0:j1], a.fast[i0:i1], b.fast[j0:j1].T, alpha=-2).add_(a.norms32[i0:i1, None])


def _exact_d2(a: _Set, rows: torch.Tensor, b: _Set, cols: torch.Tensor) -> torch.Tensor:
    """float64 ``|a_r - b_c|^2`` of the given pairs, computed directly (duplicates are exactly 0)."""
    out = torch.empty(len(rows), dtype=torch.float64, device=rows.device)
    step = max(1, 2**22 // max(a.exact.shape[1], 1))  # bounded memory however many pairs
    for s in range(0, len(rows), step):
        r, c = rows[s : s + step], cols[s : s + step]
        out[s : s + step] = (a.exact[r].to(torch.float64) - b.exact[c].to(torch.float64)).square().sum(1)
    return out


_SPARE = 4  # candidates kept per row beyond the k + 1 nearest, to prove none was missed


def _merge(vals: torch.Tensor, idx: torch.Tensor, new_vals: torch.Tensor, new_idx: torch.Tensor) -> None:
    """Keep in (vals, idx) the smallest of both (in place, per row)."""
    v, i = torch.cat([vals, new_vals], 1), torch.cat([idx, new_idx], 1)
    best = torch.topk(v, vals.shape[1], dim=1, largest=False, sorted=True).indices
    vals.copy_(v.gather(1, best))
    idx.copy_(i.gather(1, best))


def _fast_neighbours(x: _Set, keep: int, memory_budget: int) -> tuple[torch.Tensor, torch.Tensor]:
    """The ``keep`` smallest float32 squared distances of each row (itself included) and their columns.

    The distance matrix is symmetric, so only the tiles on and above the diagonal are computed, each
    serving its rows and (transposed) its columns: about half the products of whole rows.
    """
    n, dev = len(x), x.exact.device
    side = int((memory_budget / _BYTES_PER_ENTRY) ** 0.5)
    tile = max(1, min(side, max(1024, -(-n // 4)), n))  # ~4 tiles a side: 10 of 16 computed
    vals = torch.full((n, keep), torch.inf, dtype=torch.float32, device=dev)
    idx = torch.zeros((n, keep), dtype=torch.int64, device=dev)
    for i0 in range(0, n, tile):
        i1 = min(n, i0 + tile)
        for j0 in range(i0, n, tile):
            j1 = min(n, j0 + tile)
            d2 = _fast_d2(x, i0, i1, x, j0, j1)
            top = torch.topk(d2, min(keep, j1 - j0), dim=1, largest=False, sorted=False)
            _merge(vals[i0:i1], idx[i0:i1], top.values, top.indices + j0)
            if j0 != i0:
                top = torch.topk(d2.T.contiguous(), min(keep, i1 - i0), dim=1, largest=False, sorted=False)
                _merge(vals[j0:j1], idx[j0:j1], top.values, top.indices + i0)
    return vals, idx


def _radii2_full_rows(x: _Set, rows_of: torch.Tensor, k: int, memory_budget: int) -> torch.Tensor:
    """Exact (k+1)-th smallest squared distance of the given rows, from their whole rows: every
    column whose fast distance is within twice the error bound of the fast (k+1)-th smallest is
    recomputed exactly (the fallback for rows with many near-ties, e.g. duplicates).
    """
    out = torch.empty(len(rows_of), dtype=torch.float64, device=x.exact.device)
    step = _rows_per_chunk(len(x), memory_budget)
    top = float(x.norms.max())
    for s0 in range(0, len(rows_of), step):
        sel = rows_of[s0 : s0 + step]
        d2 = torch.addmm(x.norms32, x.fast[sel], x.fast.T, alpha=-2).add_(x.norms32[sel, None])
        kth = torch.topk(d2, k + 1, dim=1, largest=False, sorted=True).values[:, -1].to(torch.float64)
        limit = ((kth + 2 * x.g * (x.norms[sel] + top)) * (1 + 8 * _EPS32)).to(torch.float32)
        rows, cols = torch.nonzero(d2 <= limit[:, None], as_tuple=True)
        del d2
        exact = _exact_d2(x, sel[rows], x, cols)
        counts = torch.bincount(rows, minlength=len(sel))
        pos = torch.arange(len(rows), device=rows.device) - (torch.cumsum(counts, 0) - counts)[rows]
        cand = torch.full((len(sel), int(counts.max())), torch.inf, dtype=torch.float64, device=rows.device)
        cand[rows, pos] = exact
        out[s0 : s0 + len(sel)] = torch.topk(cand, k + 1, dim=1, largest=False, sorted=True).values[:, -1]
    return out


class _Radii:
    """Squared k-NN radii of one set: float32 estimates for all rows, exact values on demand.

    ``fast`` is the (k+1)-th smallest fast distance of each row (itself included at ~0); it is
    within ``err`` of the exact value (an order statistic moves by at most the largest error of
    its row), so a comparison farther than that from it needs no exact radius. ``exact(rows)``
    recomputes the radii of the rows asked for, once: the ``k + 1 + _SPARE`` fast nearest are the
    candidates, and where the last of them is farther than the fast (k+1)-th plus twice the error
    bound, the exact k + 1 nearest are among them; other rows (near-ties, e.g. duplicates) take the
    whole-row route.
    """

    def __init__(self, x: _Set, k: int, memory_budget: int) -> None:
        self.x, self.k, self.memory_budget = x, k, memory_budget
        self.keep = min(len(x), k + 1 + _SPARE)
        self.vals, self.idx = _fast_neighbours(x, self.keep, memory_budget)
        self.fast = self.vals[:, k].to(torch.float64)
        self.err = x.g * (x.norms + float(x.norms.max()))
        self._known = torch.zeros(len(x), dtype=torch.bool, device=self.fast.device)
        self._exact = torch.zeros(len(x), dtype=torch.float64, device=self.fast.device)

    def exact(self, rows: torch.Tensor) -> torch.Tensor:
        need = torch.unique(rows[~self._known[rows]])
        if len(need):
            self._exact[need] = self._compute(need)
            self._known[need] = True
        return self._exact[rows]

    def _compute(self, rows: torch.Tensor) -> torch.Tensor:
        vals, idx, k = self.vals[rows], self.idx[rows], self.k
        limit = (self.fast[rows] + 2 * self.err[rows]) * (1 + 8 * _EPS32)
        proven = vals[:, -1].to(torch.float64) > limit if self.keep < len(self.x) else torch.ones_like(limit).bool()
        # only candidates within the band can be among the exact k + 1 nearest (at least k + 1 are)
        r, c = torch.nonzero(vals.to(torch.float64) <= limit[:, None], as_tuple=True)
        exact = torch.full((len(rows), self.keep), torch.inf, dtype=torch.float64, device=vals.device)
        exact[r, c] = _exact_d2(self.x, rows[r], self.x, idx[r, c])
        out = torch.topk(exact, k + 1, dim=1, largest=False, sorted=True).values[:, -1]
        redo = torch.nonzero(~proven).flatten()
        if len(redo):
            out[redo] = _radii2_full_rows(self.x, rows[redo], k, self.memory_budget)
        return out


def knn_radii(x: torch.Tensor, *, k: int, memory_budget: int = DEFAULT_MEMORY_BUDGET) -> torch.Tensor:
    """Distance of each sample (row of ``x``, (N, dim)) to its k-th nearest other sample, float64 (N,).

    Raises:
        InputError: ``k >= N`` (no k-th other sample) or ``k < 1``.
    """
    s = _Set(x, "x")
    _check_k(k, len(s), "set")
    return _Radii(s, k, memory_budget).exact(torch.arange(len(s), device=s.exact.device)).sqrt()


def _inside(d2: torch.Tensor, r2: torch.Tensor, ball: Ball) -> torch.Tensor:
    return d2 <= r2 if ball == "closed" else d2 < r2


def _decide(
    d2: torch.Tensor,
    radii: _Radii,
    sel: slice,
    pair_bound: torch.Tensor,
    exact: Callable[[torch.Tensor, torch.Tensor], torch.Tensor],
    ball: Ball,
    dim: int,
) -> torch.Tensor:
    """``d <= r`` (or ``<``) for a block of fast distances against the radii ``radii[sel]`` along
    ``dim`` (1: a radius per row, 0: per column): decided by the fast values where they are farther
    apart than the error bounds of the distance (``pair_bound``) and of the radius, else by the
    exact distance and the exact radius.
    """
    r2 = radii.fast[sel]
    band = pair_bound + radii.err[sel] + 4 * _EPS32 * r2  # + the float32 rounding of the radius
    lo, hi = (r2 - band).to(torch.float32), (r2 + band).to(torch.float32)
    if dim == 1:
        lo, hi = lo[:, None], hi[:, None]
    inside = d2 < lo  # surely inside
    rows, cols = torch.nonzero((d2 <= hi).logical_xor_(inside), as_tuple=True)  # maybe inside
    if len(rows):
        first = sel.start or 0
        r_exact = radii.exact((rows if dim == 1 else cols) + first)
        inside[rows, cols] = _inside(exact(rows, cols), r_exact, ball)
    return inside


Metric = Literal["precision", "recall", "density", "coverage"]
METRICS: tuple[Metric, ...] = ("precision", "recall", "density", "coverage")


def knn_metrics(
    *,
    real: torch.Tensor,
    fake: torch.Tensor,
    k: int,
    which: Sequence[Metric] = METRICS,
    ball: Ball = "closed",
    memory_budget: int = DEFAULT_MEMORY_BUDGET,
) -> dict[str, float]:
    """Any of the four metrics with one ``k``, computing only the radii they need, in one pass.

    Precision, density and coverage use the real set's balls, recall the fake set's: the set whose
    balls are used needs more than ``k`` samples.

    Args:
        real: real (reference) features (N, dim); keyword-only, so the sets cannot be swapped by position.
        fake: generated features (M, dim).
        k: neighbourhood size (``nearest_k`` in ``prdc``, ``prc_neighborhood`` in torch-fidelity).
        which: the metrics to compute.
        ball: 'closed' (``<=``, the precision/recall authors' code, torch-fidelity) or 'open'
            (``<``, ``prdc``); they differ only at exact ties (duplicates).
        memory_budget: bytes of the distance chunk held at once.

    Returns:
        ``{name: value}`` for the names in ``which``.

    Raises:
        InputError: ``k >= N`` for a set whose balls are needed (the message names the set, its
            size and the fix), shapes that do not match, non-finite values, an unknown name.
    """
    unknown = set(which) - set(METRICS)
    if unknown or not which:
        raise InputError(f"which must name some of {', '.join(METRICS)}; got {list(which)}")
    if ball not in ("closed", "open"):
        raise InputError(f"ball must be 'closed' (<=) or 'open' (<), got {ball!r}")
    r = _Set(real, "real")
    f = _Set(fake, "fake", device=r.exact.device)
    if r.exact.shape[1] != f.exact.shape[1]:
        raise InputError(f"real and fake features differ in dimension: {r.exact.shape[1]} vs {f.exact.shape[1]}")
    real_balls, fake_balls = bool(set(which) - {"recall"}), "recall" in which
    if real_balls:
        _check_k(k, len(r), "real set")
    if fake_balls:
        _check_k(k, len(f), "fake (generated) set")
    c = _counts(r, f, k, real_balls, fake_balls, ball, memory_budget)
    holding = c["balls_holding"]
    out = {
        "precision": lambda: float((holding > 0).double().mean()),
        "recall": lambda: float(c["recalled"].double().mean()),
        "density": lambda: float(holding.double().sum() / (k * len(holding))),
        "coverage": lambda: float(c["covered"].double().mean()),
    }
    return {name: out[name]() for name in which}


def _counts(
    r: _Set, f: _Set, k: int, real_balls: bool, fake_balls: bool, ball: Ball, memory_budget: int
) -> dict[str, torch.Tensor]:
    """One pass over the real x fake distances giving what the four metrics count."""
    n, m, dev = len(r), len(f), r.exact.device
    real_radii = _Radii(r, k, memory_budget) if real_balls else None
    fake_radii = _Radii(f, k, memory_budget) if fake_balls else None
    g = max(r.g, f.g)
    balls_holding = torch.zeros(m, dtype=torch.int64, device=dev)  # per fake: real balls it is in
    covered = torch.zeros(n, dtype=torch.bool, device=dev)  # per real: its ball holds a fake
    recalled = torch.zeros(n, dtype=torch.bool, device=dev)  # per real: inside a fake ball
    step = _rows_per_chunk(m, memory_budget)
    for i0 in range(0, n, step):
        i1 = min(n, i0 + step)
        d2 = _fast_d2(r, i0, i1, f)

        def exact(rows: torch.Tensor, cols: torch.Tensor, i0: int = i0) -> torch.Tensor:
            return _exact_d2(r, rows + i0, f, cols)

        if real_radii is not None:  # error bound of the distances per real row
            row_bound = g * (r.norms[i0:i1] + float(f.norms.max()))
            inside = _decide(d2, real_radii, slice(i0, i1), row_bound, exact, ball, dim=1)
            balls_holding += inside.sum(0)
            covered[i0:i1] = inside.any(1)
            del inside
        if fake_radii is not None:  # per fake column
            col_bound = g * (f.norms + float(r.norms[i0:i1].max()))
            recalled[i0:i1] = _decide(d2, fake_radii, slice(0, m), col_bound, exact, ball, dim=0).any(1)
    return {"balls_holding": balls_holding, "covered": covered, "recalled": recalled}


def precision_recall(
    *,
    real: torch.Tensor,
    fake: torch.Tensor,
    k: int = 3,
    ball: Ball = "closed",
    memory_budget: int = DEFAULT_MEMORY_BUDGET,
) -> dict[str, float]:
    """Improved precision and recall (Kynkaanniemi et al. 2019) of ``fake`` against ``real`` features.

    As torch-fidelity's ``prc_features_to_metric(fake, real)`` (``input1`` is the generated set there).

    Args:
        real: real (reference) features (N, dim); keyword-only, so the sets cannot be swapped by position.
        fake: generated features (M, dim).
        k: neighbourhood size (``nearest_k`` in ``prdc``, ``prc_neighborhood`` in torch-fidelity).
        ball: 'closed' (``<=``, the authors' code and torch-fidelity) or 'open' (``<``, ``prdc``).
        memory_budget: bytes of the distance chunk held at once.

    Returns:
        ``{"precision": ..., "recall": ...}``, both in [0, 1].

    Raises:
        InputError: ``k >= N`` or ``k >= M`` (the message names the set and its size), bad shapes.
    """
    return knn_metrics(real=real, fake=fake, k=k, which=("precision", "recall"), ball=ball, memory_budget=memory_budget)


def density_coverage(
    *,
    real: torch.Tensor,
    fake: torch.Tensor,
    k: int = 5,
    ball: Ball = "closed",
    memory_budget: int = DEFAULT_MEMORY_BUDGET,
) -> dict[str, float]:
    """Density and coverage (Naeem et al. 2020) of ``fake`` against ``real`` features.

    Only the real set's balls are used, so ``fake`` may have k or fewer samples.

    Args:
        real: real (reference) features (N, dim); keyword-only, so the sets cannot be swapped by position.
        fake: generated features (M, dim).
        k: neighbourhood size (``nearest_k`` in ``prdc``).
        ball: 'closed' (``<=``) or 'open' (``<``, ``prdc``, the authors' code); they differ only at ties.
        memory_budget: bytes of the distance chunk held at once.

    Returns:
        ``{"density": ..., "coverage": ...}``: density in [0, N/k], about 1 for matching
        distributions; coverage in [0, 1].
    """
    return knn_metrics(real=real, fake=fake, k=k, which=("density", "coverage"), ball=ball, memory_budget=memory_budget)


def prdc(
    *,
    real: torch.Tensor,
    fake: torch.Tensor,
    k: int = 5,
    ball: Ball = "closed",
    memory_budget: int = DEFAULT_MEMORY_BUDGET,
) -> dict[str, float]:
    """All four with one ``k`` in one pass, as ``prdc.compute_prdc(real, fake, nearest_k=k)``.

    Args:
        real: real (reference) features (N, dim); keyword-only, so the sets cannot be swapped by position.
        fake: generated features (M, dim).
        k: neighbourhood size of all four (``nearest_k``); the papers use 3 for precision/recall and
            5 for density/coverage (call :func:`precision_recall` and :func:`density_coverage` for that).
        ball: 'closed' (``<=``) or 'open' (``<``: ``prdc``'s comparison, also at ties).
        memory_budget: bytes of the distance chunk held at once.

    Returns:
        ``{"precision", "recall", "density", "coverage"}`` as floats.
    """
    return knn_metrics(real=real, fake=fake, k=k, ball=ball, memory_budget=memory_budget)
