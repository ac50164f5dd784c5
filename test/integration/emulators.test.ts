import { connect } from 'node:net';
import { networkInterfaces } from 'node:os';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Emulator, startDynamoDbLocal, startSqsEmulator } from '../../local/emulators.ts';

/** How a TCP connection to host:port ends: 'connected' or the error code. */
function tryConnect(host: string, port: number): Promise<string> {
  return new Promise((done) => {
    const socket = connect({ host, port, timeout: 5_000 });
    socket.once('connect', () => {
      socket.destroy();
      done('connected');
    });
    socket.once('timeout', () => {
      socket.destroy();
      done('timeout');
    });
    socket.once('error', (error: NodeJS.ErrnoException) => done(error.code ?? error.message));
  });
}

/** This machine's own addresses other than loopback (the ones a neighbour could reach). */
const outsideAddresses = () =>
  Object.values(networkInterfaces())
    .flat()
    .filter((a) => a !== undefined && !a.internal && !a.address.startsWith('fe80:'))
    .map((a) => a?.address as string);

describe('embedded emulators (they take any credentials) listen on loopback only', () => {
  let dynamo: Emulator;
  let sqs: Emulator;
  beforeAll(async () => {
    [dynamo, sqs] = await Promise.all([startDynamoDbLocal(), startSqsEmulator()]);
  });
  afterAll(async () => {
    await Promise.all([dynamo?.stop(), sqs?.stop()]);
  });

  it('refuse a connection to a non-loopback address of this machine and accept one on 127.0.0.1', async () => {
    const addresses = outsideAddresses();
    expect(addresses.length, 'this machine needs a non-loopback address for the test').toBeGreaterThan(0);
    for (const emulator of [dynamo, sqs]) {
      const port = Number(new URL(emulator.endpoint).port);
      expect(new URL(emulator.endpoint).hostname).toBe('127.0.0.1');
      expect(await tryConnect('127.0.0.1', port), emulator.endpoint).toBe('connected');
      for (const address of addresses)
        expect(await tryConnect(address, port), `${address}:${port}`).toBe('ECONNREFUSED');
    }
  });
});
