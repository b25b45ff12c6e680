/** YAML text facts that the YAML parser does not give. */

/**
 * The line where a second YAML document begins: a `---` after a document began (by content or an
 * earlier `---`), or content after a `...` end marker. Undefined when there is none.
 * js-yaml's "expected a single document in the stream" error has no position: this is it.
 */
export function secondDocumentLine(text: string): number | undefined {
  const lines = text.split(/\r?\n/);
  let begun = false;
  let ended = false;
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i] as string;
    if (/^---(\s|$)/.test(line)) {
      if (begun) return i + 1;
      begun = true;
    } else if (/^\.\.\.(\s|$)/.test(line)) {
      ended = begun;
    } else if (!/^\s*(#.*)?$/.test(line) && !line.startsWith("%")) {
      if (ended) return i + 1;
      begun = true;
    }
  }
  return undefined;
}
