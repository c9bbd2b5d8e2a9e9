/** The human-readable side of the results: one Markdown table per scenario, the machine, and the headline. */

const ORDER = ['reuse', 'burst', 'capped', 'overhead', 'scrape', 'memory', 'sdk', 'fleet', 'flat'];

export function renderMarkdown(results) {
  const m = results.machine;
  const lines = [
    `# poolscope benchmarks (${results.mode} run)`,
    '',
    `${m.date} · ${m.cpuCount} × ${m.cpuModel} · ${m.totalMemoryMB} MB · Node ${m.node} (bundled undici ${m.nodeBundledUndici}) · ` +
      `undici ${m.undici} · prom-client ${m.promClient} · poolscope ${m.poolscope} @ ${m.commit} · ${m.platform}`,
    '',
    `Reproduce: \`${results.command}\` (took ${Math.round(results.durationMs / 1000)} s). Upstreams are the wire simulators on 127.0.0.1, ` +
      'in a child process of their own; ratios matter more than absolute times on a shared machine.',
    '',
  ];
  const headline = headlineRows(results.scenarios);
  if (headline.length > 0) {
    lines.push(
      '## Reference claims vs this run',
      '',
      table(['claim (reference design)', 'measured here'], headline),
      '',
    );
  }
  const ids = [
    ...ORDER.filter((id) => id in results.scenarios),
    ...Object.keys(results.scenarios).filter((id) => !ORDER.includes(id)),
  ];
  ids.forEach((id, index) => {
    const s = results.scenarios[id];
    lines.push(`## ${index + 1}. ${s.title}`, '');
    if (s.error) {
      lines.push('**FAILED**', '', '```', s.error, '```', '');
      return;
    }
    if (s.params)
      lines.push(
        `Parameters: ${Object.entries(s.params)
          .map(([k, v]) => `${k} ${format(v)}`)
          .join(' · ')}`,
        '',
      );
    if (s.table) lines.push(table(s.table.headers, s.table.rows), '');
    if (s.target) {
      lines.push(
        `**Target**: ${s.target.description} → ${s.target.met ? '**met**' : '**missed**'} (${s.target.measured}).`,
        '',
      );
    }
    for (const note of s.notes ?? []) lines.push(`- ${note}`);
    lines.push('', `_${Math.round(s.durationMs / 100) / 10} s_`, '');
  });
  return `${lines.join('\n').trimEnd()}\n`;
}

/** The reference designs' claims next to what this run measured: [claim, measured] pairs. */
export function headlineRows(scenarios) {
  const rows = [];
  const reuse = scenarios.reuse?.summary;
  if (reuse?.https) {
    rows.push([
      'reuse: 150 ms → <1 ms per request',
      `HTTPS ${reuse.https.freshP50Ms} → ${reuse.https.pooledP50Ms} ms median (${reuse.https.p50Speedup}×); ` +
        `HTTP ${reuse.http.freshP50Ms} → ${reuse.http.pooledP50Ms} ms (${reuse.http.p50Speedup}×)`,
    ]);
  }
  const burst = scenarios.burst?.summary;
  if (burst?.https_small) {
    const b = burst.https_small;
    rows.push([
      '100 concurrent: 15 s → 150 ms total',
      `${b.concurrent} concurrent, HTTPS, ${burst.upstreamLatencyMs} ms upstream: new connection each ${b.freshWallMs} ms, Node fetch ${b.nodeFetchWallMs} ms, ` +
        `poolscope (${burst.poolConnections} connections) ${b.poolscopeWallMs} ms cold / ${b.poolscopeWarmWallMs} ms warm`,
    ]);
  }
  if (burst?.https_large) {
    const s = burst.https_small;
    const b = burst.https_large;
    rows.push([
      'peak connections 100+ → 20',
      `${s.concurrent} concurrent: ${s.freshPeakSockets} (new connection each) / ${s.nodeFetchPeakSockets} (Node fetch) → ${s.poolscopePeakSockets} (poolscope); ` +
        `${b.concurrent} concurrent: ${b.freshPeakSockets} / ${b.nodeFetchPeakSockets} → ${b.poolscopePeakSockets}, ` +
        `in ${b.poolscopeWallMs} ms vs ${b.freshWallMs} / ${b.nodeFetchWallMs} ms`,
    ]);
  }
  const capped = scenarios.capped?.summary;
  if (capped?.https) {
    const c = capped.https;
    rows.push([
      '1000 requests / 60 s, max 100 connections: 78% → 100% success, 20 stable connections',
      `${capped.requests} requests / ${capped.windowMs / 1000} s (HTTPS): never-closed client per request ${pct(c.dropped.successRate)} ` +
        `(peak ${c.dropped.peakConnections}, ${c.dropped.refused} refused); new connection each ${pct(c.fresh.successRate)} (peak ${c.fresh.peakConnections}); ` +
        `Node fetch ${pct(c['node-fetch'].successRate)} (peak ${c['node-fetch'].peakConnections}); poolscope ${pct(c.poolscope.successRate)} (peak ${c.poolscope.peakConnections})`,
    ]);
  }
  return rows;
}

const pct = (rate) => `${Math.round(rate * 1000) / 10}%`;

function format(value) {
  if (Array.isArray(value)) return value.join('/');
  if (value && typeof value === 'object') return JSON.stringify(value);
  return String(value);
}

function table(headers, rows) {
  const cell = (value) => String(value ?? '').replace(/\|/g, '\\|');
  return [
    `| ${headers.map(cell).join(' | ')} |`,
    `| ${headers.map(() => '---').join(' | ')} |`,
    ...rows.map((row) => `| ${row.map(cell).join(' | ')} |`),
  ].join('\n');
}
