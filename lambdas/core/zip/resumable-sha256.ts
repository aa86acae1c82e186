/**
 * SHA-256 whose running state can be saved and resumed in another process.
 *
 * Why: the manifest promises each CSV's SHA-256, and once the zip is assembled from
 * compressed pieces with UploadPartCopy no Lambda reads the CSV whole any more. The
 * export is the only place the bytes pass, and a big object type is exported over
 * several invocations; Node's crypto hashes cannot be serialized, so the hash would
 * break at every continuation. This one's state is ~140 bytes of base64: it is saved
 * in each part's digest (export-object.ts), which the next invocation resumes from and
 * the zip step finishes the manifest's checksum from. (FIPS 180-4, plain JS.)
 */

const K = new Int32Array([
  0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5, 0xd807aa98, 0x12835b01, 0x243185be,
  0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174, 0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa,
  0x5cb0a9dc, 0x76f988da, 0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967, 0x27b70a85,
  0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85, 0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3,
  0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070, 0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f,
  0x682e6ff3, 0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2,
]);
const INITIAL = [0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19];

export class ResumableSha256 {
  private readonly hash = new Int32Array(INITIAL);
  private readonly block = new Uint8Array(64);
  private readonly words = new Int32Array(64);
  private blockLength = 0;
  private bytes = 0;

  /** Adds bytes; strings are hashed as UTF-8. */
  update(input: Uint8Array | string): this {
    const data = typeof input === 'string' ? Buffer.from(input, 'utf8') : input;
    let offset = 0;
    this.bytes += data.length;
    if (this.blockLength > 0) {
      const take = Math.min(64 - this.blockLength, data.length);
      this.block.set(data.subarray(0, take), this.blockLength);
      this.blockLength += take;
      offset = take;
      if (this.blockLength < 64) return this;
      this.compress(this.block, 0);
      this.blockLength = 0;
    }
    for (; offset + 64 <= data.length; offset += 64) this.compress(data, offset);
    if (offset < data.length) {
      this.block.set(data.subarray(offset), 0);
      this.blockLength = data.length - offset;
    }
    return this;
  }

  /** The hex digest of everything so far; the hash can keep going afterwards. */
  digest(): string {
    const copy = ResumableSha256.resume(this.save());
    const length = copy.bytes;
    const padding = new Uint8Array(((copy.blockLength < 56 ? 56 : 120) - copy.blockLength) + 8);
    padding[0] = 0x80;
    const view = new DataView(padding.buffer);
    // Length in bits, big-endian, as two 32-bit halves (lengths beyond 2^53 bits do not occur).
    view.setUint32(padding.length - 8, Math.floor((length * 8) / 0x100000000));
    view.setUint32(padding.length - 4, (length * 8) >>> 0);
    copy.update(padding);
    return Array.from(copy.hash, (word) => (word >>> 0).toString(16).padStart(8, '0')).join('');
  }

  /** The running state, small enough for a Step Functions payload. */
  save(): string {
    const state = Buffer.alloc(32 + 8 + this.blockLength);
    for (let index = 0; index < 8; index++) state.writeInt32BE(this.hash[index]!, index * 4);
    state.writeDoubleBE(this.bytes, 32);
    state.set(this.block.subarray(0, this.blockLength), 40);
    return state.toString('base64');
  }

  /** A hash that continues from `save()`'s state. */
  static resume(saved: string): ResumableSha256 {
    const state = Buffer.from(saved, 'base64');
    if (state.length < 40 || state.length > 104) throw new Error('Not a saved SHA-256 state');
    const sha = new ResumableSha256();
    for (let index = 0; index < 8; index++) sha.hash[index] = state.readInt32BE(index * 4);
    sha.bytes = state.readDoubleBE(32);
    sha.blockLength = state.length - 40;
    sha.block.set(state.subarray(40), 0);
    return sha;
  }

  private compress(data: Uint8Array, offset: number): void {
    const w = this.words;
    for (let index = 0; index < 16; index++) {
      const at = offset + index * 4;
      w[index] = (data[at]! << 24) | (data[at + 1]! << 16) | (data[at + 2]! << 8) | data[at + 3]!;
    }
    for (let index = 16; index < 64; index++) {
      const x = w[index - 15]!;
      const y = w[index - 2]!;
      const s0 = ((x >>> 7) | (x << 25)) ^ ((x >>> 18) | (x << 14)) ^ (x >>> 3);
      const s1 = ((y >>> 17) | (y << 15)) ^ ((y >>> 19) | (y << 13)) ^ (y >>> 10);
      w[index] = (w[index - 16]! + s0 + w[index - 7]! + s1) | 0;
    }
    const h = this.hash;
    let a = h[0]!, b = h[1]!, c = h[2]!, d = h[3]!, e = h[4]!, f = h[5]!, g = h[6]!, k = h[7]!;
    for (let index = 0; index < 64; index++) {
      const s1 = ((e >>> 6) | (e << 26)) ^ ((e >>> 11) | (e << 21)) ^ ((e >>> 25) | (e << 7));
      const choice = (e & f) ^ (~e & g);
      const t1 = (k + s1 + choice + K[index]! + w[index]!) | 0;
      const s0 = ((a >>> 2) | (a << 30)) ^ ((a >>> 13) | (a << 19)) ^ ((a >>> 22) | (a << 10));
      const majority = (a & b) ^ (a & c) ^ (b & c);
      const t2 = (s0 + majority) | 0;
      k = g;
      g = f;
      f = e;
      e = (d + t1) | 0;
      d = c;
      c = b;
      b = a;
      a = (t1 + t2) | 0;
    }
    h[0] = (h[0]! + a) | 0;
    h[1] = (h[1]! + b) | 0;
    h[2] = (h[2]! + c) | 0;
    h[3] = (h[3]! + d) | 0;
    h[4] = (h[4]! + e) | 0;
    h[5] = (h[5]! + f) | 0;
    h[6] = (h[6]! + g) | 0;
    h[7] = (h[7]! + k) | 0;
  }
}
