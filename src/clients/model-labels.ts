/**
 * The `model` label of OpenAI metrics comes only from this allow-list of model families (longest prefix wins:
 * `gpt-4o-mini-2024-07-18` → `gpt-4o-mini`); anything else is `other`. Override with `OPENAI_MODELS`.
 */
export const DEFAULT_OPENAI_MODELS: readonly string[] = [
  'gpt-5',
  'gpt-5-mini',
  'gpt-5-nano',
  'gpt-4.1',
  'gpt-4.1-mini',
  'gpt-4.1-nano',
  'gpt-4o',
  'gpt-4o-mini',
  'gpt-4-turbo',
  'gpt-4',
  'gpt-3.5-turbo',
  'o1',
  'o1-mini',
  'o3',
  'o3-mini',
  'o4-mini',
  'text-embedding-3-small',
  'text-embedding-3-large',
  'text-embedding-ada-002',
  'omni-moderation-latest',
];

export const OTHER_MODEL = 'other';

export class ModelLabels {
  readonly #families: string[];
  readonly #cache = new Map<string, string>();

  constructor(families: readonly string[] = DEFAULT_OPENAI_MODELS) {
    this.#families = [...families].sort((a, b) => b.length - a.length);
  }

  labelFor(model: unknown): string {
    if (typeof model !== 'string' || model.length === 0 || model.length > 128) return OTHER_MODEL;
    const cached = this.#cache.get(model);
    if (cached) return cached;
    const family = this.#families.find((f) => model === f || model.startsWith(`${f}-`)) ?? OTHER_MODEL;
    // Only allow-listed inputs are remembered, so the cache is bounded like the labels.
    if (family !== OTHER_MODEL && this.#cache.size < 1_000) this.#cache.set(model, family);
    return family;
  }
}
