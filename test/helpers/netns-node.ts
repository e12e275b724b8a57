// Runs a Node.js script inside a network namespace (`ip netns exec NS node -e SCRIPT`), for the
// few tests that need a gateway acting in a namespace of the test's own: the gateway never enters
// one itself. The script prints one JSON value on stdout; that value is the result.

import { spawn } from 'node:child_process';

export async function nodeInNetns(netns: string, script: string): Promise<unknown> {
  const out = await new Promise<string>((resolve, reject) => {
    const child = spawn('ip', ['netns', 'exec', netns, process.execPath, '-e', script], { stdio: ['ignore', 'pipe', 'inherit'] });
    let text = '';
    child.stdout.on('data', (d: Buffer) => { text += d.toString(); });
    child.on('error', reject);
    child.on('exit', (code) => (code === 0 ? resolve(text) : reject(new Error(`child in netns ${netns} exited ${String(code)}`))));
  });
  return JSON.parse(out);
}
