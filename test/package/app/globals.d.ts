// The names the docs' snippets use without defining them: values the reader's own code has. run-snippet.mjs
// gives them these types' values at run time.
declare global {
  /** An `authorization` header value. */
  var authorization: string;
  /** The owner whose uploads a query selects. */
  var ownerId: string;
  /** Any SDK that takes a WHATWG fetch. */
  class SomeSdk {
    constructor(options: { fetch: typeof globalThis.fetch });
  }
  /** Any async work. */
  function sync(): Promise<void>;
}

export {};
