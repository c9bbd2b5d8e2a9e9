/**
 * The peer a metrics-minded user reaches for instead of poolscope: OpenTelemetry's undici instrumentation
 * (a span per request and the `http.client.request.duration` histogram), wired to real SDK providers whose
 * exporters drop what they are given, so the cost measured is recording, not shipping.
 */
import { UndiciInstrumentation } from '@opentelemetry/instrumentation-undici';
import { MeterProvider, PeriodicExportingMetricReader, AggregationTemporality } from '@opentelemetry/sdk-metrics';
import { BasicTracerProvider, BatchSpanProcessor } from '@opentelemetry/sdk-trace-base';

export function otelUndici() {
  let spans = 0;
  const spanExporter = {
    export(batch, done) {
      spans += batch.length;
      done({ code: 0 });
    },
    shutdown: async () => undefined,
    forceFlush: async () => undefined,
  };
  const metricExporter = {
    export(_metrics, done) {
      done({ code: 0 });
    },
    selectAggregationTemporality: () => AggregationTemporality.CUMULATIVE,
    shutdown: async () => undefined,
    forceFlush: async () => undefined,
  };
  const reader = new PeriodicExportingMetricReader({ exporter: metricExporter, exportIntervalMillis: 60_000 });
  const tracerProvider = new BasicTracerProvider({ spanProcessors: [new BatchSpanProcessor(spanExporter)] });
  const meterProvider = new MeterProvider({ readers: [reader] });
  // Constructed enabled (with `enabled: false` it never records, even once enabled), then off until a round of
  // its own: diagnostics_channel subscribers see every undici request in the process.
  const instrumentation = new UndiciInstrumentation();
  instrumentation.setTracerProvider(tracerProvider);
  instrumentation.setMeterProvider(meterProvider);
  instrumentation.disable();
  let enabled = false;
  return {
    enable() {
      if (!enabled) instrumentation.enable();
      enabled = true;
    },
    disable() {
      if (enabled) instrumentation.disable();
      enabled = false;
    },
    /** Spans exported so far: proof the peer really recorded the requests it is measured on. */
    async exportedSpans() {
      await tracerProvider.forceFlush();
      return spans;
    },
    async shutdown() {
      this.disable();
      await tracerProvider.shutdown();
      await meterProvider.shutdown();
    },
  };
}
