// The fenced resource as its own process: `node --import tsx fenced-resource-server.ts on|off`.
// POST /write takes a WriteRequest and answers { accepted }; GET /stats answers the ledger's stats.
// Prints `fenced resource listening on 127.0.0.1:<port>` once it serves.
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { FencedResource, type WriteRequest } from './fenced-resource.ts';

const mode = process.argv[2];
if (mode !== 'on' && mode !== 'off') {
  console.error('usage: fenced-resource-server.ts on|off');
  process.exit(2);
}
const resource = new FencedResource(mode === 'on');

function reply(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'content-type': 'application/json' });
  res.end(JSON.stringify(body));
}

async function readBody(req: IncomingMessage): Promise<string> {
  let body = '';
  for await (const chunk of req) body += chunk;
  return body;
}

const server = createServer((req, res) => {
  if (req.method === 'GET' && req.url === '/stats') return reply(res, 200, resource.stats());
  if (req.method !== 'POST' || req.url !== '/write') return reply(res, 404, { error: 'not found' });
  readBody(req).then(
    (body) => {
      try {
        reply(res, 200, { accepted: resource.write(JSON.parse(body) as WriteRequest) });
      } catch (e) {
        reply(res, 400, { error: (e as Error).message });
      }
    },
    () => res.destroy(),
  );
});
server.keepAliveTimeout = 60_000;
server.listen(0, '127.0.0.1', () => {
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  console.log(`fenced resource listening on 127.0.0.1:${port}`);
});
