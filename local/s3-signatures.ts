import { timingSafeEqual } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import { S3RequestPresigner } from '@aws-sdk/s3-request-presigner';
import { Sha256 } from '@smithy/core/checksum';
import { HttpRequest } from '@smithy/core/protocols';
import { SignatureV4 } from '@smithy/signature-v4';
import type S3rver from 's3rver';
import { fail, type KoaContext, type Middleware } from './s3-part-copy.ts';

/**
 * SigV4 verification in front of the s3rver stand-in, which checks no signature at all
 * (issue 13, finding 5: an unsigned GET, or a presigned URL edited to another tenant's
 * key, was served). Every request must carry a valid signature by the stand-in's
 * credentials, in its Authorization header (the SDK's own calls) or in a presigned
 * URL's query (downloads), or it gets S3's 403 XML error, as on AWS:
 *  - no signature: AccessDenied;
 *  - another access key: InvalidAccessKeyId;
 *  - a presigned URL past X-Amz-Expires: AccessDenied, "Request has expired";
 *  - a header-signed request more than 15 minutes off: RequestTimeTooSkewed;
 *  - anything edited after signing (path, query, a signed header): SignatureDoesNotMatch.
 *
 * The signature is recomputed with the AWS SDK's own signers (`@smithy/signature-v4`
 * for headers, the S3 presigner for URLs), from the request exactly as it came over
 * the wire, and compared in constant time. Not checked (as S3 would): that a body
 * matches its signed `x-amz-content-sha256`, and chunked (streaming) payload signatures.
 * CORS preflights (OPTIONS) pass unsigned, as they do on S3.
 */

/** Who may call the stand-in: one access key, its secret, one region. */
export interface S3Credentials {
  accessKeyId: string;
  secretAccessKey: string;
  region: string;
}

/** S3 refuses header-signed requests whose x-amz-date is further than this from its clock. */
const MAX_SKEW_MS = 15 * 60_000;
/** SigV4's own cap on a presigned URL's lifetime (7 days). */
const MAX_EXPIRES_SECONDS = 604_800;

type Refusal = { status: number; code: string; message: string };

/** Installs the check on a not-yet-running s3rver, ahead of every other middleware. */
export function requireSignatures(server: S3rver, credentials: S3Credentials, now: () => number = Date.now): void {
  const app = server as unknown as { middleware: Middleware[] };
  const signer = new SignatureV4({ credentials, region: credentials.region, service: 's3', sha256: Sha256, uriEscapePath: false });
  const presigner = new S3RequestPresigner({ credentials, region: credentials.region, sha256: Sha256 });
  const check: Middleware = async (ctx, next) => {
    if (ctx.method === 'OPTIONS') return next();
    const refusal = await verifyRequest(ctx, { credentials, signer, presigner, now: now() });
    if (refusal) return fail(ctx, refusal.status, refusal.code, refusal.message);
    return next();
  };
  // Koa composes `middleware` when the server starts listening: first in line runs first.
  app.middleware.unshift(check);
}

interface Verifier {
  credentials: S3Credentials;
  signer: SignatureV4;
  presigner: S3RequestPresigner;
  now: number;
}

async function verifyRequest(ctx: KoaContext, verifier: Verifier): Promise<Refusal | undefined> {
  const raw = ctx.req.url ?? '/';
  const question = raw.indexOf('?');
  const path = question < 0 ? raw : raw.slice(0, question);
  const query = parseQuery(question < 0 ? '' : raw.slice(question + 1));
  if (!query) return malformed('The query string is not valid URL encoding.');
  if (query['X-Amz-Algorithm'] !== undefined) return verifyPresigned(ctx.req, path, query, verifier);
  const authorization = single(ctx.req.headers.authorization);
  if (authorization !== undefined) return verifyHeaderSigned(ctx.req, path, query, authorization, verifier);
  return { status: 403, code: 'AccessDenied', message: 'Access Denied' };
}

async function verifyPresigned(request: IncomingMessage, path: string, query: Query, verifier: Verifier): Promise<Refusal | undefined> {
  const field = (name: string) => (typeof query[name] === 'string' ? (query[name] as string) : undefined);
  const [algorithm, credential, date, expires, signedHeaders, signature] = [
    'X-Amz-Algorithm',
    'X-Amz-Credential',
    'X-Amz-Date',
    'X-Amz-Expires',
    'X-Amz-SignedHeaders',
    'X-Amz-Signature',
  ].map(field);
  if (algorithm !== 'AWS4-HMAC-SHA256') return malformed('X-Amz-Algorithm only supports "AWS4-HMAC-SHA256".');
  if (!credential || !date || !expires || !signedHeaders || !signature) {
    return malformed('Query-string authentication version 4 requires the X-Amz-Algorithm, X-Amz-Credential, X-Amz-Signature, X-Amz-Date, X-Amz-SignedHeaders, and X-Amz-Expires parameters.');
  }
  const scope = checkScope(credential, date, verifier.credentials);
  if (scope) return scope;
  const signedAt = parseAmzDate(date);
  const lifetime = /^\d{1,6}$/.test(expires) ? Number(expires) : NaN;
  if (!signedAt) return malformed('X-Amz-Date must be in the ISO8601 Long Format "yyyyMMdd\'T\'HHmmss\'Z\'".');
  if (!(lifetime >= 1 && lifetime <= MAX_EXPIRES_SECONDS)) return malformed('X-Amz-Expires must be between 1 and 604800 seconds.');
  if (verifier.now > signedAt.getTime() + lifetime * 1000) return { status: 403, code: 'AccessDenied', message: 'Request has expired' };
  if (signedAt.getTime() > verifier.now + MAX_SKEW_MS) return { status: 403, code: 'AccessDenied', message: 'Request is not valid yet' };

  const { 'X-Amz-Signature': _signature, ...unsigned } = query;
  const presigned = await verifier.presigner.presign(toHttpRequest(request, path, unsigned, signedHeaders.split(';')), {
    signingDate: signedAt,
    expiresIn: lifetime,
    signingRegion: verifier.credentials.region,
  });
  const expected = String(presigned.query?.['X-Amz-Signature'] ?? '');
  return sameSignature(expected, signature) && presigned.query?.['X-Amz-SignedHeaders'] === signedHeaders ? undefined : mismatch();
}

async function verifyHeaderSigned(request: IncomingMessage, path: string, query: Query, authorization: string, verifier: Verifier): Promise<Refusal | undefined> {
  const parts = /^AWS4-HMAC-SHA256 Credential=([^,\s]+),\s*SignedHeaders=([^,\s]+),\s*Signature=([0-9a-f]{64})$/.exec(authorization);
  if (!parts) return { status: 400, code: 'AuthorizationHeaderMalformed', message: 'The authorization header is malformed.' };
  const [, credential, signedHeaders, signature] = parts as unknown as [string, string, string, string];
  const date = single(request.headers['x-amz-date']);
  const names = signedHeaders.split(';');
  if (!date || !names.includes('x-amz-date') || !names.includes('host')) {
    return { status: 403, code: 'AccessDenied', message: 'AWS authentication requires a valid Date or x-amz-date header, signed along with the Host header.' };
  }
  const scope = checkScope(credential, date, verifier.credentials);
  if (scope) return scope;
  const signedAt = parseAmzDate(date);
  if (!signedAt) return malformed('x-amz-date must be in the ISO8601 Long Format "yyyyMMdd\'T\'HHmmss\'Z\'".');
  if (Math.abs(verifier.now - signedAt.getTime()) > MAX_SKEW_MS) {
    return { status: 403, code: 'RequestTimeTooSkewed', message: 'The difference between the request time and the current time is too large.' };
  }
  const signed = await verifier.signer.sign(toHttpRequest(request, path, query, names), {
    signingDate: signedAt,
    signingRegion: verifier.credentials.region,
    signableHeaders: new Set(names),
  });
  const expected = /Signature=([0-9a-f]{64})$/.exec(String(signed.headers.authorization ?? ''))?.[1] ?? '';
  return sameSignature(expected, signature) ? undefined : mismatch();
}

/** The credential scope `AKID/yyyymmdd/region/s3/aws4_request`, checked against the stand-in's key and the signing date. */
function checkScope(credential: string, amzDate: string, credentials: S3Credentials): Refusal | undefined {
  const [accessKeyId, day, region, service, terminator, ...rest] = credential.split('/');
  if (accessKeyId !== credentials.accessKeyId) {
    return { status: 403, code: 'InvalidAccessKeyId', message: 'The AWS Access Key Id you provided does not exist in our records.' };
  }
  if (rest.length > 0 || day !== amzDate.slice(0, 8) || region !== credentials.region || service !== 's3' || terminator !== 'aws4_request') {
    return { status: 400, code: 'AuthorizationHeaderMalformed', message: `The authorization credential scope is malformed; expected "<key>/<yyyymmdd>/${credentials.region}/s3/aws4_request".` };
  }
  return undefined;
}

/** The request as the SDK signed it: method, raw path, decoded query, and only the signed headers. */
function toHttpRequest(request: IncomingMessage, path: string, query: Query, signedHeaders: string[]): HttpRequest {
  const headers: Record<string, string> = {};
  for (const name of signedHeaders) {
    const value = request.headers[name];
    if (value !== undefined) headers[name] = Array.isArray(value) ? value.join(',') : value;
  }
  const [hostname = '', port] = (headers.host ?? '').split(':');
  return new HttpRequest({ method: request.method ?? 'GET', protocol: 'http:', hostname, port: port ? Number(port) : undefined, path, query, headers });
}

type Query = Record<string, string | string[]>;

/** A raw query string, decoded the way SigV4 canonicalizes it (`+` stays a plus); undefined when malformed. */
function parseQuery(raw: string): Query | undefined {
  const query: Query = {};
  try {
    for (const pair of raw.split('&')) {
      if (pair === '') continue;
      const equals = pair.indexOf('=');
      const name = decodeURIComponent(equals < 0 ? pair : pair.slice(0, equals));
      const value = equals < 0 ? '' : decodeURIComponent(pair.slice(equals + 1));
      const existing = Object.hasOwn(query, name) ? query[name] : undefined;
      query[name] = existing === undefined ? value : [...(Array.isArray(existing) ? existing : [existing]), value];
    }
  } catch {
    return undefined;
  }
  return query;
}

/** `yyyyMMddTHHmmssZ` as a Date, or undefined. */
function parseAmzDate(value: string): Date | undefined {
  const parts = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/.exec(value);
  if (!parts) return undefined;
  const date = new Date(`${parts[1]}-${parts[2]}-${parts[3]}T${parts[4]}:${parts[5]}:${parts[6]}Z`);
  return Number.isNaN(date.getTime()) ? undefined : date;
}

function sameSignature(expected: string, given: string): boolean {
  return expected.length === given.length && expected.length > 0 && timingSafeEqual(Buffer.from(expected), Buffer.from(given));
}

function mismatch(): Refusal {
  return {
    status: 403,
    code: 'SignatureDoesNotMatch',
    message: 'The request signature we calculated does not match the signature you provided. Check your key and signing method.',
  };
}

function malformed(message: string): Refusal {
  return { status: 400, code: 'AuthorizationQueryParametersError', message };
}

function single(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value;
}
