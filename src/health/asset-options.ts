/**
 * What a user of the operations assets (alert rules, recording rules, dashboard) can scope, as the monitoring
 * mixins do (node-mixin's `nodeExporterSelector`): one selector interpolated into every poolscope series the
 * assets read, so one Prometheus that scrapes several services, environments or clusters can hold each's own.
 */
export interface AssetOptions {
  /**
   * PromQL label matchers added to every `poolscope_*` selector, e.g. `job="api", env="prod"`. Default `''`:
   * every series whose name starts with poolscope_, whatever job scrapes it — poolscope's metric names are its
   * own, and an app that embeds the library is scraped under the app's job, not `poolscope`.
   */
  selector?: string;
  /** Matchers of the `up` series PoolscopeTargetDown watches. Default `job="poolscope"`: the shipped scrape job. */
  targetSelector?: string;
  /** Each alert's `runbook_url` is `<runbookBaseUrl><AlertName>.md`: your own copy of the runbooks. */
  runbookBaseUrl?: string;
}

export const DEFAULT_SELECTOR = '';
export const DEFAULT_TARGET_SELECTOR = 'job="poolscope"';

// name op "value", where value is a Go/PromQL double-quoted string.
const MATCHER = String.raw`\s*[a-zA-Z_][a-zA-Z0-9_]*\s*(?:=~|!~|!=|=)\s*"(?:[^"\\]|\\.)*"\s*`;
const MATCHERS = new RegExp(`^(?:${MATCHER}(?:,${MATCHER})*,?\\s*)?$`);

/** `selector` trimmed, or a TypeError naming it when it is not a comma-separated list of label matchers. */
export function normalizeSelector(selector: string, option = 'selector'): string {
  if (typeof selector !== 'string' || !MATCHERS.test(selector)) {
    throw new TypeError(
      `${option} must be PromQL label matchers such as job="api", env=~"prod|staging"; got ${JSON.stringify(selector)}`,
    );
  }
  return selector.trim().replace(/,\s*$/, '');
}

/** `metric{selector, ...matchers}` (empty parts left out; `metric` alone when there are none). */
export function selectorOf(metric: string, selector: string, ...matchers: string[]): string {
  const parts = [selector, ...matchers].filter((part) => part !== '');
  return parts.length === 0 ? metric : `${metric}{${parts.join(', ')}}`;
}
