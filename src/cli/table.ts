/** Rows of text as aligned columns, for the CLI's tables (status, fleet, routes), with nothing a terminal would obey. */

/**
 * Text that came from Redis or a daemon (queue names, host names, errors) with its control
 * characters shown as `\xNN` instead of being written raw: an escape sequence in a queue name must
 * not move the cursor, retitle the window or rewrite the lines above. Newlines are kept only when
 * `keepNewlines` (a whole rendered page); a tab becomes `\x09` so that columns stay aligned.
 */
export function printable(text: string, keepNewlines = false): string {
  // C0 controls (but \n when kept), DEL, and the C1 controls some terminals take as escapes (\x9b = CSI).
  const controls = keepNewlines ? /[\x00-\x09\x0b-\x1f\x7f-\x9f]/g : /[\x00-\x1f\x7f-\x9f]/g;
  return text.replace(controls, (ch) => `\\x${ch.charCodeAt(0).toString(16).padStart(2, '0')}`);
}

export function table(rows: string[][]): string {
  const cells = rows.map((r) => r.map((c) => printable(c)));
  const widths = cells[0]!.map((_, i) => Math.max(...cells.map((r) => (r[i] ?? '').length)));
  return cells.map((r) => r.map((c, i) => c.padEnd(widths[i]!)).join('  ').trimEnd()).join('\n');
}
