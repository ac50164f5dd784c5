import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Emulator, startDynamoDbLocal, startSqsEmulator } from '../../local/emulators.ts';
import { type Runtime, startRuntime } from '../../local/runtime/index.ts';

// External endpoints (as LocalStack or AWS would be): the runtime embeds nothing and is no dev issuer.
let dynamo: Emulator;
let sqs: Emulator;
let runtime: Runtime | undefined;
const dir = mkdtempSync(join(tmpdir(), 'flash-external-'));

beforeAll(async () => {
  [dynamo, sqs] = await Promise.all([startDynamoDbLocal(), startSqsEmulator()]);
});
afterAll(async () => {
  await runtime?.stop();
  await Promise.all([dynamo?.stop(), sqs?.stop()]);
  rmSync(dir, { recursive: true, force: true });
});

describe('npm start against external endpoints', () => {
  it('refuses to start without an issuer, naming what to set', async () => {
    await expect(
      startRuntime({ port: 0, dataDir: dir, dynamodbEndpoint: dynamo.endpoint, sqsEndpoint: sqs.endpoint }),
    ).rejects.toThrow(/JWT_ISSUER and JWKS_URL.*--dev-issuer/);
  });

  it('serves no dev routes: no JWKS, no token minting', async () => {
    runtime = await startRuntime({
      port: 0,
      dataDir: dir,
      dynamodbEndpoint: dynamo.endpoint,
      sqsEndpoint: sqs.endpoint,
      consumers: false,
      reconcileIntervalSeconds: 0,
      env: {
        JWT_ISSUER: 'https://issuer.example',
        JWKS_URL: 'https://issuer.example/.well-known/jwks.json',
        JWT_AUDIENCE: 'flash-sale-api',
      },
    });
    expect(runtime.devIssuer).toBe(false);
    expect((await fetch(`${runtime.url}/.well-known/jwks.json`)).status).toBe(404);
    const minted = await fetch(`${runtime.url}/dev/tokens`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ userId: 'mallory', admin: true }),
    });
    expect(minted.status).toBe(404);
    expect((await fetch(`${runtime.url}/health`)).status).toBe(200);
  });
});
