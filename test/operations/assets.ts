/** Readers for the shipped operations assets, shared by the static and the live tests. */
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parser } from '@prometheus-io/lezer-promql';
import { parse } from 'yaml';

export const REPO = join(dirname(fileURLToPath(import.meta.url)), '..', '..');

export function readRepoFile(path: string): string {
  return readFileSync(join(REPO, path), 'utf8');
}

export interface GrafanaTarget {
  refId?: string;
  expr?: string;
  legendFormat?: string;
  datasource?: { type?: string; uid?: string };
}

export interface GrafanaPanel {
  id: number;
  type: string;
  title: string;
  description?: string;
  datasource?: { type?: string; uid?: string };
  targets?: GrafanaTarget[];
  panels?: GrafanaPanel[];
  gridPos?: { h: number; w: number; x: number; y: number };
}

export interface GrafanaDashboard {
  uid: string;
  title: string;
  panels: GrafanaPanel[];
  templating: { list: Array<Record<string, unknown> & { name: string; type: string }> };
}

export function loadDashboard(): GrafanaDashboard {
  return JSON.parse(readRepoFile('grafana/dashboards/poolscope.json')) as GrafanaDashboard;
}

/** Every panel, rows' nested panels included. */
export function allPanels(dashboard: GrafanaDashboard = loadDashboard()): GrafanaPanel[] {
  return dashboard.panels.flatMap((panel) => [panel, ...(panel.panels ?? [])]);
}

/** Every query of every panel, with the panel's title. */
export function dashboardExpressions(
  dashboard: GrafanaDashboard = loadDashboard(),
): Array<{ panel: string; expr: string }> {
  return allPanels(dashboard).flatMap((panel) =>
    (panel.targets ?? [])
      .filter((target) => target.expr !== undefined)
      .map((target) => ({ panel: panel.title, expr: target.expr! })),
  );
}

export interface RuleFile {
  groups: Array<{
    name: string;
    rules: Array<{
      record?: string;
      alert?: string;
      expr: string;
      for?: string;
      labels?: Record<string, string>;
      annotations?: Record<string, string>;
    }>;
  }>;
}

export function loadRuleFile(path: string): RuleFile {
  return parse(readRepoFile(path)) as RuleFile;
}

export function recordingRules(): Array<{ record: string; expr: string }> {
  return loadRuleFile('prometheus/rules/recording.yml').groups.flatMap((group) =>
    group.rules.map((rule) => ({ record: rule.record!, expr: rule.expr })),
  );
}

export function recordingRuleNames(): string[] {
  return recordingRules().map((rule) => rule.record);
}

/** Positions of lezer-promql error nodes: the parser recovers instead of throwing, so look for them. */
/** Every vector selector of `expr`: its metric name and its label matchers' text, as written. */
export function vectorSelectors(expr: string): Array<{ metric: string; matchers: string }> {
  const found: Array<{ metric: string; matchers: string }> = [];
  parser.parse(expr).iterate({
    enter(node) {
      if (node.type.name !== 'VectorSelector') return;
      const name = node.node.getChild('Identifier');
      const matchers = node.node.getChild('LabelMatchers');
      found.push({
        metric: name ? expr.slice(name.from, name.to) : '',
        matchers: matchers ? expr.slice(matchers.from, matchers.to) : '',
      });
    },
  });
  return found;
}

export function promqlErrors(expr: string): number[] {
  const errors: number[] = [];
  parser.parse(expr).iterate({
    enter(node) {
      if (node.type.isError) errors.push(node.from);
    },
  });
  return errors;
}
