/**
 * Special functions in float64 for host-side constants: the digamma function and the log-volume
 * of the unit d-ball (the Kozachenko–Leonenko entropy constant ψ(N) − ψ(k) + log c_d of
 * src/energies/entropy.ts is built from them).
 */

const EULER_GAMMA = 0.5772156649015329;

/**
 * The digamma function ψ(x) = Γ'(x)/Γ(x) for x > 0, in float64 (recurrence up to x ≥ 16, then
 * the asymptotic series; absolute error about 1e-15). ψ(1) = −γ, ψ(n) = −γ + Σ_{j<n} 1/j.
 *
 * @example
 * digamma(1); // -0.5772156649015329
 */
export function digamma(x: number): number {
  if (!(x > 0) || !Number.isFinite(x)) throw new Error(`wgflow: digamma: x must be a positive finite number (got ${x})`);
  if (x === 1) return -EULER_GAMMA;
  let acc = 0;
  while (x < 16) {
    acc -= 1 / x;
    x += 1;
  }
  const i2 = 1 / (x * x);
  // ln x − 1/(2x) − Σ B_{2n} / (2n x^{2n})
  const series = i2 * (1 / 12 - i2 * (1 / 120 - i2 * (1 / 252 - i2 * (1 / 240 - i2 * (1 / 132)))));
  return acc + Math.log(x) - 0.5 / x - series;
}

/**
 * log c_d, the log-volume of the unit d-ball, c_d = π^{d/2} / Γ(d/2 + 1): c_1 = 2, c_2 = π,
 * c_3 = 4π/3 (exact half-integer Gamma values, for any integer d ≥ 1).
 *
 * @example
 * Math.exp(logUnitBallVolume(2)); // π
 */
export function logUnitBallVolume(d: number): number {
  if (!Number.isInteger(d) || d < 1) throw new Error(`wgflow: logUnitBallVolume: d must be a positive integer (got ${d})`);
  // Γ(d/2 + 1): for even d, (d/2)!; for odd d, Γ(1/2) Π_{j=0}^{(d-1)/2} (j + 1/2).
  let logGamma = 0;
  if (d % 2 === 0) {
    for (let j = 2; j <= d / 2; j++) logGamma += Math.log(j);
  } else {
    logGamma = 0.5 * Math.log(Math.PI);
    for (let j = 0; j <= (d - 1) / 2; j++) logGamma += Math.log(j + 0.5);
  }
  return (d / 2) * Math.log(Math.PI) - logGamma;
}
