/**
 * CRC-32 of a concatenation from the CRCs of its parts: zlib's `crc32_combine`, which
 * Node does not expose. Segments of one file are deflated in parallel, each with its
 * own `zlib.crc32`; the ZIP entry needs the CRC of the whole, and reading the data
 * again to compute it would cost as much as compressing it.
 *
 * The method: appending `len2` zero bytes to a message is a linear map over GF(2) on
 * the 32-bit CRC register, so it is a 32×32 bit matrix; squaring the one-zero-bit
 * operator repeatedly gives the operator for `len2` zero bytes in O(log len2).
 */

const GF2_DIM = 32;

function gf2MatrixTimes(matrix: Uint32Array, vector: number): number {
  let sum = 0;
  let index = 0;
  let v = vector >>> 0;
  while (v !== 0) {
    if (v & 1) sum ^= matrix[index]!;
    v >>>= 1;
    index++;
  }
  return sum >>> 0;
}

function gf2MatrixSquare(square: Uint32Array, matrix: Uint32Array): void {
  for (let n = 0; n < GF2_DIM; n++) square[n] = gf2MatrixTimes(matrix, matrix[n]!);
}

/**
 * The CRC-32 of `A ‖ B` given `crc1 = crc32(A)`, `crc2 = crc32(B)` and `len2 = |B|`.
 * `len2` may exceed 2³² (it is a plain number, halved arithmetically).
 */
export function crc32Combine(crc1: number, crc2: number, len2: number): number {
  if (len2 <= 0) return crc1 >>> 0;
  const even = new Uint32Array(GF2_DIM);
  const odd = new Uint32Array(GF2_DIM);
  // The operator for one zero bit: the reflected CRC-32 polynomial, then a shift.
  odd[0] = 0xedb88320;
  let row = 1;
  for (let n = 1; n < GF2_DIM; n++) {
    odd[n] = row;
    row = (row << 1) >>> 0;
  }
  gf2MatrixSquare(even, odd); // two zero bits
  gf2MatrixSquare(odd, even); // four zero bits
  let crc = crc1 >>> 0;
  let remaining = Math.floor(len2);
  // First squaring gives one zero byte (eight bits); then walk the bits of len2.
  do {
    gf2MatrixSquare(even, odd);
    if (remaining % 2 === 1) crc = gf2MatrixTimes(even, crc);
    remaining = Math.floor(remaining / 2);
    if (remaining === 0) break;
    gf2MatrixSquare(odd, even);
    if (remaining % 2 === 1) crc = gf2MatrixTimes(odd, crc);
    remaining = Math.floor(remaining / 2);
  } while (remaining !== 0);
  return (crc ^ crc2) >>> 0;
}

/** Folds the CRCs of consecutive parts into the CRC of their concatenation. */
export function crc32CombineAll(parts: Array<{ crc32: number; uncompressedSize: number }>): number {
  let crc = 0;
  for (const part of parts) crc = crc32Combine(crc, part.crc32, part.uncompressedSize);
  return crc;
}
