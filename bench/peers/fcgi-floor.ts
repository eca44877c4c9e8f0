// This file implements the bench's Node floor from the perspective of someone asking what any
// Node FastCGI worker must cost on this machine: PHP-FPM's model (a master, N children that
// accept on one shared socket: `node:cluster` with `SCHED_NONE`) serving a fixed hello
// response (fcgi-floor-connection.ts), with no routing, no CGI and no handler: the least a Node
// process in the data path pays per request. Its rows are a calibration, not a peer.
// Usage: node fcgi-floor.js SOCKET CHILDREN
import cluster from 'node:cluster';
import { createServer } from 'node:net';
import { serveFloorConnection } from './fcgi-floor-connection.ts';

const [path, children] = process.argv.slice(2);
if (path === undefined) throw new Error('usage: fcgi-floor.js SOCKET CHILDREN');
// Every child accepts on the one socket itself (no round-robin through the master).
cluster.schedulingPolicy = cluster.SCHED_NONE;
if (cluster.isPrimary) {
  const workers = Array.from({ length: Number(children ?? '2') }, () => cluster.fork());
  process.on('SIGTERM', () => {
    for (const worker of workers) worker.process.kill('SIGKILL');
    process.exit(0);
  });
} else {
  createServer(serveFloorConnection).listen(path);
}
