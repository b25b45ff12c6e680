import { showValue, UnitError } from "./errors.js";
import { checkSpecifiers } from "./escape.js";

/** A directive value as written in the file: strings are already in unit syntax. */
export type UnitValue = string | number | boolean;

export interface UnitSection {
  readonly name: string;
  readonly entries: readonly (readonly [key: string, value: UnitValue])[];
}

export interface UnitFile {
  /** Comment lines written at the top, each prefixed with "# ". */
  readonly header?: readonly string[];
  readonly sections: readonly UnitSection[];
}

const KEY = /^[A-Za-z][A-Za-z0-9-]*$/;
// biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what we reject
const SECTION = /^[^[\]\x00-\x1f\x7f]+$/;

/** Renders one value, validating it: string values must already be encoded unit syntax. */
export function renderValue(key: string, value: UnitValue): string {
  if (typeof value === "boolean") return value ? "yes" : "no";
  if (typeof value === "number") {
    if (!Number.isFinite(value)) {
      throw new UnitError("invalid-value", `${key}=: expected a finite number, received ${value}`);
    }
    return String(value);
  }
  if (/[\0\n\r]/.test(value)) {
    throw new UnitError(
      "invalid-value",
      `${key}=: NUL and newline characters cannot appear in a directive value: ${showValue(value)}`,
    );
  }
  if (value !== value.trim()) {
    throw new UnitError(
      "invalid-value",
      `${key}=: leading/trailing whitespace would be stripped by systemd: ${showValue(value)}`,
    );
  }
  if (value.endsWith("\\")) {
    throw new UnitError(
      "invalid-value",
      `${key}=: a trailing backslash would continue the line: ${showValue(value)}`,
    );
  }
  checkSpecifiers(value, `${key}=`);
  return value;
}

/**
 * The one serializer. Validates section names, keys and values (see `renderValue`) and
 * throws `UnitError` on anything that cannot be expressed.
 */
export function renderUnit(unit: UnitFile): string {
  const out: string[] = [];
  for (const line of unit.header ?? []) {
    if (/[\0\n\r]/.test(line)) {
      throw new UnitError(
        "invalid-header",
        `header: newline or NUL in comment line ${showValue(line)}`,
      );
    }
    out.push(line === "" ? "#" : `# ${line}`);
  }
  if (out.length > 0) out.push("");
  unit.sections.forEach((section, i) => {
    if (!SECTION.test(section.name)) {
      throw new UnitError("invalid-section", `section: invalid name ${showValue(section.name)}`);
    }
    if (i > 0) out.push("");
    out.push(`[${section.name}]`);
    for (const [key, value] of section.entries) {
      if (!KEY.test(key)) {
        throw new UnitError(
          "invalid-key",
          `[${section.name}]: expected a directive name matching [A-Za-z][A-Za-z0-9-]*, received ${showValue(key)}`,
        );
      }
      out.push(`${key}=${renderValue(key, value)}`);
    }
  });
  return `${out.join("\n")}\n`;
}
