/**
 * Type-checks dashboard JSON against `@grafana/schema`'s `Dashboard` type with the TypeScript compiler: the JSON
 * becomes an object literal assigned to that type, so a missing required field, a misspelt one (excess property
 * checks) or a value of the wrong kind is a compile error. String enums (`ThresholdsMode`, `MappingType`...) are
 * compared by their values, which is what a JSON file holds.
 */
import { join } from 'node:path';
import ts from 'typescript';
import { REPO } from './assets.js';

const SOURCE = (json: string) => `import type { Dashboard } from '@grafana/schema';
type Json<T> = T extends string ? \`\${T}\` : T extends ReadonlyArray<infer U> ? Array<Json<U>> : T extends object ? { [K in keyof T]: Json<T[K]> } : T;
export const dashboard: Json<Dashboard> = ${json};
`;

/** The compiler's complaints about `json` as a `Dashboard`, one line each; empty when it type-checks. */
export function dashboardSchemaErrors(json: string): string[] {
  // A file the compiler reads from memory, placed in the repository so '@grafana/schema' resolves from node_modules.
  const file = join(REPO, 'test/operations/__dashboard_schema_check__.ts');
  const options: ts.CompilerOptions = {
    target: ts.ScriptTarget.ES2022,
    module: ts.ModuleKind.NodeNext,
    moduleResolution: ts.ModuleResolutionKind.NodeNext,
    strict: true,
    noEmit: true,
    skipLibCheck: true,
    types: [],
  };
  const host = ts.createCompilerHost(options);
  const text = SOURCE(json);
  const { getSourceFile, fileExists, readFile } = host;
  host.getSourceFile = (name, language, ...rest) =>
    name === file ? ts.createSourceFile(name, text, language) : getSourceFile.call(host, name, language, ...rest);
  host.fileExists = (name) => name === file || fileExists.call(host, name);
  host.readFile = (name) => (name === file ? text : readFile.call(host, name));
  const program = ts.createProgram([file], options, host);
  return ts
    .getPreEmitDiagnostics(program)
    .map((diagnostic) => ts.flattenDiagnosticMessageText(diagnostic.messageText, '\n'))
    .map((message) => message.replace(/\s+/g, ' '));
}
