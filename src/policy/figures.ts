/**
 * Numbers for decision reasons: two decimals, or as many more as it takes for two compared numbers
 * to read as different, so a reason never says `0.50 > threshold 0.50`.
 */

/** `a` and `b` written with the fewest decimals (at least `min`) at which they differ; equal numbers as `fixed`. */
export function apart(a: number, b: number, min = 2): [string, string] {
  if (a === b || !Number.isFinite(a) || !Number.isFinite(b)) return [a.toFixed(min), b.toFixed(min)];
  for (let digits = min; digits <= 15; digits++) {
    const x = a.toFixed(digits);
    const y = b.toFixed(digits);
    if (x !== y) return [x, y];
  }
  // Two doubles closer than 1e-15: their shortest round-trip forms always differ.
  return [String(a), String(b)];
}
