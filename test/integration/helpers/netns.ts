// This file implements a private network of test hosts from the perspective of a suite that
// puts several cgi-fpm hosts behind a load balancer: Linux network namespaces joined by veth
// pairs, with addresses that exist only inside them. Each backend host gets its own namespace;
// one "front" namespace holds the balancers and reaches every host over its own link. The
// suite's HTTP clients reach the balancers over unix sockets (pathname sockets are not
// namespaced), so nothing listens on the machine's own network.
import { execFile } from 'node:child_process';
import { randomInt } from 'node:crypto';

/** One backend host of a lab. */
export interface LabHost {
  /** Short name given by the suite (`a`, `b`). */
  readonly name: string;
  /** Its network namespace. */
  readonly ns: string;
  /** Its address on the link to the front (what the balancers connect to). */
  readonly address: string;
  /** The front's address on this link (the only client the host should let in). */
  readonly frontAddress: string;
  /** A second front address on this link, for a client the host must refuse. */
  readonly strangerAddress: string;
}

/** A lab: backend hosts and the front namespace. */
export interface Lab {
  readonly front: string;
  readonly hosts: readonly LabHost[];
  /** `ip netns exec NS` as a launcher prefix for spawn (`ip` execs the command, so its pid is the command's). */
  launcher(ns: string): readonly string[];
  /** Runs a command inside `ns` to completion; rejects with its stderr on failure. */
  run(ns: string, command: string, args: readonly string[]): Promise<string>;
  /** Deletes every namespace (and so every link). Idempotent. */
  remove(): Promise<void>;
}

function ip(args: readonly string[], timeoutMs = 10_000): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile('ip', args, { timeout: timeoutMs }, (err, stdout, stderr) => {
      if (err !== null) reject(new Error(`ip ${args.join(' ')}: ${stderr.trim() || err.message}`));
      else resolve(stdout);
    });
  });
}

/**
 * Why a lab cannot be built here, or undefined when it can: creates and deletes a probe
 * namespace (needs root, iproute2 and a kernel with network namespaces).
 */
export async function labUnavailable(): Promise<string | undefined> {
  if (process.getuid?.() !== 0) return 'network namespaces need root (ip netns add)';
  const probe = `cfprobe${String(randomInt(1e6))}`;
  try {
    await ip(['netns', 'add', probe]);
    await ip(['netns', 'del', probe]);
    return undefined;
  } catch (err) {
    return `cannot create a network namespace: ${(err as Error).message}`;
  }
}

/**
 * Builds a lab with one namespace per host name plus a front, each host linked to the front by
 * a veth pair on its own /24 in 10.N.0.0/16 (N picked at random, so concurrent suites differ).
 * Loopback is up everywhere. On failure, what was made is removed before rethrowing.
 */
export async function createLab(hostNames: readonly string[]): Promise<Lab> {
  const id = randomInt(1e5).toString(36);
  const net = randomInt(100, 250);
  const front = `cf${id}front`;
  const made: string[] = [];
  const remove = async (): Promise<void> => {
    for (const ns of made.splice(0)) await ip(['netns', 'del', ns]).catch(() => undefined);
  };
  const run = (ns: string, command: string, args: readonly string[]): Promise<string> =>
    ip(['netns', 'exec', ns, command, ...args]);
  try {
    await ip(['netns', 'add', front]);
    made.push(front);
    await run(front, 'ip', ['link', 'set', 'lo', 'up']);
    const hosts: LabHost[] = [];
    for (const [i, name] of hostNames.entries()) {
      const ns = `cf${id}${name}`;
      await ip(['netns', 'add', ns]);
      made.push(ns);
      await run(ns, 'ip', ['link', 'set', 'lo', 'up']);
      const hostIf = `cf${id}h${String(i)}`;
      const frontIf = `cf${id}f${String(i)}`;
      await ip(['link', 'add', hostIf, 'netns', ns, 'type', 'veth', 'peer', 'name', frontIf, 'netns', front]);
      const subnet = `10.${String(net)}.${String(i + 1)}`;
      await run(ns, 'ip', ['addr', 'add', `${subnet}.2/24`, 'dev', hostIf]);
      await run(ns, 'ip', ['link', 'set', hostIf, 'up']);
      await run(front, 'ip', ['addr', 'add', `${subnet}.1/24`, 'dev', frontIf]);
      await run(front, 'ip', ['addr', 'add', `${subnet}.3/24`, 'dev', frontIf]);
      await run(front, 'ip', ['link', 'set', frontIf, 'up']);
      hosts.push({ name, ns, address: `${subnet}.2`, frontAddress: `${subnet}.1`, strangerAddress: `${subnet}.3` });
    }
    return { front, hosts, launcher: (ns) => ['ip', 'netns', 'exec', ns], run, remove };
  } catch (err) {
    await remove();
    throw err;
  }
}
