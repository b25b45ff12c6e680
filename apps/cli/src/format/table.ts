import { visibleLength } from "./color.js";

export interface TableOptions {
  /** Total width available (a terminal's columns); undefined = no limit. */
  maxWidth?: number | undefined;
  /** The column that shrinks (its cells are truncated with "…") to fit maxWidth. */
  shrink?: number | undefined;
  /** Columns aligned to the right (numbers). */
  alignRight?: readonly number[];
  /** Spaces between columns. */
  gap?: number;
}

/** Truncates plain text to width, marking the cut with "…". */
export function truncate(s: string, width: number): string {
  if (width <= 0) return "";
  if (s.length <= width) return s;
  if (width === 1) return "…";
  return `${s.slice(0, width - 1)}…`;
}

function pad(s: string, width: number, right: boolean): string {
  const fill = " ".repeat(Math.max(0, width - visibleLength(s)));
  return right ? fill + s : s + fill;
}

/**
 * Renders rows under headers, columns padded to their widest cell (ANSI-aware). The shrink
 * column must hold plain text (it is cut by character count). Trailing spaces are trimmed.
 */
export function renderTable(
  headers: readonly string[],
  rows: readonly (readonly string[])[],
  options: TableOptions = {},
): string {
  const gap = options.gap ?? 2;
  const widths = headers.map((h, i) =>
    Math.max(visibleLength(h), ...rows.map((r) => visibleLength(r[i] ?? ""))),
  );
  let cells = rows.map((r) => headers.map((_, i) => r[i] ?? ""));
  const { maxWidth, shrink } = options;
  if (maxWidth !== undefined && shrink !== undefined && shrink < widths.length) {
    const total = widths.reduce((a, b) => a + b, 0) + gap * (widths.length - 1);
    const over = total - maxWidth;
    const current = widths[shrink] ?? 0;
    if (over > 0) {
      const header = headers[shrink] ?? "";
      const target = Math.max(header.length, 10, current - over);
      if (target < current) {
        widths[shrink] = target;
        cells = cells.map((r) => r.map((c, i) => (i === shrink ? truncate(c, target) : c)));
      }
    }
  }
  const right = new Set(options.alignRight ?? []);
  const line = (r: readonly string[]) =>
    r
      .map((c, i) => pad(c, widths[i] ?? 0, right.has(i)))
      .join(" ".repeat(gap))
      .trimEnd();
  return `${[line(headers), ...cells.map(line)].join("\n")}\n`;
}
