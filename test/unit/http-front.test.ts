import { spawn } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type HttpFront, startHttpFront } from '../../local/runtime/http-front.ts';

/**
 * A client in another process (this thread's loop is the one kept busy): at `startAt` it opens
 * `count` connections at once and sends `request` on each; it prints how many got an answer whose
 * first line matches `expect`, and when the last answer came (epoch ms).
 */
const CLIENT = `
const net = require('node:net');
const [port, count, startAt, request, expected] = JSON.parse(process.argv[1]);
let answered = 0, done = 0, bodies = [];
const finish = () => { if (++done === count) console.log(JSON.stringify({ answered, lastAt: Date.now(), body: bodies[0] })); };
setTimeout(() => {
  for (let i = 0; i < count; i++) {
    const socket = net.connect(port, '127.0.0.1');
    let data = '';
    socket.on('connect', () => socket.write(request));
    socket.on('data', (chunk) => { data += chunk; });
    socket.on('close', () => {
      if (data.startsWith(expected)) { answered++; bodies.push(data.slice(data.indexOf('\\r\\n\\r\\n') + 4)); }
      finish();
    });
    socket.on('error', () => {});
  }
}, Math.max(0, startAt - Date.now()));
`;

function client(port: number, count: number, startAt: number, request: string, expected: string) {
  const child = spawn(process.execPath, [
    '-e',
    CLIENT,
    JSON.stringify([port, count, startAt, request, expected]),
  ]);
  let out = '';
  child.stdout.on('data', (chunk: Buffer) => {
    out += chunk.toString();
  });
  return new Promise<{ answered: number; lastAt: number; body: string }>((done, fail) => {
    child.once('exit', (code) =>
      code === 0 ? done(JSON.parse(out)) : fail(new Error(`client exited ${code}`)),
    );
  });
}

/** Keeps this thread's loop fully busy until `until` (epoch ms), as CPU-bound handlers would. */
function burnUntil(until: number): void {
  while (Date.now() < until) Math.sqrt(Math.random());
}

describe('HTTP front (its own thread)', () => {
  let front: HttpFront;
  beforeAll(async () => {
    front = await startHttpFront({ port: 0, host: '127.0.0.1' }, async (request) => ({
      status: 200,
      headers: { 'Content-Type': 'application/json', Connection: 'close' },
      body: JSON.stringify({ path: request.url }),
    }));
  });
  afterAll(() => front.close());

  it('accepts and parses every new connection while the functions’ loop is saturated', async () => {
    const count = 200;
    const startAt = Date.now() + 500;
    const busyUntil = startAt + 4_000;
    // A control character in a header: the front itself answers, in the contract's error shape.
    const malformed = 'GET /sales HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Bad: a\u0001b\r\n\r\n';
    const result = client(front.port, count, startAt, malformed, 'HTTP/1.1 400');
    burnUntil(busyUntil);
    const { answered, lastAt, body } = await result;
    expect(answered).toBe(count);
    // Every connection was accepted and answered while this loop had not yet run a single callback.
    expect(lastAt).toBeLessThan(busyUntil);
    expect(JSON.parse(body)).toEqual({
      error: { code: 'VALIDATION_ERROR', message: expect.stringMatching(/well-formed/) },
    });
  });

  it('passes requests made during the busy spell to the loop once it is free', async () => {
    const count = 50;
    const startAt = Date.now() + 300;
    const result = client(
      front.port,
      count,
      startAt,
      'GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n',
      'HTTP/1.1 200',
    );
    burnUntil(startAt + 1_000);
    const { answered, body } = await result;
    expect(answered).toBe(count);
    expect(body).toContain('{"path":"/health"}');
  });
});
