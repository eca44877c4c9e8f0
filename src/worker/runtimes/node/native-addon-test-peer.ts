// This file implements a native addon with asynchronous work from the perspective of the tests
// of the one case the node runtime's end-of-script check cannot see: a N-API addon's
// `napi_async_work` runs on libuv's thread pool, keeps a real process alive, and no public Node
// API lists it. The addon (`later(callback)`: calls back after 200 ms of thread-pool work) is
// compiled with the system C compiler against the headers of the node running the tests.
import { execFile } from 'node:child_process';
import { access, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { promisify } from 'node:util';

const SOURCE = String.raw`#include <node_api.h>
#include <stdlib.h>
#include <unistd.h>

typedef struct { napi_async_work work; napi_ref callback; } Job;

static void Execute(napi_env env, void* data) { (void)env; (void)data; usleep(200000); }

static void Complete(napi_env env, napi_status status, void* data) {
  Job* job = data;
  napi_value callback, global;
  (void)status;
  napi_get_reference_value(env, job->callback, &callback);
  napi_get_global(env, &global);
  napi_call_function(env, global, callback, 0, NULL, NULL);
  napi_delete_reference(env, job->callback);
  napi_delete_async_work(env, job->work);
  free(job);
}

static napi_value Later(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1], name;
  Job* job = malloc(sizeof(Job));
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  napi_create_reference(env, argv[0], 1, &job->callback);
  napi_create_string_utf8(env, "later", NAPI_AUTO_LENGTH, &name);
  napi_create_async_work(env, NULL, name, Execute, Complete, job, &job->work);
  napi_queue_async_work(env, job->work);
  return NULL;
}

NAPI_MODULE_INIT() {
  napi_value later;
  napi_create_function(env, "later", NAPI_AUTO_LENGTH, Later, NULL, &later);
  napi_set_named_property(env, exports, "later", later);
  return exports;
}
`;

/** Where node's headers usually are: beside the binary, or where distributions put them. */
const INCLUDE_DIRS = [join(dirname(process.execPath), '..', 'include', 'node'), '/usr/include/node', '/usr/local/include/node'];

/**
 * Compiles the addon into `dir/later.node`.
 * @throws Error naming what is missing (a C compiler, `node_api.h`): .ci/run installs both.
 */
export async function buildLaterAddon(dir: string): Promise<string> {
  let include: string | undefined;
  for (const candidate of INCLUDE_DIRS) {
    try {
      await access(join(candidate, 'node_api.h'));
      include = candidate;
      break;
    } catch {
      // Not there.
    }
  }
  if (include === undefined) throw new Error(`native addon test: node_api.h not found in ${INCLUDE_DIRS.join(', ')}`);
  const source = join(dir, 'later.c');
  const addon = join(dir, 'later.node');
  await writeFile(source, SOURCE);
  await promisify(execFile)('cc', ['-shared', '-fPIC', '-O2', `-I${include}`, '-o', addon, source]);
  return addon;
}
