import { describe, expect, it } from 'vitest';

import { toApiConfig, type ApiConfig } from '@coach/api';

import { testConfig } from '../../../test/helpers/api.ts';

describe('toApiConfig', () => {
  it('keeps only the settings procedures read, so a server config’s secrets never reach ctx.config', () => {
    const serverLike = {
      ...testConfig,
      databaseUrl: 'postgres://user:password@db/coach',
      auth: { kind: 'hs256', secret: 's3cret' },
    };
    const config = toApiConfig(serverLike as ApiConfig);
    expect(config).toEqual(testConfig);
    expect(Object.isFrozen(config)).toBe(true);
  });
});
