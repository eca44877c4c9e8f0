// This file implements the JavaScript frames of a slow-log stack sample from the perspective of
// the sampler thread reading a `Debugger.paused` event of the worker's main thread: each frame
// as function, file, line and column (1-based, as a stack trace prints them), innermost first,
// without the outer frames that are the worker's own code (its runtime, FastCGI connection and
// Node's event loop, which called the script), at most `depth` of them.
import { fileURLToPath } from 'node:url';

/** One frame of a sample, as the worker sends it to the supervisor (`StackMessage.frames`). */
export interface JsFrame {
  /** The function's name; `''` for an anonymous function or the script's top level. */
  readonly function: string;
  /** The script's path (a `file:` URL turned into a path), `node:…` for Node's own modules. */
  readonly file: string;
  /** 1-based line and column. */
  readonly line: number;
  readonly column: number;
}

/** The part of a Chrome DevTools Protocol `Debugger.CallFrame` read here. */
export interface CdpCallFrame {
  readonly functionName: string;
  readonly location: { readonly scriptId: string; readonly lineNumber: number; readonly columnNumber?: number };
  /** Empty in Node 20 (deprecated): the URL comes from `Debugger.scriptParsed` (`urls`). */
  readonly url?: string;
}

/** The frames of a sample and how many outer frames of the worker were left out. */
export interface SampledFrames {
  readonly frames: JsFrame[];
  readonly omitted: number;
}

/** A script URL as a path: `file:///srv/x.js` → `/srv/x.js`; other URLs as they are. */
export function urlPath(url: string): string {
  if (!url.startsWith('file:')) return url;
  try {
    return fileURLToPath(url);
  } catch {
    return url;
  }
}

/**
 * The frames of `callFrames` (innermost first): the outermost frames that are the worker's own
 * code (`file` under `ownRoot`, a `node:` module, or no file: the event loop, the runtime that
 * called the script) are left out; of the rest, the `depth` innermost are kept.
 * @param urls script URLs by `scriptId` (`Debugger.scriptParsed`)
 * @param ownRoot the worker's own code's directory, ending with `/`
 */
export function sampledFrames(
  callFrames: readonly CdpCallFrame[], urls: ReadonlyMap<string, string>, ownRoot: string, depth: number,
): SampledFrames {
  const frames = callFrames.map((frame): JsFrame => ({
    function: frame.functionName,
    file: urlPath(frame.url !== undefined && frame.url !== '' ? frame.url : urls.get(frame.location.scriptId) ?? ''),
    line: frame.location.lineNumber + 1,
    column: (frame.location.columnNumber ?? 0) + 1,
  }));
  let end = frames.length;
  while (end > 0 && isWorkers(frames[end - 1]?.file ?? '', ownRoot)) end -= 1;
  return { frames: frames.slice(0, Math.min(end, depth)), omitted: frames.length - end };
}

function isWorkers(file: string, ownRoot: string): boolean {
  return file === '' || file.startsWith('node:') || file.startsWith(ownRoot);
}
