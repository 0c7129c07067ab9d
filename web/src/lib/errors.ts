// API errors ({"error", "code"} with an HTTP status; a claim conflict also names `holder`)
// and what the reader is told about them.

export class ApiError extends Error {
  readonly status: number;
  readonly code: string;
  readonly holder: string;
  readonly url: string;

  constructor(status: number, message: string, code = '', holder = '', url = '') {
    super(message);
    this.name = 'ApiError';
    this.status = status;
    this.code = code;
    this.holder = holder;
    this.url = url;
  }
}

/** The ApiError of a failed answer's status and body text (JSON or not). */
export function apiErrorFrom(status: number, bodyText: string, url = ''): ApiError {
  let message = '';
  let code = '';
  let holder = '';
  try {
    const body = JSON.parse(bodyText);
    if (body && typeof body === 'object') {
      message = typeof body.error === 'string' ? body.error : '';
      code = typeof body.code === 'string' ? body.code : '';
      holder = typeof body.holder === 'string' ? body.holder : '';
    }
  } catch {
    message = bodyText.trim().slice(0, 300);
  }
  return new ApiError(status, message || `HTTP ${status}`, code, holder, url);
}

export type Verb = 'claim' | 'release' | 'heartbeat' | 'state' | 'priority' | 'load';

/**
 * One line for the reader. A claim held by someone else names them ("Claimed by dr.smith —
 * …"); other conflicts repeat the server's message (it names the states); the rest say
 * what failed.
 */
export function errorMessage(err: unknown, verb: Verb = 'load'): string {
  if (err instanceof ApiError) {
    if (err.status === 409) {
      if (err.holder) {
        if (verb === 'claim') return `Claimed by ${err.holder} — you cannot read it until they release it or the claim expires.`;
        return `Held by ${err.holder}: ${err.message}`;
      }
      if (verb === 'release' || verb === 'heartbeat') return `You do not hold this claim: ${err.message}`;
      return `Not allowed: ${err.message}`;
    }
    if (err.status === 404) return `Not found: ${err.message}`;
    if (err.status === 403) return `Not permitted: ${err.message}`;
    if (err.status === 400) return `Refused: ${err.message}`;
    return `Server error ${err.status}: ${err.message}`;
  }
  if (err instanceof Error) return `Cannot reach radflow: ${err.message}`;
  return String(err);
}
