/**
 * Numbers for decision reasons: whole numbers as they are and others with a few decimals; two
 * compared numbers with as many more as it takes to read as different, so a reason never says
 * `0.50 > threshold 0.50`.
 */

/** A number for a decision line: whole numbers as they are, others with `digits` decimals. */
export function fmt(x: number, digits = 2): string {
  return Number.isInteger(x) ? String(x) : x.toFixed(digits);
}

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
