import { PoolscopeError, type ConnectionErrorReason, type FailureReason } from '../errors/index.js';
import { connectionErrorReason } from '../pool/failure.js';

/** pg-pool's message when a checkout waited `connectionTimeoutMillis` in the pool's queue. */
const ACQUIRE_TIMEOUT_MESSAGE = 'timeout exceeded when trying to connect';
/** pg-pool's message when a new connection took longer than `connectionTimeoutMillis` to establish. */
const CONNECT_TIMEOUT_MESSAGE = 'Connection terminated due to connection timeout';
const POOL_ENDED_MESSAGE = 'Cannot use a pool after calling end on the pool';

function messageOf(error: unknown): string {
  const message = (error as { message?: unknown } | null)?.message;
  return typeof message === 'string' ? message : '';
}

function sqlStateOf(error: unknown): string {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'string' && /^[0-9A-Z]{5}$/.test(code) ? code : '';
}

export function isPgAcquireTimeout(error: unknown): boolean {
  return messageOf(error) === ACQUIRE_TIMEOUT_MESSAGE;
}

export function isPgPoolEnded(error: unknown): boolean {
  return messageOf(error) === POOL_ENDED_MESSAGE;
}

/** The bounded `reason` of a failed database connection attempt (`poolscope_pool_connection_errors_total`). */
export function pgConnectionErrorReason(error: unknown): ConnectionErrorReason {
  const fromCode = connectionErrorReason(error);
  if (fromCode !== 'other') return fromCode;
  const message = messageOf(error);
  if (message === CONNECT_TIMEOUT_MESSAGE) return 'timeout';
  if (message === 'Connection terminated unexpectedly') return 'reset';
  // pg: "The server does not support SSL connections", "self-signed certificate"... (codes handled above).
  if (/\bSSL\b|\bTLS\b|certificate/i.test(message)) return 'tls';
  const cause = (error as { cause?: unknown } | null)?.cause;
  return cause !== undefined && cause !== error ? pgConnectionErrorReason(cause) : 'other';
}

/**
 * The bounded `reason` of a failed query or `run()`: `timeout` for a statement timeout (SQLSTATE 57014) or
 * pg's client-side `query_timeout`; a poolscope error's own reason; `other` for everything else (SQL errors,
 * a connection lost mid-query). Never the message or the SQL.
 */
export function pgFailureReason(error: unknown): FailureReason {
  if (error instanceof PoolscopeError) return error.reason ?? 'other';
  if (sqlStateOf(error) === '57014' || messageOf(error) === 'Query read timeout') return 'timeout';
  const name = (error as { name?: unknown } | null)?.name;
  if (name === 'AbortError') return 'aborted';
  return 'other';
}

/** First keywords of SQL that become operation labels; any other statement is `other`. */
const SQL_VERBS: ReadonlySet<string> = new Set([
  'select',
  'insert',
  'update',
  'delete',
  'merge',
  'with',
  'values',
  'table',
  'copy',
  'begin',
  'start',
  'commit',
  'end',
  'rollback',
  'abort',
  'savepoint',
  'release',
  'prepare',
  'execute',
  'deallocate',
  'set',
  'reset',
  'show',
  'discard',
  'explain',
  'analyze',
  'vacuum',
  'cluster',
  'reindex',
  'refresh',
  'checkpoint',
  'create',
  'alter',
  'drop',
  'truncate',
  'comment',
  'grant',
  'revoke',
  'lock',
  'call',
  'do',
  'listen',
  'unlisten',
  'notify',
  'declare',
  'fetch',
  'move',
  'close',
]);

/** The operation label of a SQL statement: its first keyword lowercased if allow-listed, else `other`. */
export function sqlVerb(text: string): string {
  let i = 0;
  // Skip whitespace, comments and opening parentheses: `/* app */ (SELECT ...)` is a select.
  for (;;) {
    while (i < text.length && (/\s/.test(text[i]!) || text[i] === '(')) i++;
    if (text.startsWith('--', i)) {
      const end = text.indexOf('\n', i);
      if (end === -1) return 'other';
      i = end + 1;
    } else if (text.startsWith('/*', i)) {
      const end = text.indexOf('*/', i + 2);
      if (end === -1) return 'other';
      i = end + 2;
    } else break;
  }
  const match = /^[A-Za-z]+/.exec(text.slice(i, i + 16));
  const verb = match ? match[0].toLowerCase() : '';
  return SQL_VERBS.has(verb) ? verb : 'other';
}
