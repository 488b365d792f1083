/**
 * An authenticated host in its own process, for test/e2e/session.test.ts: it opens the port,
 * authenticates, allocates, and then answers the test's requests, so the test can stop it
 * (SIGSTOP: it holds the port and reads nothing) or kill it while its session is live.
 *
 * Messages: ← {port, secret}; → {addr, inSession}; ← 'list'; → {allocs: addresses} or {error}.
 */
import { DeviceClient } from '../../extension/device/client.js';
import { MallocCap } from '../../extension/protocol/constants.js';

export interface SessionHostSetup { port: string; secret: string }
export type SessionHostMessage = { addr: number; inSession: boolean } | { allocs: number[] } | { error: string };

process.once('message', (m: SessionHostSetup) => void (async () => {
  const client = await DeviceClient.open(m.port);
  await client.authenticate(m.secret);
  const addr = await client.alloc(64, MallocCap['8BIT']);
  process.send!({ addr, inSession: client.inSession } satisfies SessionHostMessage);
  process.on('message', (req) => {
    if (req !== 'list') return;
    client.listAllocs().then(
      (list) => process.send!({ allocs: list.map((a) => a.addr) } satisfies SessionHostMessage),
      (e: Error) => process.send!({ error: e.message } satisfies SessionHostMessage),
    );
  });
})().catch((e: Error) => process.send!({ error: e.message } satisfies SessionHostMessage)));
