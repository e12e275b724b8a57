// Graceful close on Node 16 (no closeIdleConnections): Docker keeps its plugin connections
// alive, so a plain close() would wait for them. Track which sockets have a request in flight;
// on drain, idle ones are closed at once and busy ones right after their answer.

import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { Socket } from 'node:net';

export interface Drainer {
  /** Stop keep-alive: close idle connections now and busy ones when their answer is sent. */
  drain(): void;
}

export function trackConnections(server: Server): Drainer {
  const inFlight = new Map<Socket, number>();
  let draining = false;
  server.on('connection', (s: Socket) => {
    inFlight.set(s, 0);
    s.once('close', () => inFlight.delete(s));
  });
  server.on('request', (req: IncomingMessage, res: ServerResponse) => {
    const s = req.socket;
    inFlight.set(s, (inFlight.get(s) ?? 0) + 1);
    res.once('close', () => {
      const n = (inFlight.get(s) ?? 1) - 1;
      inFlight.set(s, n);
      if (draining && n === 0) s.destroy();
    });
  });
  return {
    drain(): void {
      draining = true;
      for (const [s, n] of inFlight) if (n === 0) s.destroy();
    },
  };
}
