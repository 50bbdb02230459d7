"""The peer a NumPy user would write for KL to samples: the steering step of
F = KL(q || p) estimated from M target samples (Wang-Kulkarni-Verdu, k = 1), vectorised, with
scipy's cKDTree and the exact gradient (forward term + reverse-neighbour sum), as
src/energies/kl.ts:
    nu_i = |x_i - y_m(i)| (tree on the M samples, built once: they do not move),
    r_i  = |x_i - x_n(i)| (tree on the particles, rebuilt every step),
    g_j  = d [ (x_j - y_m(j))/nu~_j^2 - (x_j - x_n(j))/r~_j^2 - sum_{i: n(i)=j} (x_j - x_i)/r~_i^2 ],
with nu~^2 = nu^2 + eps^2, r~^2 = r^2 + eps^2 (eps = 1e-6), then the steering update.
Particles and samples uniform in [-1, 1]^2, M = N, h = 1e-7, gamma = 0.5 (bench/workloads.ts).
Usage: python3 peer_kl_step.py N [steps]  -> prints ms per step (median of steps)."""
import sys, time, numpy as np
from scipy.spatial import cKDTree

EPS2 = 1e-12

def step(x, v, y, ytree, h=1e-7, gamma=0.5):
    n, d = x.shape
    nu, m = ytree.query(x, k=1)                   # nearest sample of each particle
    dist, idx = cKDTree(x).query(x, k=2)          # nearest other particle
    r = dist[:, 1]; j = idx[:, 1]
    g = d * (x - y[m]) / (nu * nu + EPS2)[:, None]
    w = d * (x - x[j]) / (r * r + EPS2)[:, None]
    g -= w                                        # forward r term of i
    np.add.at(g, j, w)                            # reverse r terms: g_j += d (x_i - x_j)/r~_i^2 for n(i) = j
    s = np.sqrt(np.mean(np.sum(v * v, 1)) / max(np.mean(np.sum(g * g, 1)), 1e-300))
    v -= h * (gamma * v + (1 + gamma * s) * g)
    x += h * v
    return x, v

n = int(sys.argv[1]); steps = int(sys.argv[2]) if len(sys.argv) > 2 else 10
rng = np.random.default_rng(0)
x = rng.uniform(-1, 1, (n, 2)); v = np.zeros_like(x)
y = rng.uniform(-1, 1, (n, 2)); ytree = cKDTree(y)
x, v = step(x, v, y, ytree)
ts = []
for _ in range(steps):
    t = time.perf_counter(); x, v = step(x, v, y, ytree); ts.append(time.perf_counter() - t)
print(f"{np.median(ts) * 1e3:.3f}")
