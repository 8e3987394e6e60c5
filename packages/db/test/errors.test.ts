import { describe, expect, it } from 'vitest';

import { isDatabaseUnavailable } from '@coach/db';

const withCode = (code: string, message = 'failed') => Object.assign(new Error(message), { code });

describe('isDatabaseUnavailable', () => {
  it.each([
    ['a terminated backend', withCode('57P01', 'terminating connection due to administrator command')],
    ['a connection exception (class 08)', withCode('08006')],
    ['too many connections', withCode('53300')],
    ['a refused socket', withCode('ECONNREFUSED')],
    ['a name that does not resolve during a failover', withCode('EAI_AGAIN')],
    ['an unknown host', withCode('ENOTFOUND')],
    ['a dropped connection', new Error('Connection terminated unexpectedly')],
    ['a pool that could not connect in time', new Error('timeout exceeded when trying to connect')],
    ["pg's read timeout", new Error('Query read timeout')],
    ['a pool ended by shutdown', new Error('Cannot use a pool after calling end on the pool')],
    ['an outage wrapped by a caller', new Error('could not save', { cause: withCode('57P01') })],
  ])('is true for %s', (_name, error) => {
    expect(isDatabaseUnavailable(error)).toBe(true);
  });

  it.each([
    ['a unique violation', withCode('23505', 'duplicate key value violates unique constraint')],
    ['a syntax error', withCode('42601')],
    ['a lock timeout', withCode('55P03')],
    ['an ordinary bug', new TypeError('cannot read properties of undefined')],
    ['something that is not an error', 'Connection terminated'],
  ])('is false for %s', (_name, error) => {
    expect(isDatabaseUnavailable(error)).toBe(false);
  });
});
