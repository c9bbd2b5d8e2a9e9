import type { RequestHandler } from 'express';
import { Registry, type Metric, type OpenMetricsContentType } from 'prom-client';

export const PROMETHEUS_CONTENT_TYPE = Registry.PROMETHEUS_CONTENT_TYPE;
export const OPENMETRICS_CONTENT_TYPE = Registry.OPENMETRICS_CONTENT_TYPE;

/** `GET /metrics`: the registry in the format the scraper asks for (OpenMetrics or the Prometheus text format). */
export function metricsHandler(registry: Registry): RequestHandler {
  return async (req, res) => {
    const openMetrics = prefersOpenMetrics(req.get('accept'));
    const body = openMetrics ? await renderOpenMetrics(registry) : await registry.metrics();
    res.set('Content-Type', openMetrics ? OPENMETRICS_CONTENT_TYPE : PROMETHEUS_CONTENT_TYPE);
    res.set('Cache-Control', 'no-store');
    res.send(body);
  };
}

/**
 * OpenMetrics only when the client ranks it above the text format (Prometheus sends
 * `application/openmetrics-text;version=1.0.0,...,text/plain;version=0.0.4;q=0.5,*\/*;q=0.1`); a tie, `*\/*`
 * or no Accept header keeps the Prometheus text format, which every scraper reads.
 */
export function prefersOpenMetrics(accept: string | undefined): boolean {
  if (accept === undefined) return false;
  let openMetrics = 0;
  let text = 0;
  for (const entry of accept.split(',')) {
    const [rawType = '', ...params] = entry.split(';');
    const type = rawType.trim().toLowerCase();
    let q = 1;
    for (const param of params) {
      const [key, value] = param.split('=').map((part) => part.trim().toLowerCase());
      if (key === 'q' && value !== undefined) q = Number.isFinite(Number(value)) ? Number(value) : 0;
    }
    if (type === 'application/openmetrics-text') openMetrics = Math.max(openMetrics, q);
    else if (type === 'text/plain' || type === 'text/*' || type === '*/*') text = Math.max(text, q);
  }
  return openMetrics > 0 && openMetrics > text;
}

/**
 * prom-client renders OpenMetrics only from a registry whose content type says so, and while rendering it
 * renames every counter in place (drops `_total`), which would corrupt the next text-format scrape of the same
 * metric objects. So render from a throwaway registry of read-only views over the metrics instead.
 */
export async function renderOpenMetrics(source: Registry): Promise<string> {
  const target = new Registry<OpenMetricsContentType>();
  target.setContentType(Registry.OPENMETRICS_CONTENT_TYPE);
  // The app's `registry.setDefaultLabels()` must reach OpenMetrics scrapes too (Prometheus asks for OpenMetrics
  // first); prom-client has no getter for them, so read the field its own rendering reads.
  const defaultLabels = (source as unknown as { _defaultLabels?: Record<string, string> })._defaultLabels;
  if (defaultLabels && Object.keys(defaultLabels).length > 0) target.setDefaultLabels(defaultLabels);
  for (const metric of source.getMetricsAsArray())
    target.registerMetric(view(metric as unknown as MetricLike) as unknown as Metric);
  return target.metrics();
}

interface MetricData {
  name: string;
  [key: string]: unknown;
}

/** The parts of a prom-client metric object the registry reads while rendering. */
interface MetricLike {
  name: string;
  help: string;
  type: string;
  aggregator: string;
  get(): Promise<MetricData>;
  getForPromString?(): Promise<MetricData>;
}

function view(metric: MetricLike): MetricLike {
  const name = metric.type === 'counter' ? metric.name.replace(/_total$/, '') : metric.name;
  const renamed = async (data: Promise<MetricData>): Promise<MetricData> => ({ ...(await data), name });
  const result: MetricLike = {
    name,
    help: metric.help,
    type: metric.type,
    aggregator: metric.aggregator,
    get: () => renamed(metric.get()),
  };
  const forPromString = metric.getForPromString;
  if (typeof forPromString === 'function') result.getForPromString = () => renamed(forPromString.call(metric));
  return result;
}
