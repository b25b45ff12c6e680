/** YAML text facts that the YAML parser does not give. */

/**
 * The line where a second YAML document begins, undefined when there is none. A document is
 * begun by `---`, by content while none is open, or by a `...` while none is open (an empty
 * one); `...` ends the open one. js-yaml's "expected a single document in the stream" error has
 * no position: this is it.
 */
export function secondDocumentLine(text: string): number | undefined {
  const lines = text.split(/\r?\n/);
  let documents = 0;
  let open = false;
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i] as string;
    const marker = /^(---|\.\.\.)(\s|$)/.exec(line)?.[1];
    const content = marker === undefined && !/^\s*(#.*)?$/.test(line) && !line.startsWith("%");
    if (marker === "---" || (!open && (marker === "..." || content))) documents++;
    if (documents === 2) return i + 1;
    if (marker !== undefined || content) open = marker !== "...";
  }
  return undefined;
}
