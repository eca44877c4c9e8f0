// This file implements the life of a relayed request from the perspective of its state machine
// alone: the states, the events, and the one transition function (an exhaustive switch) that
// relay-request.ts applies (DESIGN.md, "A relayed request's life"). Pure: no I/O.

/**
 * Where a relayed request is: reading its PARAMS, being routed (script resolution), waiting in
 * its pool's queue, running on a worker, aborted while running (its worker owes the
 * END_REQUEST), ended by its worker while held output is still being written (`releasing`), or
 * finished (nothing more goes to the web server).
 */
export type RelayState = 'params' | 'routing' | 'queued' | 'active' | 'aborting' | 'releasing' | 'finished';

/**
 * What happens to a request: its params completed, it was queued, a worker took it, the web
 * server aborted it (record or closed connection), the supervisor answered it itself, the
 * worker's END_REQUEST was relayed (`ended`) or came while output was held (`ending`), or the
 * held output and that END_REQUEST went out (`released`).
 */
export type RelayEvent = 'routing' | 'queued' | 'assigned' | 'aborted' | 'answered' | 'ended' | 'ending' | 'released';

/**
 * The request's state machine: the state after `event` in `state`, or `undefined` when the
 * event does not apply there (it is then ignored: a late answer, a second abort).
 */
export function nextState(state: RelayState, event: RelayEvent): RelayState | undefined {
  switch (state) {
    case 'params':
      // answered: its params were too large to keep (the supervisor's 431).
      return event === 'routing' ? 'routing' : event === 'aborted' || event === 'answered' ? 'finished' : undefined;
    case 'routing':
    case 'queued':
      switch (event) {
        case 'queued':
          return 'queued';
        case 'assigned':
          return 'active';
        case 'aborted':
        case 'answered':
          return 'finished';
        case 'routing':
          // A queued request is routed again when a reload replaces its pool (issue 10.7).
          return state === 'queued' ? 'routing' : undefined;
        case 'ended':
        case 'ending':
        case 'released':
          return undefined;
      }
      return undefined;
    case 'active':
      if (event === 'ending') return 'releasing';
      return event === 'aborted' ? 'aborting' : event === 'ended' || event === 'answered' ? 'finished' : undefined;
    case 'aborting':
      return event === 'ended' || event === 'answered' ? 'finished' : undefined;
    case 'releasing':
      return event === 'released' || event === 'aborted' || event === 'answered' ? 'finished' : undefined;
    case 'finished':
      return undefined;
  }
}
