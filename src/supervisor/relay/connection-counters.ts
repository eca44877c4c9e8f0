// This file implements the counters of one listener's connections from the perspective of an
// operator checking that a balancer multiplexes (HAProxy's `mpxs-conns`) and that strangers are
// kept out: connections open and accepted, requests, how many of them shared a connection with
// another request in flight, and the most a connection carried at once.

/** Counters shared by the connections of one listener (`cgi-fpm status`, `listeners`). */
export class ConnectionCounters {
  /** Connections open now. */
  open = 0;
  /** Connections accepted since the listener opened (refused ones are not). */
  accepted = 0;
  /** Requests begun (`FCGI_BEGIN_REQUEST` of the responder role). */
  requests = 0;
  /** Requests that began while another request of the same connection was in flight. */
  multiplexed = 0;
  /** Most requests in flight at once on one connection. */
  maxConcurrentRequests = 0;

  /** A request began on a connection that now has `inFlight` requests (this one included). */
  began(inFlight: number): void {
    this.requests += 1;
    if (inFlight > 1) this.multiplexed += 1;
    if (inFlight > this.maxConcurrentRequests) this.maxConcurrentRequests = inFlight;
  }
}
