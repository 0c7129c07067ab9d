import { describe, expect, it } from 'vitest';
import { ApiError, apiErrorFrom, errorMessage } from './errors';

describe('apiErrorFrom', () => {
  it('reads the error, code and holder of a JSON body', () => {
    const e = apiErrorFrom(409, '{"error":"held by dr.smith","code":"conflict","holder":"dr.smith"}', '/x');
    expect(e).toBeInstanceOf(ApiError);
    expect(e.status).toBe(409);
    expect(e.message).toBe('held by dr.smith');
    expect(e.code).toBe('conflict');
    expect(e.holder).toBe('dr.smith');
    expect(e.url).toBe('/x');
  });
  it('copes with a body that is not JSON or empty', () => {
    expect(apiErrorFrom(502, 'Bad Gateway\n').message).toBe('Bad Gateway');
    expect(apiErrorFrom(500, '').message).toBe('HTTP 500');
    expect(apiErrorFrom(500, '[1]').message).toBe('HTTP 500');
  });
});

describe('errorMessage', () => {
  it('names the holder of a claim', () => {
    const e = apiErrorFrom(409, JSON.stringify({ error: 'claimed by dr.smith', code: 'conflict', holder: 'dr.smith' }));
    expect(errorMessage(e, 'claim')).toBe('Claimed by dr.smith — you cannot read it until they release it or the claim expires.');
    expect(errorMessage(e, 'release')).toBe('Held by dr.smith: claimed by dr.smith');
  });
  it('repeats the server for other conflicts', () => {
    const e = apiErrorFrom(409, JSON.stringify({ error: 'final → in_progress is not allowed', code: 'conflict' }));
    expect(errorMessage(e, 'claim')).toBe('Not allowed: final → in_progress is not allowed');
    expect(errorMessage(e, 'release')).toBe('You do not hold this claim: final → in_progress is not allowed');
  });
  it('says what failed otherwise', () => {
    expect(errorMessage(new ApiError(404, 'no study x'))).toBe('Not found: no study x');
    expect(errorMessage(new ApiError(400, 'unknown state'))).toBe('Refused: unknown state');
    expect(errorMessage(new ApiError(503, 'busy'))).toBe('Server error 503: busy');
    expect(errorMessage(new ApiError(403, 'role technologist may not POST /api/v1/worklist/1/claim')))
      .toBe('Not permitted: role technologist may not POST /api/v1/worklist/1/claim');
    expect(errorMessage(new TypeError('Failed to fetch'))).toBe('Cannot reach radflow: Failed to fetch');
    expect(errorMessage('odd')).toBe('odd');
  });
});
