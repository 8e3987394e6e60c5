import { describe, expect, it } from 'vitest';

import { setOwnerQuota } from '@coach/db';

import { useCallerTests } from '../../../test/helpers/api.ts';
import {
  anonymous,
  coachA,
  coachB,
  coachNamedLikeOrg,
  freeUser,
  orgUserX1,
  orgUserX2,
  orgUserY,
  signedIn,
} from '../../../test/helpers/identities.ts';

const t = useCallerTests();

describe('usage.get', () => {
  it("answers the caller's owner's figures: a coach's own, an organisation's for each of its staff, nobody else's", async () => {
    const upload = async (identity: typeof coachA, sizeBytes: number) => {
      const caller = t.api.callerFor(signedIn(identity));
      const { sessionId } = await caller.sessions.create({ title: 'Usage', playerIds: [] });
      await caller.upload.initiate({ sessionId, sizeBytes });
    };
    await upload(coachA, 1_000);
    await upload(orgUserX1, 2_000);
    await upload(orgUserX2, 3_000);
    await setOwnerQuota(t.testDb.db, { owner: { type: 'org', id: 'org-x' }, quotaBytes: 10_000 });

    const usageOf = (identity: typeof coachA) => t.api.callerFor(signedIn(identity)).usage.get();
    // The test config sets no default quota (0): null means no limit.
    expect(await usageOf(coachA)).toEqual({
      usedBytes: 0,
      reservedBytes: 1_000,
      quotaBytes: null,
      availableBytes: null,
      openUploads: 1,
      maxOpenUploads: null,
    });
    const org = { usedBytes: 0, reservedBytes: 5_000, quotaBytes: 10_000, availableBytes: 5_000, openUploads: 2 };
    expect(await usageOf(orgUserX1)).toMatchObject(org);
    expect(await usageOf(orgUserX2)).toMatchObject(org);
    // Other owners, including a coach whose user id is the org's id, see only their own (nothing yet).
    for (const other of [coachB, orgUserY, coachNamedLikeOrg]) {
      expect(await usageOf(other)).toMatchObject({ usedBytes: 0, reservedBytes: 0, openUploads: 0 });
    }
  });

  it('refuses anonymous callers and other roles with distinct codes', async () => {
    await expect(t.api.callerFor(anonymous).usage.get()).rejects.toMatchObject({ cause: { code: 'UNAUTHENTICATED' } });
    await expect(t.api.callerFor(signedIn(freeUser)).usage.get()).rejects.toMatchObject({ cause: { code: 'ROLE_NOT_ALLOWED' } });
    await expect(t.api.callerFor(signedIn({ ...orgUserX1, orgId: null })).usage.get()).rejects.toMatchObject({
      cause: { code: 'ORG_CLAIM_MISSING' },
    });
  });
});
