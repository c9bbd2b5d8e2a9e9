/** Request durations: from a 5 ms PostgREST read to a 2-minute LLM call. */
export const REQUEST_DURATION_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120];

/** Time spent waiting for a concurrency slot: mostly zero, seconds when saturated. */
export const ACQUIRE_WAIT_BUCKETS = [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];

/** Time to open a connection: sub-millisecond on loopback, a TLS handshake across a region, a stuck server. */
export const CONNECTION_CREATE_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];
