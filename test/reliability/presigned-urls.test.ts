import { GetObjectCommand, ListObjectsV2Command, S3Client } from '@aws-sdk/client-s3';
import { getSignedUrl } from '@aws-sdk/s3-request-presigner';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestRuntime, type TestRuntime } from '../support/local-runtime.ts';
import { clientsOf } from '../support/stand-ins.ts';
import { ACME_ADMIN, GLOBEX_ADMIN, readAll } from './support.ts';

/**
 * The local S3 stand-in checks SigV4 like S3 does (issue 13, finding 5): the URL the API
 * hands out works, and an edited, unsigned, expired or foreign-signed request gets S3's
 * 403 XML error. Before, s3rver served all of them, acme's whole backup to globex too.
 */

const figures: Record<string, unknown> = {};

describe('presigned download URLs against the local S3 stand-in', () => {
  let runtime: TestRuntime;
  const zips = { acme: { id: '', key: '' }, globex: { id: '', key: '' } };

  beforeAll(async () => {
    runtime = await startTestRuntime();
    zips.acme.id = (await runtime.api('POST', '/v1/backups', { as: ACME_ADMIN })).body.id;
    zips.globex.id = (await runtime.api('POST', '/v1/backups', { as: GLOBEX_ADMIN })).body.id;
    await runtime.idle();
    zips.acme.key = (await runtime.deps.backups.getBackup('acme', zips.acme.id))!.zipKey!;
    zips.globex.key = (await runtime.deps.backups.getBackup('globex', zips.globex.id))!.zipKey!;
  });

  afterAll(async () => {
    console.log(JSON.stringify({ suite: 'presigned urls', figures }));
    await runtime?.destroy();
  });

  /** A GET of `url` as a browser or curl would make it: S3's status, error code and body. */
  async function fetchObject(url: string, headers: Record<string, string> = {}) {
    const response = await fetch(url, { headers });
    const body = Buffer.from(await response.arrayBuffer());
    return { status: response.status, body, code: /<Code>([^<]+)<\/Code>/.exec(body.toString('utf8'))?.[1], contentType: response.headers.get('content-type') };
  }

  const downloadUrl = async (as: string, backupId: string) => {
    const answer = await runtime.api('GET', `/v1/backups/${backupId}/download?redirect=false`, { as });
    expect(answer.status, JSON.stringify(answer.body)).toBe(200);
    return answer.body.url as string;
  };

  it('serves the zip at the URL the API hands out, byte for byte, and through its 302 too', async () => {
    const url = await downloadUrl(GLOBEX_ADMIN, zips.globex.id);
    const fetched = await fetchObject(url);
    expect(fetched.status).toBe(200);
    expect(fetched.body.equals(await readAll(await runtime.deps.blobs.read(zips.globex.key)))).toBe(true);
    const redirect = await runtime.api('GET', `/v1/backups/${zips.globex.id}/download`, { as: GLOBEX_ADMIN });
    expect(redirect.status).toBe(302);
    expect((await fetchObject(redirect.headers.get('location')!)).status).toBe(200);
  });

  it("refuses globex's URL edited to acme's key, the same URL unsigned, and with its signature or expiry changed", async () => {
    const url = new URL(await downloadUrl(GLOBEX_ADMIN, zips.globex.id));
    const edits: Record<string, string> = {
      "globex's URL edited to acme's key": url.href.replace(encodeURI(zips.globex.key), encodeURI(zips.acme.key)),
      'no query at all (unsigned)': `${url.origin}${url.pathname}`,
      'acme\'s key, unsigned': `${url.origin}/${runtime.config.backupBucketName}/${zips.acme.key}`,
      'the signature changed': url.href.replace(/X-Amz-Signature=([0-9a-f])/, (_, first: string) => `X-Amz-Signature=${first === '0' ? '1' : '0'}`),
      'X-Amz-Expires raised': url.href.replace(/X-Amz-Expires=\d+/, 'X-Amz-Expires=604800'),
      'X-Amz-Date moved a second': url.href.replace(/(X-Amz-Date=\d{8}T\d{4})(\d{2})Z/, (_, head: string, seconds: string) => `${head}${seconds === '00' ? '01' : '00'}Z`),
      'a disposition smuggled in': `${url.href}&response-content-type=text%2Fhtml`,
    };
    expect(edits["globex's URL edited to acme's key"]).not.toBe(url.href);
    const answers: Record<string, { status: number; code?: string; zipBytes: boolean }> = {};
    for (const [label, edited] of Object.entries(edits)) {
      const fetched = await fetchObject(edited);
      answers[label] = { status: fetched.status, code: fetched.code, zipBytes: fetched.body.includes(Buffer.from('PK\x03\x04')) };
    }
    figures.editedUrls = answers;
    for (const [label, answer] of Object.entries(answers)) {
      expect(answer.zipBytes, `${label}: no zip bytes`).toBe(false);
      expect(answer.status, label).toBe(403);
      expect(answer.code, label).toMatch(/^(SignatureDoesNotMatch|AccessDenied)$/);
    }
    expect(answers["globex's URL edited to acme's key"]!.code).toBe('SignatureDoesNotMatch');
    expect(answers['no query at all (unsigned)']!.code).toBe('AccessDenied');
  });

  it("refuses an expired URL, and one signed with another key, with S3's 403 XML", async () => {
    const { s3 } = clientsOf(runtime);
    const command = new GetObjectCommand({ Bucket: runtime.config.backupBucketName, Key: zips.acme.key });
    const expired = await getSignedUrl(s3, command, { expiresIn: 60, signingDate: new Date(Date.now() - 5 * 60_000) });
    const clientWith = (credentials: { accessKeyId: string; secretAccessKey: string }) =>
      new S3Client({
        region: runtime.config.region,
        endpoint: runtime.config.local!.s3,
        forcePathStyle: true,
        credentials,
        requestChecksumCalculation: 'WHEN_REQUIRED',
        responseChecksumValidation: 'WHEN_REQUIRED',
        maxAttempts: 1,
      });
    const foreign = clientWith({ accessKeyId: 'S3RVER', secretAccessKey: 'not-the-secret' });
    const forged = await getSignedUrl(foreign, command, { expiresIn: 300 });
    const answers = { expired: await fetchObject(expired), wrongSecret: await fetchObject(forged) };
    figures.expiredAndForeign = Object.fromEntries(Object.entries(answers).map(([label, answer]) => [label, { status: answer.status, code: answer.code }]));
    expect(answers.expired).toMatchObject({ status: 403, code: 'AccessDenied', contentType: expect.stringMatching(/xml/) });
    expect(answers.expired.body.toString()).toContain('Request has expired');
    expect(answers.wrongSecret).toMatchObject({ status: 403, code: 'SignatureDoesNotMatch' });
    // The same secret problem in a header-signed SDK call, and an unknown access key.
    await expect(foreign.send(new ListObjectsV2Command({ Bucket: runtime.config.backupBucketName }))).rejects.toMatchObject({ name: 'SignatureDoesNotMatch' });
    const stranger = clientWith({ accessKeyId: 'SOMEONE', secretAccessKey: 'S3RVER' });
    await expect(stranger.send(command)).rejects.toMatchObject({ name: 'InvalidAccessKeyId' });
    // The service's own client still works.
    expect((await s3.send(new ListObjectsV2Command({ Bucket: runtime.config.backupBucketName, Prefix: 'backups/' }))).KeyCount).toBeGreaterThan(0);
  });
});
