/** The static property of an error class that holds its brand; a `Symbol.for`, so every copy of poolscope reads it. */
export const kBrand = Symbol.for('poolscope.error.brand');

/**
 * Brands an error class with `Symbol.for('poolscope.error.<name>')`: on the class, for its `instanceof`, and on its
 * prototype, so every instance of it or of a subclass carries the brands of its whole class chain, whichever copy
 * of poolscope built it. `name` is spelled out rather than read from the class, which a bundler may rename.
 */
export function brand(errorClass: abstract new (...args: never[]) => Error, name: string): void {
  const symbol = Symbol.for(`poolscope.error.${name}`);
  Object.defineProperty(errorClass, kBrand, { value: symbol });
  Object.defineProperty(errorClass.prototype, symbol, { value: true });
}

/** The brand of `errorClass` itself, not one it inherits; `undefined` for a class that has none (a user's subclass). */
export function ownBrand(errorClass: object): symbol | undefined {
  const descriptor = Object.getOwnPropertyDescriptor(errorClass, kBrand);
  return typeof descriptor?.value === 'symbol' ? descriptor.value : undefined;
}
