import { createHash } from 'node:crypto';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ResumableSha256 } from '#core/zip/resumable-sha256.ts';

const sha256 = (data: Uint8Array) => createHash('sha256').update(data).digest('hex');

describe('ResumableSha256', () => {
  it('agrees with crypto for any bytes fed in any pieces', () => {
    fc.assert(
      fc.property(fc.array(fc.uint8Array({ maxLength: 300 }), { maxLength: 8 }), (pieces) => {
        const hash = new ResumableSha256();
        for (const piece of pieces) hash.update(piece);
        expect(hash.digest()).toBe(sha256(Buffer.concat(pieces)));
      }),
    );
  });

  it('resumes from a saved state as if it never stopped', () => {
    fc.assert(
      fc.property(fc.array(fc.uint8Array({ maxLength: 200 }), { minLength: 1, maxLength: 6 }), (pieces) => {
        let state = new ResumableSha256().save();
        for (const piece of pieces) state = ResumableSha256.resume(state).update(piece).save();
        expect(ResumableSha256.resume(state).digest()).toBe(sha256(Buffer.concat(pieces)));
        expect(state.length).toBeLessThan(150);
      }),
    );
  });

  it('hashes known vectors, strings as UTF-8, and keeps going after a digest', () => {
    expect(new ResumableSha256().digest()).toBe('e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855');
    expect(new ResumableSha256().update('abc').digest()).toBe('ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad');
    const hash = new ResumableSha256().update('id,name\r\n');
    hash.digest();
    expect(hash.update('1,Zoë 🚀\r\n').digest()).toBe(sha256(Buffer.from('id,name\r\n1,Zoë 🚀\r\n')));
  });

  it('refuses a state that is not one', () => {
    expect(() => ResumableSha256.resume('bm90IGEgc3RhdGU=')).toThrow(/saved SHA-256 state/);
  });
});
