import { Document } from 'yaml';
import { alertRules, type AlertRule, type AlertRuleOptions } from './alert-rules.js';
import { THRESHOLDS, type Thresholds } from './thresholds.js';

export const ALERT_RULES_FILE = 'alerts/poolscope.rules.yml';
export const ALERT_GROUP_NAME = 'poolscope.alerts';

const HEADER = [
  ' GENERATED from src/health (thresholds.ts, alert-rules.ts) by scripts/generate-ops-assets.mjs.',
  ' Do not edit: change the thresholds or rule definitions and regenerate; test/operations checks this file',
  ' matches, and alerts/tests/ holds the promtool unit tests.',
].join('\n');

/** The Prometheus rule-group object for `rules` (what `yaml` serializes). */
export function alertRuleGroups(rules: readonly AlertRule[] = alertRules()): {
  groups: Array<{ name: string; rules: Array<Record<string, unknown>> }>;
} {
  return {
    groups: [
      {
        name: ALERT_GROUP_NAME,
        rules: rules.map((rule) => ({
          alert: rule.alert,
          expr: rule.expr,
          for: rule.for,
          labels: { severity: rule.severity },
          annotations: { summary: rule.summary, description: rule.description, runbook_url: rule.runbookUrl },
        })),
      },
    ],
  };
}

/**
 * The text of `alerts/poolscope.rules.yml`. Deterministic: same arguments, byte-identical output. With
 * `runbookBaseUrl`, every `runbook_url` points at your copy of the runbooks instead of this repository's.
 */
export function renderAlertRules(thresholds: Thresholds = THRESHOLDS, options: AlertRuleOptions = {}): string {
  const doc = new Document(alertRuleGroups(alertRules(thresholds, options)));
  doc.commentBefore = HEADER;
  // lineWidth 0: never fold long PromQL or descriptions; multi-line expressions come out as `|-` blocks.
  return doc.toString({ lineWidth: 0, indent: 2, indentSeq: true });
}
