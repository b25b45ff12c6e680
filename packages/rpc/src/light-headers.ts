type Init = LightHeaders | Headers | Iterable<readonly [string, string]> | Record<string, string>;

/**
 * The part of the Fetch `Headers` class that @connectrpc/connect and connect-node use, without
 * Node's undici. Node 20 loads undici (~1 MB of JavaScript) the first time anything touches the
 * global `Headers`: 30-50 ms of a CLI call that otherwise takes ~150 ms. The CLI's single
 * executable is bundled with this class in place of the global (scripts/build-sea.mjs, `inject`);
 * everything else keeps the real one. Names are case-insensitive, `append` joins values with
 * ", ", iteration is sorted by name: as in the Fetch standard (a test compares both).
 */
export class LightHeaders {
  private readonly map = new Map<string, string>();

  constructor(init?: Init) {
    if (init === undefined || init === null) return;
    if (isIterable(init)) {
      for (const [name, value] of init) this.append(name, value);
    } else {
      for (const name of Object.keys(init))
        this.append(name, (init as Record<string, string>)[name] ?? "");
    }
  }

  append(name: string, value: string): void {
    const key = normalizeName(name);
    const v = normalizeValue(value);
    const prev = this.map.get(key);
    this.map.set(key, prev === undefined ? v : `${prev}, ${v}`);
  }

  set(name: string, value: string): void {
    this.map.set(normalizeName(name), normalizeValue(value));
  }

  get(name: string): string | null {
    return this.map.get(normalizeName(name)) ?? null;
  }

  has(name: string): boolean {
    return this.map.has(normalizeName(name));
  }

  delete(name: string): void {
    this.map.delete(normalizeName(name));
  }

  getSetCookie(): string[] {
    const v = this.map.get("set-cookie");
    return v === undefined ? [] : [v];
  }

  forEach(callback: (value: string, name: string, headers: this) => void, thisArg?: unknown): void {
    for (const [name, value] of this.entries()) callback.call(thisArg, value, name, this);
  }

  *entries(): IterableIterator<[string, string]> {
    const names = [...this.map.keys()].sort();
    for (const name of names) yield [name, this.map.get(name) ?? ""];
  }

  *keys(): IterableIterator<string> {
    for (const [name] of this.entries()) yield name;
  }

  *values(): IterableIterator<string> {
    for (const [, value] of this.entries()) yield value;
  }

  [Symbol.iterator](): IterableIterator<[string, string]> {
    return this.entries();
  }

  get [Symbol.toStringTag](): string {
    return "Headers";
  }
}

function isIterable(x: unknown): x is Iterable<readonly [string, string]> {
  return typeof (x as { [Symbol.iterator]?: unknown })[Symbol.iterator] === "function";
}

const token = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;

function normalizeName(name: string): string {
  const s = String(name);
  if (!token.test(s)) throw new TypeError(`invalid header name: ${JSON.stringify(s)}`);
  return s.toLowerCase();
}

function normalizeValue(value: string): string {
  const s = String(value).replace(/^[\t\n\r ]+|[\t\n\r ]+$/g, "");
  if (/[\0\r\n]/.test(s)) throw new TypeError(`invalid header value: ${JSON.stringify(s)}`);
  return s;
}
