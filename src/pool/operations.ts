/** Operation label values: declared names always pass; others are kept up to a cap, then fold into `other`. */
export const OTHER_OPERATION = 'other';
const OPERATION_PATTERN = /^[A-Za-z0-9_.:-]{1,64}$/;

export class OperationNames {
  readonly #declared: ReadonlySet<string>;
  readonly #discovered = new Set<string>();

  constructor(
    declared: readonly string[],
    private readonly maxDiscovered: number,
  ) {
    this.#declared = new Set(declared);
  }

  /** The label value to record `operation` under. */
  labelFor(operation: string): string {
    if (this.#declared.has(operation) || this.#discovered.has(operation)) return operation;
    // Anything that does not look like a name (spaces, slashes, ids in URLs) never becomes a label.
    if (!OPERATION_PATTERN.test(operation) || this.#discovered.size >= this.maxDiscovered) return OTHER_OPERATION;
    this.#discovered.add(operation);
    return operation;
  }
}
