/** Reading the docs as a user reads them: code blocks found by the heading they sit under, and relative links. */

/**
 * The first fenced code block in `language` under the heading whose text is `heading` (any level, `#` marks and
 * surrounding spaces ignored), before the next heading of the same or a higher level. Throws naming the heading
 * when there is none, so a renamed section fails loudly instead of testing nothing.
 */
export function codeBlockUnder(markdown: string, heading: string, language = 'ts'): string {
  let level = 0; // the matched heading's depth; 0 until it is found
  let fence: string | undefined; // the marker of the fenced block the line is in
  let block: string[] | undefined;
  for (const line of markdown.split('\n')) {
    if (fence !== undefined) {
      if (line.trimEnd() === fence) {
        if (block) return block.join('\n') + '\n';
        fence = undefined;
      } else {
        block?.push(line);
      }
      continue;
    }
    const open = /^(`{3,}|~{3,})\s*([\w-]*)/.exec(line);
    if (open) {
      fence = open[1];
      if (level > 0 && open[2] === language) block = [];
      continue;
    }
    const title = /^(#{1,6})\s+(.*?)\s*$/.exec(line);
    if (!title) continue;
    const depth = title[1]!.length;
    if (level > 0 && depth <= level) break;
    if (title[2] === heading) level = depth;
  }
  throw new Error(`no \`\`\`${language} block under the heading "${heading}"`);
}

/** Every relative link target (`[text](target)`, without its `#fragment`) outside fenced code. */
export function relativeLinks(markdown: string): string[] {
  const targets: string[] = [];
  let fenced = false;
  for (const line of markdown.split('\n')) {
    if (/^(`{3,}|~{3,})/.test(line)) fenced = !fenced;
    if (fenced) continue;
    for (const match of line.matchAll(/\]\(([^)\s]+)\)/g)) {
      const target = match[1]!.split('#')[0]!;
      if (target && !/^[a-z][a-z0-9+.-]*:/i.test(target)) targets.push(target);
    }
  }
  return targets;
}
