/**
 * Node's own global `fetch`, as an app that never heard of undici gets it. Node bundles its own undici; the
 * `undici` package (which poolscope uses) installs ITS Agent as the global dispatcher if it is imported
 * first, and Node's fetch would then run on it. So this module must be imported before anything that loads
 * `undici`: touching `Headers` loads Node's bundled undici, which registers its default Agent, and we keep
 * that Agent's class.
 *
 * The simulators' certificate is self-signed and Node 20 cannot add a CA to the running process
 * (NODE_EXTRA_CA_CERTS is read at start-up), so each variant installs a fresh bundled Agent with default
 * options plus `connect.ca`, and puts the previous one back afterwards. Only the trust differs from Node's
 * default; a fresh Agent also means no idle sockets carried over from an earlier variant.
 */
const SYMBOL = Symbol.for('undici.globalDispatcher.1');

void globalThis.Headers;
const NodeAgent = /** @type {new (options?: object) => { close(): Promise<void>, destroy(): Promise<void> }} */ (
  globalThis[SYMBOL]?.constructor
);

/** Node's bundled undici version (the one global fetch runs on). */
export const NODE_UNDICI_VERSION = process.versions.undici ?? 'unknown';

/** True when the captured Agent is not the given class (i.e. not the `undici` package's). */
export function isNodesOwnAgent(undiciAgentClass) {
  return NodeAgent !== undefined && NodeAgent !== undiciAgentClass;
}

/**
 * Points Node's global fetch at a fresh default Agent that trusts `ca`. Returns the function that restores
 * the previous dispatcher and closes this one (its sockets with it).
 * @param {string | undefined} ca
 */
export function useNodeDefaultFetch(ca) {
  if (!NodeAgent) throw new Error("Node's bundled fetch dispatcher was not found");
  const previous = globalThis[SYMBOL];
  const agent = new NodeAgent(ca ? { connect: { ca } } : {});
  globalThis[SYMBOL] = agent;
  return async () => {
    globalThis[SYMBOL] = previous;
    await agent.destroy().catch(() => undefined);
  };
}
