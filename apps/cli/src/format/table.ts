import { visibleLength } from "./color.js";

export interface TableOptions {
  /** Total width available (a terminal's columns); undefined = no limit. */
  maxWidth?: number | undefined;
  /**
   * The columns that shrink (their cells are truncated with "…") to fit maxWidth: the widest
   * of them first, none below its header or 10 characters.
   */
  shrink?: number | readonly number[] | undefined;
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
 * columns must hold plain text (they are cut by character count). Trailing spaces are trimmed.
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
  const { maxWidth } = options;
  const shrink = (
    typeof options.shrink === "number" ? [options.shrink] : (options.shrink ?? [])
  ).filter((i) => i < widths.length);
  if (maxWidth !== undefined && shrink.length > 0) {
    const before = [...widths];
    const floor = (i: number) => Math.max(headers[i]?.length ?? 0, 10);
    let over = widths.reduce((a, b) => a + b, 0) + gap * (widths.length - 1) - maxWidth;
    while (over > 0) {
      const widest = shrink
        .filter((i) => (widths[i] ?? 0) > floor(i))
        .sort((a, b) => (widths[b] ?? 0) - (widths[a] ?? 0))[0];
      if (widest === undefined) break;
      widths[widest] = (widths[widest] ?? 0) - 1;
      over--;
    }
    cells = cells.map((r) =>
      r.map((c, i) => ((widths[i] ?? 0) < (before[i] ?? 0) ? truncate(c, widths[i] ?? 0) : c)),
    );
  }
  const right = new Set(options.alignRight ?? []);
  const line = (r: readonly string[]) =>
    r
      .map((c, i) => pad(c, widths[i] ?? 0, right.has(i)))
      .join(" ".repeat(gap))
      .trimEnd();
  return `${[line(headers), ...cells.map(line)].join("\n")}\n`;
}
