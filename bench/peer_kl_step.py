"""The peer a NumPy user would write for wgflow's KL-to-samples steering step (klToSamples, k = 1,
d = 2): vectorised, with scipy's cKDTree, the exact gradient (target term, self term and the
reverse-neighbour sum) and the steering update. The samples' tree is built once (they do not
move, as wgflow builds their grid once); the particles' tree is rebuilt every step.
Particles and samples are uniform in [-1, 1]^2, N = M unless given.
Usage: python3 peer_kl_step.py N [steps] [M]  -> prints ms per step (median of steps)."""
import sys, time, numpy as np
from scipy.spatial import cKDTree

EPS2 = 1e-12  # the smooth floors eps_nu = eps_r = 1e-6 of klToSamples

def step(x, v, y, ytree, h=1e-7, gamma=0.5):
    n, d = x.shape
    nu, m = ytree.query(x, k=1)
    dist, idx = cKDTree(x).query(x, k=2)
    r = dist[:, 1]; j = idx[:, 1]
    wy = (x - y[m]) / (nu * nu + EPS2)[:, None]
    wr = (x - x[j]) / (r * r + EPS2)[:, None]
    g = wy - wr
    np.add.at(g, j, wr)                      # reverse sum: -(x_j - x_i)/r_i^2 = +(x_i - x_j)/r_i^2
    g *= d                                   # N * gradient of (d/N) sum log(nu/r)
    s = np.sqrt(np.mean(np.sum(v * v, 1)) / max(np.mean(np.sum(g * g, 1)), 1e-300))
    v -= h * (gamma * v + (1 + gamma * s) * g)
    x += h * v
    return x, v

n = int(sys.argv[1]); steps = int(sys.argv[2]) if len(sys.argv) > 2 else 10
mm = int(sys.argv[3]) if len(sys.argv) > 3 else n
rng = np.random.default_rng(0)
x = rng.uniform(-1, 1, (n, 2)); v = np.zeros_like(x)
y = rng.uniform(-1, 1, (mm, 2)); ytree = cKDTree(y)
x, v = step(x, v, y, ytree)
ts = []
for _ in range(steps):
    t = time.perf_counter(); x, v = step(x, v, y, ytree); ts.append(time.perf_counter() - t)
print(f"{np.median(ts) * 1e3:.3f}")
