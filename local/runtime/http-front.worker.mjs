// @ts-check
// The local runtime's HTTP front, in its own thread: it accepts connections and parses requests
// whatever the functions' loop is doing, and passes each request to that loop as one message.
// Plain JavaScript because a worker thread does not inherit tsx's loader; what it needs from the
// TypeScript side (the contract's error bodies) arrives in workerData (see http-front.ts).
import { createServer } from 'node:http';
import { parentPort, workerData } from 'node:worker_threads';

/** @type {import('./http-front.ts').FrontSettings} */
const settings = workerData;
const port = /** @type {import('node:worker_threads').MessagePort} */ (parentPort);

/** @type {Map<number, import('node:http').ServerResponse>} */
const waiting = new Map();
let nextId = 0;

/**
 * @param {import('node:http').ServerResponse} res
 * @param {import('./http-front.ts').FrontResponse} answer
 */
function write(res, answer) {
  if (res.writableEnded || res.destroyed) return;
  res.writeHead(answer.status, answer.headers);
  res.end(answer.body);
}

const server = createServer((req, res) => {
  /** @type {Buffer[]} */
  const chunks = [];
  let size = 0;
  let tooLarge = false;
  req.on('data', (/** @type {Buffer} */ chunk) => {
    size += chunk.length;
    if (size > settings.maxBodyBytes) tooLarge = true;
    else chunks.push(chunk);
  });
  req.on('error', () => res.destroy());
  req.on('end', () => {
    if (tooLarge) return write(res, settings.answers.tooLarge);
    const id = nextId++;
    waiting.set(id, res);
    res.once('close', () => waiting.delete(id));
    /** @type {import('./http-front.ts').FrontRequest} */
    const request = {
      id,
      method: req.method ?? 'GET',
      url: req.url ?? '/',
      rawHeaders: req.rawHeaders,
      body: Buffer.concat(chunks).toString('utf8'),
      remoteAddress: req.socket.remoteAddress ?? '127.0.0.1',
    };
    port.postMessage(request);
  });
});

// Node's own answer to a request it cannot parse is a bare 400 with no body: this one is in the
// contract's error shape, like every other answer.
server.on('clientError', (/** @type {NodeJS.ErrnoException} */ error, socket) => {
  if (!socket.writable || /** @type {any} */ (socket)._httpMessage) return socket.destroy();
  const answer =
    error.code === 'HPE_HEADER_OVERFLOW'
      ? settings.answers.headersTooLarge
      : error.code === 'ERR_HTTP_REQUEST_TIMEOUT'
        ? settings.answers.timedOut
        : settings.answers.malformed;
  const head = [
    `HTTP/1.1 ${answer.status} ${answer.reason}`,
    'Content-Type: application/json',
    `Content-Length: ${Buffer.byteLength(answer.body)}`,
    'Connection: close',
  ];
  socket.end(`${head.join('\r\n')}\r\n\r\n${answer.body}`);
});

server.keepAliveTimeout = settings.keepAliveTimeoutMs;

port.on('message', (/** @type {import('./http-front.ts').FrontAnswer | { close: true }} */ message) => {
  if ('close' in message) {
    server.close(() => port.postMessage({ closed: true }));
    server.closeAllConnections();
    return;
  }
  const res = waiting.get(message.id);
  if (!res) return;
  waiting.delete(message.id);
  write(res, message);
});

server.once('error', (error) => port.postMessage({ failed: String(error.message) }));
server.listen({ port: settings.port, host: settings.host, backlog: settings.backlog }, () => {
  const address = server.address();
  port.postMessage({ listening: typeof address === 'object' && address ? address.port : 0 });
});
