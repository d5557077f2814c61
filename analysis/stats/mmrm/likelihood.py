"""(RE)ML objective of the MMRM with beta profiled out, from per-visit-pattern sums.

Patients who share a visit pattern S (and covariance group) share Sigma_S = Sigma[S, S]. With
Z_i = [X_i, y_i], every quantity the likelihood needs is a sum over patterns of
sum_jk (Sigma_S^-1)_jk T_S[j, k] with T_S[j, k] = sum_i z_ij z_ik', computed once: a pattern
with many patients costs O(|S|^2 p^2) per evaluation whatever its size.  Patterns with few
patients (many visits, intermittent gaps) keep their rows instead, as T_S would be larger than
the data.  All patterns are embedded in the full visit space (zero rows/columns for absent
visits), so the work is batched over patterns and no Python loop runs over patients or
patterns.  Objective (negative log-likelihood as in mmrm; Harville 1977, JASA 72:320):
  ML:   n/2 log 2pi + 1/2 sum_i log|Sigma_i| + 1/2 r' V^-1 r
  REML: (n-p)/2 log 2pi + 1/2 sum_i log|Sigma_i| + 1/2 log|X' V^-1 X| + 1/2 r' V^-1 r
Gradient and Hessian are analytic: derivatives with respect to the entries of Sigma (matrix
calculus on the pattern sums, cf. Wolfinger, Tobias & Sall 1994, SIAM J Sci Comput 15:1294),
then the chain rule through the covariance structure.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray
from scipy import linalg

from analysis.stats.mmrm.covariance import CovarianceStructure

Array = NDArray[np.float64]
IntArray = NDArray[np.int64]
BoolArray = NDArray[np.bool_]

LOG_2PI = float(np.log(2.0 * np.pi))


@dataclass(frozen=True)
class Layout:
    """Row order that makes each (group, visit pattern) cell a contiguous patient-major block."""

    n_visits: int
    order: IntArray  # permutation of the rows
    bounds: IntArray  # cell c holds sorted rows bounds[c]:bounds[c+1]
    n_patients: IntArray  # per cell
    groups: IntArray  # per cell
    visits: list[IntArray]  # per cell: visit indices, increasing


def cell_layout(patient: IntArray, visit: IntArray, group: IntArray, n_visits: int) -> Layout:
    """Sort rows by cell, patient and visit (`group` is per patient)."""
    n_patients = int(patient.max()) + 1 if patient.size else 0
    # Visit sets as bit masks (visits are unique within a patient, so a sum is an OR; exact in
    # float64 for fewer than 53 visits).
    mask = np.bincount(patient, weights=np.ldexp(1.0, visit), minlength=n_patients)
    key = group.astype(float) * 2.0**n_visits + mask
    keys, cell_of_patient = np.unique(key, return_inverse=True)
    cell_of_patient = cell_of_patient.reshape(-1)
    order = np.lexsort((visit, patient, cell_of_patient[patient]))
    row_cell = cell_of_patient[patient[order]]
    bounds = np.searchsorted(row_cell, np.arange(len(keys) + 1)).astype(np.int64)
    per_cell = np.bincount(cell_of_patient, minlength=len(keys)).astype(np.int64)
    sorted_visit = visit[order]
    visits = [
        np.sort(sorted_visit[bounds[c] : bounds[c] + (bounds[c + 1] - bounds[c]) // per_cell[c]])
        for c in range(len(keys))
    ]
    groups = (keys // 2.0**n_visits).astype(np.int64)
    return Layout(n_visits, order.astype(np.int64), bounds, per_cell, groups, visits)


@dataclass(frozen=True)
class Cells:
    """All patterns in the full visit space: summed statistics or padded rows."""

    n_visits: int
    mask: BoolArray  # (cells, V): visits present in the pattern
    n_patients: Array  # (cells,)
    group: IntArray  # (cells,)
    stat_cells: IntArray  # cells summarised by statistics
    stats: Array  # (stat cells, V, V, q, q): sum_i z_ij z_ik', zero for absent visits
    raw_cells: IntArray  # cells kept as rows
    raw_z: Array  # (raw patients, V, q): z per visit, zero rows for absent visits
    raw_cell: IntArray  # (raw patients,): their cell
    raw_starts: IntArray  # (raw cells,): first raw patient of each raw cell

    @property
    def n_cells(self) -> int:
        """Number of (group, visit pattern) cells."""
        return len(self.n_patients)


def build_cells(z: Array, layout: Layout) -> tuple[Cells, Array]:
    """Cells from Z = [X, y] in layout order.

    The last column of z is centred in place by the OLS fit (beta0, returned): the likelihood
    is unchanged, but r'V^-1 r is then computed without cancellation against a large y'V^-1 y.
    """
    q = z.shape[1]
    p = q - 1
    x = z[:, :p]
    # OLS by the normal equations: beta0 only centres y, any accuracy will do
    beta0 = linalg.solve(x.T @ x, x.T @ z[:, p], assume_a="pos")
    z[:, p] -= x @ beta0
    n_visits = layout.n_visits
    n_cells = len(layout.n_patients)
    mask = np.zeros((n_cells, n_visits), dtype=bool)
    for c, vis in enumerate(layout.visits):
        mask[c, vis] = True
    sizes = mask.sum(axis=1)
    # Summed statistics take V^2 q^2 numbers, rows n_c V q: summarise a cell once its statistics
    # are at most twice the size of its rows (they are then also cheaper per evaluation).
    is_stat = layout.n_patients * 2 >= n_visits * q
    stat_cells = np.flatnonzero(is_stat).astype(np.int64)
    raw_cells = np.flatnonzero(~is_stat).astype(np.int64)
    stats = np.zeros((len(stat_cells), n_visits, n_visits, q, q))
    for s, c in enumerate(stat_cells.tolist()):
        block = z[layout.bounds[c] : layout.bounds[c + 1]]
        n_c, m = int(layout.n_patients[c]), int(sizes[c])
        flat = block.reshape(n_c, m * q)
        gram = (flat.T @ flat).reshape(m, q, m, q).transpose(0, 2, 1, 3)
        vis = layout.visits[c]
        stats[s][np.ix_(vis, vis)] = gram
    n_raw = int(layout.n_patients[raw_cells].sum())
    raw_z = np.zeros((n_raw, n_visits, q))
    raw_cell = np.repeat(raw_cells, layout.n_patients[raw_cells]).astype(np.int64)
    raw_starts = np.zeros(len(raw_cells), dtype=np.int64)
    pos = 0
    for r, c in enumerate(raw_cells.tolist()):
        n_c, m = int(layout.n_patients[c]), int(sizes[c])
        raw_starts[r] = pos
        block = z[layout.bounds[c] : layout.bounds[c + 1]].reshape(n_c, m, q)
        raw_z[pos : pos + n_c][:, layout.visits[c], :] = block
        pos += n_c
    cells = Cells(
        n_visits=n_visits,
        mask=mask,
        n_patients=layout.n_patients.astype(float),
        group=layout.groups,
        stat_cells=stat_cells,
        stats=stats,
        raw_cells=raw_cells,
        raw_z=raw_z,
        raw_cell=raw_cell,
        raw_starts=raw_starts,
    )
    return cells, beta0


@dataclass(frozen=True)
class Evaluation:
    """Objective and, as requested, its derivatives and the GLS quantities at one theta."""

    value: float
    gradient: Array | None
    hessian: Array | None
    beta: Array  # GLS estimate of beta
    xtvx: Array  # X' V^-1 X
    xtvx_inv: Array  # (X' V^-1 X)^-1, the model-based covariance of beta
    p_mats: Array | None  # P_r = X' dV^-1/dtheta_r X, (n_theta, p, p) (Kenward & Roger's P_i)


def _sum_by_group(values: Array, group: IntArray, n_groups: int) -> Array:
    """Sum of per-cell arrays within each covariance group."""
    out = np.zeros((n_groups, *values.shape[1:]))
    np.add.at(out, group, values)
    return out


class Likelihood:
    """Negative (restricted) log-likelihood of theta, with beta profiled out by GLS."""

    def __init__(
        self,
        cells: Cells,
        beta0: Array,
        structure: CovarianceStructure,
        n_groups: int,
        n_obs: int,
        reml: bool,
    ) -> None:
        self.cells = cells
        self.beta0 = beta0
        self.structure = structure
        self.n_groups = n_groups
        self.n_obs = n_obs
        self.reml = reml
        self.p = beta0.shape[0]
        self.k = structure.n_theta
        self.n_theta = self.k * n_groups
        both = cells.mask[:, :, None] & cells.mask[:, None, :]
        self._outside = np.where(both, 0.0, 1.0) * np.eye(cells.n_visits)[None]
        self._inside = both.astype(float)

    def sigmas(self, theta: Array, order: int) -> list[tuple[Array, Array, Array]]:
        """Sigma and its derivatives for each covariance group."""
        k = self.k
        return [
            self.structure.derivatives(theta[g * k : (g + 1) * k], order)
            for g in range(self.n_groups)
        ]

    def _inverses(self, sig: list[tuple[Array, Array, Array]]) -> tuple[Array, Array] | None:
        """Per cell: Sigma_S^-1 embedded in V x V (zeros elsewhere) and log|Sigma_S|."""
        cells = self.cells
        try:
            for s in sig:
                np.linalg.cholesky(s[0])  # the whole matrix must be a covariance matrix
            full = np.stack([s[0] for s in sig])[cells.group]
            # pad each pattern's block with the identity: block-diagonal, same determinant
            padded = full * self._inside + self._outside
            chol = np.linalg.cholesky(padded)
        except np.linalg.LinAlgError:
            return None
        diag = np.diagonal(chol, axis1=1, axis2=2)
        if not np.all(np.isfinite(diag)) or np.any(diag <= 0.0):
            return None
        log_det = 2.0 * np.sum(np.log(diag), axis=1)
        inv = np.linalg.inv(padded) * self._inside
        inv = 0.5 * (inv + np.swapaxes(inv, 1, 2))
        return inv, log_det

    def evaluate(self, theta: Array, order: int = 1) -> Evaluation | None:
        """Objective (and gradient if order >= 1, Hessian if order >= 2); None if not PD."""
        cells = self.cells
        p, k, n_g = self.p, self.k, self.n_groups
        sig = self.sigmas(np.asarray(theta, dtype=float), order)
        got = self._inverses(sig)
        if got is None:
            return None
        a, log_det = got
        a_stat = a[cells.stat_cells]
        a_raw = a[cells.raw_cell]  # per raw patient
        az = a_raw @ cells.raw_z  # (raw patients, V, q)
        z_flat = cells.raw_z.reshape(-1, p + 1)
        q_tot = np.tensordot(a_stat, cells.stats, axes=([0, 1, 2], [0, 1, 2]))
        q_tot = q_tot + z_flat.T @ az.reshape(-1, p + 1)
        q_tot = 0.5 * (q_tot + q_tot.T)
        xtvx = q_tot[:p, :p]
        try:
            m_chol = linalg.cho_factor(xtvx, lower=True)
        except (linalg.LinAlgError, ValueError):
            return None
        m_inv = linalg.cho_solve(m_chol, np.eye(p))
        m_inv = 0.5 * (m_inv + m_inv.T)
        delta = m_inv @ q_tot[:p, p]
        u = np.append(-delta, 1.0)
        quad = float(u @ q_tot @ u)
        value = 0.5 * (float(cells.n_patients @ log_det) + quad)
        n_const = self.n_obs - p if self.reml else self.n_obs
        value += 0.5 * n_const * LOG_2PI
        if self.reml:
            value += float(np.sum(np.log(np.diag(m_chol[0]))))
        beta = self.beta0 + delta
        if order == 0:
            return Evaluation(value, None, None, beta, xtvx, m_inv, None)

        # df = tr(D dSigma), D = sum over cells of 1/2 (n A - A E A), E_jk = <W, T[j, k]>,
        # W = u u' (+ M^-1 on the beta block for REML)
        w = np.outer(u, u)
        if self.reml:
            w[:p, :p] += m_inv
        e = np.zeros_like(a)
        e[cells.stat_cells] = np.tensordot(cells.stats, w, axes=([3, 4], [0, 1]))
        if len(cells.raw_cells):
            zw = cells.raw_z @ w
            e_pat = zw @ np.swapaxes(cells.raw_z, 1, 2)
            e[cells.raw_cells] = np.add.reduceat(e_pat, cells.raw_starts, axis=0)
        f = a @ e @ a
        n_c = cells.n_patients[:, None, None]
        d_cells = 0.5 * (n_c * a - f)
        d_group = _sum_by_group(d_cells, cells.group, n_g)
        grad = np.concatenate(
            [
                np.tensordot(s[1], d, axes=([1, 2], [0, 1]))
                for s, d in zip(sig, d_group, strict=True)
            ]
        )
        if order == 1:
            return Evaluation(value, grad, None, beta, xtvx, m_inv, None)

        # Hessian in the entries of Sigma, then through the structure:
        #   <D, d2Sigma> + sum_cells tr(dS_t A dS_r K), K = F - n/2 A
        #   - q_t' M^-1 q_r  - [REML] 1/2 tr(M^-1 P_t M^-1 P_r)
        # with (per entry ab) Q_ab = -sum_cells (A E_ab A) . T, q_ab = (Q_ab u)[:p], P = Q[:p, :p]
        vv = cells.n_visits
        kmat = f - n_c * 0.5 * a
        # second-order terms in Sigma's entries: q (V, V, p) and U = -P (V, V, p, p) per group
        r_raw = cells.raw_z @ u  # residuals of raw patients (V,)
        ax = az[:, :, :p]  # A X per raw patient
        ar = (a_raw @ r_raw[:, :, None])[:, :, 0]
        w_stat = cells.stats[..., :p, :] @ u  # (stat cells, V, V, p)
        hess = np.zeros((self.n_theta, self.n_theta))
        p_mats = np.zeros((self.n_theta, p, p))
        q_theta = np.zeros((self.n_theta, p))
        for g in range(n_g):
            sl = slice(g * k, (g + 1) * k)
            jac, jac2 = sig[g][1], sig[g][2]
            in_g = cells.group == g
            # sum_cells A[y, z] K[w, x] as one matrix product over cells
            g4 = (a[in_g].reshape(-1, vv * vv).T @ kmat[in_g].reshape(-1, vv * vv)).reshape(
                vv, vv, vv, vv
            )
            tmp = np.tensordot(jac, g4, axes=([1, 2], [1, 2]))  # (r, y, x)
            hess[sl, sl] += np.tensordot(jac, tmp, axes=([1, 2], [2, 1]))
            hess[sl, sl] += np.tensordot(jac2, d_group[g], axes=([2, 3], [0, 1]))
            raw_g = in_g[cells.raw_cell]
            stat_g = in_g[cells.stat_cells]
            # raw patients: q_ab = -sum_i (A x_i)_a (A r_i)_b, U_ab = sum_i (A x_i)_a (A x_i)_b'
            axf = ax[raw_g].reshape(-1, vv * p)
            q_ent = -(axf.T @ ar[raw_g]).reshape(vv, p, vv).transpose(0, 2, 1)
            u_ent = (axf.T @ axf).reshape(vv, p, vv, p).transpose(0, 2, 1, 3)
            if np.any(stat_g):
                # summed cells: q_ab = -(A' w A)_ab with w_jk = T_jk u, U_ab = (A' T A)_ab
                a_s = a_stat[stat_g][:, None]
                w_s = np.moveaxis(w_stat[stat_g], 3, 1)  # (n, p, V, V)
                q_ent -= np.moveaxis(np.sum(a_s @ w_s @ a_s, axis=0), 0, 2)
                t_s = np.moveaxis(cells.stats[stat_g][..., :p, :p], (3, 4), (1, 2))
                u_s = np.sum(a_s[:, None] @ t_s @ a_s[:, None], axis=0)  # (p, p, V, V)
                u_ent += np.moveaxis(u_s, (0, 1), (2, 3))
            p_mats[sl] = -np.tensordot(jac, u_ent, axes=([1, 2], [0, 1]))
            q_theta[sl] = np.tensordot(jac, q_ent, axes=([1, 2], [0, 1]))
        p_mats = 0.5 * (p_mats + np.swapaxes(p_mats, 1, 2))
        hess -= q_theta @ m_inv @ q_theta.T
        if self.reml:
            mp = m_inv @ p_mats
            hess -= 0.5 * np.tensordot(mp, np.swapaxes(mp, 1, 2), axes=([1, 2], [1, 2]))
        hess = 0.5 * (hess + hess.T)
        return Evaluation(value, grad, hess, beta, xtvx, m_inv, p_mats)

    def kr_middle(self, theta: Array, w: Array) -> Array:
        """sum_rt W_rt (Q_rt - R_rt / 4) of Kenward & Roger (1997), contracted per pattern.

        Q_rt = X' V^-1 V_r V^-1 V_t V^-1 X and R_rt = X' V^-1 V_rt V^-1 X; the weighted sum
        over (r, t) is formed on the visit level, G = sum_rt W_rt (A S_r A S_t A - A S_rt A / 4),
        before contracting with the statistics (or rows) of each pattern.
        """
        cells = self.cells
        p, k = self.p, self.k
        sig = self.sigmas(np.asarray(theta, dtype=float), 2)
        got = self._inverses(sig)
        if got is None:
            raise ValueError("the covariance is not positive definite")
        a = got[0]
        # per group: sum_t W_rt S_t and sum_rt W_rt S_rt
        ws = []
        ws2 = []
        for g in range(self.n_groups):
            sl = slice(g * k, (g + 1) * k)
            wg = w[sl, sl]
            ws.append(np.tensordot(wg, sig[g][1], axes=([1], [0])))
            ws2.append(np.tensordot(wg, sig[g][2], axes=([0, 1], [0, 1])))
        g_cells = np.zeros_like(a)
        for c in range(cells.n_cells):
            g = int(cells.group[c])
            ac = a[c]
            as_r = ac @ sig[g][1]  # A S_r (k, V, V)
            mid = np.tensordot(as_r, ac @ ws[g], axes=([0, 2], [0, 1])) @ ac
            g_cells[c] = mid - 0.25 * ac @ ws2[g] @ ac
        out = np.tensordot(
            g_cells[cells.stat_cells], cells.stats[..., :p, :p], axes=([0, 1, 2], [0, 1, 2])
        )
        if len(cells.raw_cells):
            xg = g_cells[cells.raw_cell] @ cells.raw_z[:, :, :p]
            out += cells.raw_z[:, :, :p].reshape(-1, p).T @ xg.reshape(-1, p)
        return 0.5 * (out + out.T)
