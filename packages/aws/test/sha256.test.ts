import { createHash, createHmac } from 'node:crypto';

import { describe, expect, it } from 'vitest';

import { KeyObjectSha256 } from '../src/sha256.ts';

const hex = (bytes: Uint8Array) => Buffer.from(bytes).toString('hex');

describe('KeyObjectSha256', () => {
  it('hashes like node:crypto, whatever form the data takes', async () => {
    const hash = new KeyObjectSha256();
    hash.update('canonical request\n');
    hash.update(new TextEncoder().encode('héllo'));
    hash.update(new Uint8Array([1, 2, 3, 4, 5]).subarray(1, 4));
    hash.update(new Uint8Array([9, 8]).buffer);
    const expected = createHash('sha256')
      .update('canonical request\n')
      .update('héllo')
      .update(Buffer.from([2, 3, 4]))
      .update(Buffer.from([9, 8]))
      .digest('hex');
    expect(hex(await hash.digest())).toBe(expected);
  });

  it('computes HMACs like node:crypto with string, byte and sliced keys, reusing a key many times', async () => {
    const backing = new Uint8Array(64).map((_, i) => i);
    const keys = ['AWS4secret', backing, backing.subarray(16, 48), backing.buffer] as const;
    for (const key of keys) {
      const nodeKey = typeof key === 'string' ? key : Buffer.from(ArrayBuffer.isView(key) ? key : new Uint8Array(key));
      for (const message of ['20261124', 'AWS4-HMAC-SHA256\n20261124T120000Z', '']) {
        const hmac = new KeyObjectSha256(key);
        hmac.update(message);
        expect(hex(await hmac.digest())).toBe(createHmac('sha256', nodeKey).update(message).digest('hex'));
      }
    }
  });

  it('starts over after reset()', async () => {
    const hmac = new KeyObjectSha256(new Uint8Array([7, 7, 7]));
    hmac.update('discarded');
    hmac.reset();
    hmac.update('kept');
    expect(hex(await hmac.digest())).toBe(
      createHmac('sha256', Buffer.from([7, 7, 7]))
        .update('kept')
        .digest('hex'),
    );
  });

  it('stays right across many string keys, as when secrets rotate', async () => {
    for (let i = 0; i < 100; i++) {
      const secret = `secret-${i % 40}`;
      const hmac = new KeyObjectSha256(secret);
      hmac.update('AKIDEXAMPLE');
      expect(hex(await hmac.digest())).toBe(createHmac('sha256', secret).update('AKIDEXAMPLE').digest('hex'));
    }
  });
});
