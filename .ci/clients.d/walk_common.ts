// What both TypeScript walks share: the server and token from the environment, and checks.
declare const process: { env: Record<string, string | undefined> };

export const BASE = process.env.CLIENT_BASE ?? "";
export const TOKEN = process.env.CLIENT_TOKEN ?? "";

export function check(condition: unknown, message: string): asserts condition {
  if (!condition) throw new Error(message);
}

export function same(actual: unknown, expected: unknown, what: string): void {
  check(JSON.stringify(actual) === JSON.stringify(expected), `${what}: ${JSON.stringify(actual)} != ${JSON.stringify(expected)}`);
}

/** The response's ETag: a quoted record version. */
export function etag(response: Response): string {
  const tag = response.headers.get("etag") ?? "";
  check(/^"[0-9]+"$/.test(tag), `ETag ${tag}`);
  return tag;
}
