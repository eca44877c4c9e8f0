// This file implements the courier of a listening socket from the perspective of the
// supervisor, which cannot hold a listening socket without accepting on it (Node has no public
// way to stop a net.Server's accepts but to close it): started with the socket on fd 3 and Node
// IPC on fd 4, it wraps fd 3 in a paused net.Socket (`new Socket({ fd })`) and sends it back
// (`process.send(message, socket)`); the supervisor then holds a socket nothing reads, and
// passes it to each direct worker as a stdio entry. It runs no other code, and exits when told.
import { Socket } from 'node:net';

const held = new Socket({ fd: 3, readable: false, writable: false });
process.send?.({ type: 'listen-socket' }, held);
process.once('message', () => { process.exit(0); });
process.once('disconnect', () => { process.exit(0); });
