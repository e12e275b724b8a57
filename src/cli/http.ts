// A GET over a Unix socket with node:http: the running daemon's socket for `status`, Docker's
// API socket for `doctor`. No TCP: both speak HTTP on a local socket.

import * as http from 'node:http';

export class LocalHttpError extends Error {
  readonly code = 'CLI_HTTP_FAILED';
  constructor(message: string, readonly cause?: unknown) {
    super(message);
    this.name = 'LocalHttpError';
  }
}

export interface LocalHttpResponse {
  status: number;
  body: string;
}

/** GET `urlPath` from the HTTP server on the Unix socket `socketPath`, within `timeoutMs`. */
export function getOverUnixSocket(socketPath: string, urlPath: string, timeoutMs: number, maxBytes = 16 << 20): Promise<LocalHttpResponse> {
  return new Promise((resolve, reject) => {
    const fail = (why: string, cause?: unknown): void => reject(new LocalHttpError(`failed to GET ${urlPath} on "${socketPath}": ${why}`, cause));
    const req = http.get({ socketPath, path: urlPath, headers: { Host: 'localhost', Accept: 'application/json' } }, (res) => {
      const chunks: Buffer[] = [];
      let size = 0;
      res.on('data', (c: Buffer) => {
        size += c.length;
        if (size > maxBytes) {
          req.destroy();
          fail(`reply larger than ${maxBytes} bytes`);
          return;
        }
        chunks.push(c);
      });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }));
      res.on('error', (err) => fail(err.message, err));
    });
    req.setTimeout(timeoutMs, () => {
      req.destroy();
      fail(`no reply within ${timeoutMs} ms`);
    });
    req.on('error', (err: NodeJS.ErrnoException) => fail(err.code ?? err.message, err));
  });
}
