import type { IncomingMessage, ServerResponse } from 'node:http';
import { AggregatorRegistry, type Registry } from 'prom-client';
import { registry as poolscopeRegistry } from './registry.js';

/**
 * In each `node:cluster` worker: answers the primary's scrape with these registries (poolscope's own by
 * default; add the app's). prom-client listens for the primary's request only once an `AggregatorRegistry`
 * exists in the worker: without this call the primary's scrape waits 5 s and fails (siimon/prom-client#747).
 */
export function shareMetricsWithPrimary(registries: readonly Registry[] = [poolscopeRegistry]): void {
  AggregatorRegistry.setRegistries([...registries]);
  new AggregatorRegistry();
}

/**
 * In the `node:cluster` primary: a `node:http` (or Express) handler serving every worker's metrics as one
 * exposition, each family folded by its aggregator (counters and histograms summed, ratios averaged, shared caps
 * and upstream headers not summed: docs/cluster.md). Scrape this, never the workers: behind a load balancer each
 * scrape of a worker lands on another process and `rate()` sees counters jump. Answers 503 when a worker does
 * not answer within prom-client's 5 s.
 */
export function clusterMetricsHandler(): (req: IncomingMessage, res: ServerResponse) => void {
  const aggregator = new AggregatorRegistry();
  return (_req, res) => {
    aggregator.clusterMetrics().then(
      (text) => res.writeHead(200, { 'content-type': aggregator.contentType }).end(text),
      (error: unknown) => {
        res.writeHead(503, { 'content-type': 'text/plain; charset=utf-8' });
        res.end(`cluster metrics unavailable: ${error instanceof Error ? error.message : String(error)}\n`);
      },
    );
  };
}
