// A federation gateway for the composition test: @apollo/gateway composes the subgraphs it is given
// (IntrospectAndCompose: each subgraph's `_service { sdl }`), served by @apollo/server on a plain node http
// server, and counts what it sends to each subgraph.
//
//   node gateway.mjs --port 4000 --subgraph customers=http://127.0.0.1:8000/graphql --subgraph orders=...
//
//   POST /graphql   the supergraph
//   GET  /counts    per subgraph: {"operations", "entities", "representations", "schemaLoads"}, and "log",
//                   one entry per operation sent (subgraph, whether it was an `_entities` fetch, how many
//                   representations it carried)
//   GET  /healthz   200 once the supergraph is composed
//
// Usage reporting to Apollo is off: a test has no business phoning home.
process.env.APOLLO_TELEMETRY_DISABLED ??= '1';

import http from 'node:http';
import { parseArgs } from 'node:util';

import { ApolloGateway, IntrospectAndCompose, RemoteGraphQLDataSource } from '@apollo/gateway';
import { ApolloServer, HeaderMap } from '@apollo/server';

const { values } = parseArgs({
  options: {
    host: { type: 'string', default: '127.0.0.1' },
    port: { type: 'string' },
    subgraph: { type: 'string', multiple: true, default: [] },
  },
});
if (!values.port || values.subgraph.length === 0) {
  console.error('usage: node gateway.mjs --port N --subgraph name=url [--subgraph name=url ...]');
  process.exit(2);
}
const subgraphs = values.subgraph.map((pair) => {
  const at = pair.indexOf('=');
  return { name: pair.slice(0, at), url: pair.slice(at + 1) };
});

const counts = Object.fromEntries(
  subgraphs.map(({ name }) => [name, { operations: 0, entities: 0, representations: 0, schemaLoads: 0 }]),
);
const log = [];

// customer-graph wants a client credential on every request, composition's `_service { sdl }` included.
const apiKey = process.env.SUBGRAPH_API_KEY;

class CountingDataSource extends RemoteGraphQLDataSource {
  willSendRequest({ request, kind }) {
    if (apiKey) request.http.headers.set('x-api-key', apiKey);
    const count = counts[this.name];
    if (kind !== 'incoming operation') {  // composition's `_service { sdl }` and health checks
      count.schemaLoads += 1;
      return;
    }
    const representations = request.variables?.representations;
    const entities = /\b_entities\b/.test(request.query ?? '') && Array.isArray(representations);
    count.operations += 1;
    if (entities) {
      count.entities += 1;
      count.representations += representations.length;
    }
    log.push({ subgraph: this.name, entities, representations: entities ? representations.length : 0 });
  }
}

const gateway = new ApolloGateway({
  supergraphSdl: new IntrospectAndCompose({ subgraphs }),
  buildService: ({ name, url }) => new CountingDataSource({ name, url }),
});
const server = new ApolloServer({ gateway, includeStacktraceInErrorResponses: true });
await server.start();

function send(res, status, body, headers = { 'content-type': 'application/json' }) {
  res.writeHead(status, headers);
  res.end(typeof body === 'string' ? body : JSON.stringify(body));
}

async function graphql(req, res, url) {
  const chunks = [];
  for await (const chunk of req) chunks.push(chunk);
  const text = Buffer.concat(chunks).toString('utf8');
  const headers = new HeaderMap();
  for (const [key, value] of Object.entries(req.headers)) {
    if (value !== undefined) headers.set(key, Array.isArray(value) ? value.join(', ') : value);
  }
  let body;
  try {
    body = text ? JSON.parse(text) : undefined;
  } catch {
    return send(res, 400, { errors: [{ message: 'the request body is not JSON' }] });
  }
  const response = await server.executeHTTPGraphQLRequest({
    httpGraphQLRequest: { method: req.method ?? 'POST', headers, search: url.search, body },
    context: async () => ({}),
  });
  const out = Object.fromEntries(response.headers);
  if (response.body.kind === 'complete') {
    return send(res, response.status ?? 200, response.body.string, out);
  }
  res.writeHead(response.status ?? 200, out);
  for await (const chunk of response.body.asyncIterator) res.write(chunk);
  res.end();
}

const httpServer = http.createServer((req, res) => {
  const url = new URL(req.url ?? '/', 'http://gateway');
  if (url.pathname === '/graphql') {
    graphql(req, res, url).catch((error) => send(res, 500, { errors: [{ message: String(error) }] }));
  } else if (url.pathname === '/counts' && req.method === 'GET') {
    send(res, 200, { subgraphs: counts, log });
  } else if (url.pathname === '/healthz') {
    send(res, 200, { status: 'ok', subgraphs: subgraphs.map(({ name }) => name) });
  } else {
    send(res, 404, { error: 'not found' });
  }
});

async function shutdown() {
  httpServer.close();
  await server.stop();
  process.exit(0);
}
process.on('SIGTERM', shutdown);
process.on('SIGINT', shutdown);

httpServer.listen(Number(values.port), values.host, () => {
  console.log(`federation gateway on http://${values.host}:${values.port}/graphql over `
    + subgraphs.map(({ name, url }) => `${name}=${url}`).join(', '));
});
