// One keep-alive HTTP/1.1 connection to a plugin socket, used the way dockerd's plugin client
// uses its own: one request at a time, each answer read by its Content-Length. The benchmark
// stands in for dockerd (Go's net/http), and Node's http client would add its own cost, a few
// tenths of a millisecond a call here, to every figure it reports as the driver's.

import * as net from 'node:net';

export interface PluginAnswer {
  readonly status: number;
  /** Header names in lower case. */
  readonly headers: ReadonlyMap<string, string>;
  readonly body: string;
}

interface Pending {
  resolve(a: PluginAnswer): void;
  reject(e: Error): void;
}

const HEAD_END = Buffer.from('\r\n\r\n');

export class PluginConnection {
  private socket: net.Socket | undefined;
  private connected: Promise<void> | undefined;
  private buf: Buffer = Buffer.alloc(0);
  private pending: Pending | undefined;

  constructor(private readonly socketPath: string) {}

  async post(urlPath: string, body: string): Promise<PluginAnswer> {
    if (this.pending) throw new Error('PluginConnection: one request at a time');
    await this.connect();
    const data = Buffer.from(body, 'utf8');
    return new Promise<PluginAnswer>((resolve, reject) => {
      this.pending = { resolve, reject };
      this.socket?.write(`POST ${urlPath} HTTP/1.1\r\nHost: plugin\r\nContent-Length: ${data.length}\r\n\r\n`);
      this.socket?.write(data);
    });
  }

  close(): void {
    this.socket?.destroy();
    this.socket = undefined;
    this.connected = undefined;
  }

  private connect(): Promise<void> {
    if (this.connected) return this.connected;
    const socket = net.connect(this.socketPath);
    this.socket = socket;
    this.buf = Buffer.alloc(0);
    socket.setNoDelay(true);
    socket.on('data', (chunk: Buffer) => this.onData(chunk));
    const gone = (e?: Error): void => {
      if (this.socket === socket) {
        this.socket = undefined;
        this.connected = undefined;
      }
      const p = this.pending;
      this.pending = undefined;
      p?.reject(e ?? new Error(`${this.socketPath}: the connection closed before the answer`));
    };
    socket.on('error', gone);
    socket.on('close', () => gone());
    this.connected = new Promise<void>((resolve, reject) => {
      socket.once('connect', resolve);
      socket.once('error', reject);
    });
    return this.connected;
  }

  private onData(chunk: Buffer): void {
    this.buf = this.buf.length === 0 ? chunk : Buffer.concat([this.buf, chunk]);
    const end = this.buf.indexOf(HEAD_END);
    if (end < 0) return;
    const lines = this.buf.subarray(0, end).toString('latin1').split('\r\n');
    const status = Number(/^HTTP\/1\.[01] (\d{3})/.exec(lines[0] ?? '')?.[1] ?? NaN);
    const headers = new Map<string, string>();
    for (const line of lines.slice(1)) {
      const colon = line.indexOf(':');
      if (colon > 0) headers.set(line.slice(0, colon).trim().toLowerCase(), line.slice(colon + 1).trim());
    }
    const length = Number(headers.get('content-length'));
    const p = this.pending;
    if (!Number.isInteger(status) || !Number.isInteger(length)) {
      this.pending = undefined;
      this.close();
      p?.reject(new Error(`${this.socketPath}: an answer this client cannot read (${lines[0] ?? ''}; content-length ${headers.get('content-length') ?? 'absent'})`));
      return;
    }
    if (this.buf.length < end + 4 + length) return;
    const body = this.buf.subarray(end + 4, end + 4 + length).toString('utf8');
    this.buf = this.buf.subarray(end + 4 + length);
    this.pending = undefined;
    if (headers.get('connection') === 'close') this.close();
    p?.resolve({ status, headers, body });
  }
}
