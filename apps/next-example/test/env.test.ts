import { describe, expect, it } from 'vitest';

import { readConfig } from '../src/env.ts';

describe('the Next.js example’s environment', () => {
  it('defaults to the API of `pnpm dev`', () => {
    expect(readConfig({})).toEqual({ apiUrl: 'http://127.0.0.1:8000/trpc' });
  });

  it('takes COACH_API_URL', () => {
    expect(readConfig({ COACH_API_URL: 'https://api.example.com/trpc' }).apiUrl).toBe('https://api.example.com/trpc');
  });

  it('refuses a COACH_API_URL that is not an http(s) URL, naming it', () => {
    expect(() => readConfig({ COACH_API_URL: '127.0.0.1:8000' })).toThrow(/^Invalid environment .*COACH_API_URL: /);
    expect(() => readConfig({ COACH_API_URL: 'ftp://api.example.com/trpc' })).toThrow(/COACH_API_URL/);
  });
});
