"""Within-subject covariance structures over visits, with analytic first and second derivatives.

The parametrisation follows the one documented for the R package mmrm (its covariance vignette):
log standard deviations, and correlations mapped from the real line by x / sqrt(1 + x^2)
(compound symmetry: an inverse logit scaled to (-1/(m-1), 1)); `us` is the Cholesky factor
L with L_ii = exp(theta_i) and L_ij = exp(theta_i) * theta_k.  Using the same parametrisation
matters for Kenward-Roger (its second-derivative term is not invariant to reparametrisation,
Kenward & Roger 1997, Biometrics 53:983, section 4), and makes `theta` comparable with mmrm.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

Array = NDArray[np.float64]

STRUCTURES: tuple[str, ...] = ("us", "cs", "csh", "ar1", "ar1h", "toep", "toeph", "ad", "adh")

DESCRIPTIONS: dict[str, str] = {
    "us": "unstructured",
    "cs": "compound symmetry",
    "csh": "heterogeneous compound symmetry",
    "ar1": "first-order autoregressive",
    "ar1h": "heterogeneous first-order autoregressive",
    "toep": "Toeplitz",
    "toeph": "heterogeneous Toeplitz",
    "ad": "first-order ante-dependence",
    "adh": "heterogeneous first-order ante-dependence",
}

# Structures with fewer covariance parameters than the key, from the most to the least flexible:
# suggested when a fit fails (a singular covariance usually means too many parameters).
_SIMPLER: dict[str, tuple[str, ...]] = {
    "us": ("adh", "toeph", "csh", "ar1h", "cs", "ar1"),
    "adh": ("ad", "ar1h", "csh", "ar1", "cs"),
    "toeph": ("toep", "ar1h", "csh", "ar1", "cs"),
    "csh": ("cs",),
    "ar1h": ("ar1", "cs"),
    "ad": ("ar1", "cs"),
    "toep": ("ar1", "cs"),
    "ar1": ("cs",),
    "cs": (),
}


def simpler_structures(name: str) -> tuple[str, ...]:
    """Structures with fewer parameters to try after a failed fit (least flexible last)."""
    return _SIMPLER.get(name, ())


# ---- scalar maps from the real line to correlations, with two derivatives -----------------


def _map_cor(x: Array) -> tuple[Array, Array, Array]:
    """rho = x / sqrt(1 + x^2) and its first two derivatives (mmrm's map to (-1, 1))."""
    s = 1.0 + x * x
    rho = x / np.sqrt(s)
    d1 = s**-1.5
    d2 = -3.0 * x * s**-2.5
    return rho, d1, d2


def _unmap_cor(rho: Array) -> Array:
    """Inverse of `_map_cor`."""
    return rho / np.sqrt(1.0 - rho * rho)


def _map_cs(x: float, n_visits: int) -> tuple[float, float, float]:
    """rho = logistic(x) * (1 + a) - a with a = 1 / (m - 1), and two derivatives."""
    a = 1.0 / (n_visits - 1.0) if n_visits > 1 else 1.0
    e = 1.0 / (1.0 + np.exp(-x))
    rho = e * (1.0 + a) - a
    d1 = (1.0 + a) * e * (1.0 - e)
    d2 = d1 * (1.0 - 2.0 * e)
    return float(rho), float(d1), float(d2)


def _unmap_cs(rho: float, n_visits: int) -> float:
    """Inverse of `_map_cs`."""
    a = 1.0 / (n_visits - 1.0) if n_visits > 1 else 1.0
    e = (rho + a) / (1.0 + a)
    return float(np.log(e / (1.0 - e)))


# ---- correlation matrices R(phi) with derivatives --------------------------------------------


def _corr_cs(phi: Array, m: int) -> tuple[Array, Array, Array]:
    """Compound symmetry: constant correlation."""
    rho, d1, d2 = _map_cs(float(phi[0]), m)
    off = 1.0 - np.eye(m)
    r = np.eye(m) + rho * off
    return r, (d1 * off)[None], (d2 * off)[None, None]


def _corr_ar1(phi: Array, m: int) -> tuple[Array, Array, Array]:
    """AR(1): corr_jk = rho^|j-k|."""
    rho_a, d1_a, d2_a = _map_cor(phi[:1])
    rho, d1, d2 = float(rho_a[0]), float(d1_a[0]), float(d2_a[0])
    lag = np.abs(np.subtract.outer(np.arange(m), np.arange(m))).astype(float)
    r = rho**lag
    # d/drho rho^k = k rho^(k-1); written with where() so that rho = 0 and small lags stay finite
    p1 = np.where(lag >= 1, lag * rho ** np.maximum(lag - 1, 0), 0.0)
    p2 = np.where(lag >= 2, lag * (lag - 1) * rho ** np.maximum(lag - 2, 0), 0.0)
    dr = p1 * d1
    d2r = p2 * d1 * d1 + p1 * d2
    return r, dr[None], d2r[None, None]


def _corr_toep(phi: Array, m: int) -> tuple[Array, Array, Array]:
    """Toeplitz: corr_jk = rho_|j-k|, one free correlation per lag."""
    rho, d1, d2 = _map_cor(phi)
    lag = np.abs(np.subtract.outer(np.arange(m), np.arange(m)))
    r = np.eye(m)
    k = m - 1
    dr = np.zeros((k, m, m))
    d2r = np.zeros((k, k, m, m))
    for d in range(1, m):
        mask = lag == d
        r[mask] = rho[d - 1]
        dr[d - 1][mask] = d1[d - 1]
        d2r[d - 1, d - 1][mask] = d2[d - 1]
    return r, dr, d2r


def _corr_ad(phi: Array, m: int) -> tuple[Array, Array, Array]:
    """Ante-dependence: corr_jk = prod of the adjacent correlations rho_j ... rho_(k-1)."""
    rho, d1, d2 = _map_cor(phi)
    k = m - 1
    r = np.eye(m)
    dr = np.zeros((k, m, m))
    d2r = np.zeros((k, k, m, m))
    for j in range(m):
        for i in range(j + 1, m):
            idx = list(range(j, i))
            r[i, j] = r[j, i] = float(np.prod(rho[idx]))
            for a in idx:
                rest = [b for b in idx if b != a]
                pa = float(np.prod(rho[rest]))
                dr[a, i, j] = dr[a, j, i] = pa * d1[a]
                d2r[a, a, i, j] = d2r[a, a, j, i] = pa * d2[a]
                for b in rest:
                    pab = float(np.prod(rho[[c for c in rest if c != b]]))
                    d2r[a, b, i, j] = d2r[a, b, j, i] = pab * d1[a] * d1[b]
    return r, dr, d2r


_CORR = {"cs": _corr_cs, "ar1": _corr_ar1, "toep": _corr_toep, "ad": _corr_ad}


@dataclass(frozen=True)
class CovarianceStructure:
    """A visit-by-visit covariance structure Sigma(theta) (mmrm's definitions, parametrisation)."""

    name: str
    n_visits: int

    def __post_init__(self) -> None:
        if self.name not in STRUCTURES:
            raise ValueError(f"unknown covariance structure {self.name!r}; use one of {STRUCTURES}")
        if self.n_visits < 1:
            raise ValueError("a covariance structure needs at least one visit")
        if self.n_visits == 1 and self.name not in ("us",):
            # With one visit every structure is a single variance; only `us` is well defined
            # without an empty/undefined correlation parameter.
            raise ValueError("with a single visit use the unstructured ('us') covariance")

    # ---- layout of theta ----
    @property
    def heterogeneous(self) -> bool:
        """Whether each visit has its own variance."""
        return self.name in ("us", "csh", "ar1h", "toeph", "adh")

    @property
    def n_sd(self) -> int:
        """Number of log-standard-deviation parameters."""
        return self.n_visits if self.heterogeneous else 1

    @property
    def n_corr(self) -> int:
        """Number of correlation parameters."""
        m = self.n_visits
        base = self.name.rstrip("h") if self.name != "us" else "us"
        if base == "us":
            return m * (m - 1) // 2
        if base in ("cs", "ar1"):
            return 1
        return m - 1  # toep, ad

    @property
    def n_theta(self) -> int:
        """Number of covariance parameters."""
        return self.n_sd + self.n_corr

    @property
    def _base(self) -> str:
        return "us" if self.name == "us" else self.name.rstrip("h")

    # ---- Sigma and its derivatives ----
    def matrix(self, theta: Array) -> Array:
        """Sigma(theta), the visit-by-visit covariance matrix."""
        return self.derivatives(theta, order=0)[0]

    def derivatives(self, theta: Array, order: int = 2) -> tuple[Array, Array, Array]:
        """Sigma, dSigma/dtheta (k, m, m) and d2Sigma/dtheta2 (k, k, m, m) (zeros if not asked)."""
        theta = np.asarray(theta, dtype=float)
        if theta.shape != (self.n_theta,):
            raise ValueError(f"{self.name} needs {self.n_theta} parameters, got {theta.shape}")
        if self.name == "us":
            return self._us(theta, order)
        m = self.n_visits
        k = self.n_theta
        n_sd = self.n_sd
        sd = np.exp(theta[:n_sd]) * np.ones(m) if n_sd == 1 else np.exp(theta[:n_sd])
        r, dr, d2r = _CORR[self._base](theta[n_sd:], m)
        ss = np.outer(sd, sd)
        sigma = ss * r
        d1 = np.zeros((k, m, m))
        d2 = np.zeros((k, k, m, m))
        if order == 0:
            return sigma, d1, d2
        # log-sd parameter a scales rows/columns of the visits it covers: h_a[j, l] = G_aj + G_al
        g = np.ones((1, m)) if n_sd == 1 else np.eye(m)
        h = g[:, :, None] + g[:, None, :]
        d1[:n_sd] = h * sigma
        d1[n_sd:] = ss * dr
        if order >= 2:
            d2[:n_sd, :n_sd] = h[:, None] * h[None, :] * sigma
            mixed = h[:, None] * (ss * dr)[None, :]
            d2[:n_sd, n_sd:] = mixed
            d2[n_sd:, :n_sd] = np.swapaxes(mixed, 0, 1)
            d2[n_sd:, n_sd:] = ss * d2r
        return sigma, d1, d2

    def _us(self, theta: Array, order: int) -> tuple[Array, Array, Array]:
        """Unstructured: Sigma = L L' with L_ii = exp(t_i), L_ij = exp(t_i) t_k (row-wise k)."""
        m = self.n_visits
        k = self.n_theta
        e = np.exp(theta[:m])
        lower = np.zeros((m, m))
        rows, cols = np.tril_indices(m, -1)
        # mmrm fills the strictly lower triangle row by row: (1,0), (2,0), (2,1), ...
        order_rc = np.lexsort((cols, rows))
        rows, cols = rows[order_rc], cols[order_rc]
        lower[np.arange(m), np.arange(m)] = e
        lower[rows, cols] = e[rows] * theta[m:]
        sigma = lower @ lower.T
        d1 = np.zeros((k, m, m))
        d2 = np.zeros((k, k, m, m))
        if order == 0:
            return sigma, d1, d2
        dl = np.zeros((k, m, m))
        for i in range(m):
            dl[i, i, :] = lower[i, :]
        off = np.arange(m, k)
        dl[off, rows, cols] = e[rows]
        x = dl @ lower.T
        d1 = x + np.swapaxes(x, 1, 2)
        if order >= 2:
            d2l = np.zeros((k, k, m, m))
            for i in range(m):
                d2l[i, i, i, :] = lower[i, :]
            d2l[rows, off, rows, cols] = e[rows]
            d2l[off, rows, rows, cols] = e[rows]
            y = d2l @ lower.T + np.einsum("rij,tkj->rtik", dl, dl)
            d2 = y + np.swapaxes(y, 2, 3)
        return sigma, d1, d2

    # ---- starting values ----
    def start(self, cov: Array) -> Array:
        """theta whose Sigma approximates a given positive-definite covariance matrix."""
        m = self.n_visits
        cov = np.asarray(cov, dtype=float)
        var = np.clip(np.diag(cov), 1e-12, None)
        if self.name == "us":
            lower = np.linalg.cholesky(cov)
            diag = np.diag(lower)
            rows, cols = np.tril_indices(m, -1)
            order_rc = np.lexsort((cols, rows))
            rows, cols = rows[order_rc], cols[order_rc]
            return np.concatenate([np.log(diag), lower[rows, cols] / diag[rows]])
        sd = np.sqrt(var)
        corr = cov / np.outer(sd, sd)
        log_sd = np.log(sd) if self.heterogeneous else np.array([np.log(np.mean(sd))])
        lim = 0.95
        base = self._base
        lag = np.abs(np.subtract.outer(np.arange(m), np.arange(m)))
        if base == "cs":
            rho = float(np.mean(corr[lag > 0]))
            low = -1.0 / (m - 1.0)
            rho = float(np.clip(rho, low + 0.05 * (1 - low), lim))
            phi = np.array([_unmap_cs(rho, m)])
        elif base == "ar1":
            rho = float(np.clip(np.mean(corr[lag == 1]), -lim, lim))
            phi = _unmap_cor(np.array([rho]))
        elif base == "toep":
            rhos = np.array([np.mean(corr[lag == d]) for d in range(1, m)])
            rhos = np.clip(rhos, -lim, lim)
            # shrink towards independence until the Toeplitz correlation is positive definite
            for _ in range(60):
                toep = np.eye(m)
                for d in range(1, m):
                    toep[lag == d] = rhos[d - 1]
                if np.linalg.eigvalsh(toep)[0] > 0.05:
                    break
                rhos = rhos * 0.8
            phi = _unmap_cor(rhos)
        else:  # ad
            rhos = np.clip(np.array([corr[j, j + 1] for j in range(m - 1)]), -lim, lim)
            phi = _unmap_cor(rhos)
        return np.concatenate([log_sd, phi])
