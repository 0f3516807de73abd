/** The parts of an HTTP response the assertions read, whatever client produced it. */
export interface ResponseView {
  readonly status: number;
  header(name: string): string | undefined;
  body(): Promise<Buffer>;
}

/** A supertest / superagent response, as far as the assertions need it. */
interface AgentResponse {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body?: unknown;
  text?: string;
}

/**
 * Reads a WHATWG `fetch` Response or a supertest/superagent response alike. Header values are
 * returned as Node received them: one latin1 character per byte.
 *
 * @example
 * const view = viewResponse(await fetch(url));
 */
export function viewResponse(res: unknown): ResponseView {
  if (typeof Response !== 'undefined' && res instanceof Response) return fetchView(res);
  if (isAgentResponse(res)) return agentView(res);
  throw new TypeError('expected a fetch Response or a supertest/superagent response');
}

function fetchView(res: Response): ResponseView {
  let bytes: Promise<Buffer> | undefined;
  return {
    status: res.status,
    header: (name) => res.headers.get(name) ?? undefined,
    body: () =>
      (bytes ??= res
        .clone()
        .arrayBuffer()
        .then((b) => Buffer.from(b))),
  };
}

function agentView(res: AgentResponse): ResponseView {
  return {
    status: res.status,
    header: (name) => {
      const value = res.headers[name.toLowerCase()];
      return Array.isArray(value) ? value.join(', ') : value;
    },
    body: async () => {
      if (Buffer.isBuffer(res.body)) return res.body;
      if (typeof res.text === 'string') return Buffer.from(res.text, 'utf8');
      return Buffer.alloc(0);
    },
  };
}

function isAgentResponse(res: unknown): res is AgentResponse {
  const candidate = res as Partial<AgentResponse> | null;
  return (
    typeof candidate?.status === 'number' &&
    typeof candidate.headers === 'object' &&
    candidate.headers !== null
  );
}
