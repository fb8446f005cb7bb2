// VS Code's `files.exclude` for one workspace folder: glob patterns (relative to the folder)
// mapped to true. Globs are turned into regular expressions here rather than by a glob
// library because none is a dependency of ours and the syntax files.exclude uses is small:
// `**`, `*`, `?`, `{a,b}` and `[…]`.

/** True for a path (relative to the folder, '/'-separated) that the folder's settings exclude. */
export type ExcludeTest = (relativePath: string) => boolean;

export const NOTHING_EXCLUDED: ExcludeTest = () => false;

function globToRegExp(glob: string): RegExp {
  let re = '';
  let braces = 0;
  for (let i = 0; i < glob.length; i++) {
    const c = glob[i];
    if (c === '*' && glob[i + 1] === '*') {
      // `**/` matches any number of folders, including none; a trailing `**` anything.
      const slash = glob[i + 2] === '/';
      re += slash ? '(?:[^/]*/)*' : '.*';
      i += slash ? 2 : 1;
    } else if (c === '*') re += '[^/]*';
    else if (c === '?') re += '[^/]';
    else if (c === '{') { braces++; re += '(?:'; }
    else if (c === '}' && braces) { braces--; re += ')'; }
    else if (c === ',' && braces) re += '|';
    else if (c === '[') {
      const end = glob.indexOf(']', i + 1);
      if (end < 0) { re += '\\['; continue; }
      re += `[${glob.slice(i + 1, end).replace(/^!/, '^').replace(/\\/g, '\\\\')}]`;
      i = end;
    } else re += c.replace(/[.+^$()|\\]/g, '\\$&');
  }
  return new RegExp(`^${re}$`);
}

/**
 * The test for one folder's `files.exclude` value. Only patterns set to `true` count: the
 * `{ "when": "$(basename).ts" }` form hides generated siblings of source files, never models.
 * A pattern that excludes a folder excludes everything in it, as in VS Code's explorer.
 */
export function excludeTest(setting: unknown): ExcludeTest {
  if (!setting || typeof setting !== 'object') return NOTHING_EXCLUDED;
  const res = Object.entries(setting as Record<string, unknown>)
    .filter(([glob, on]) => on === true && glob.length > 0)
    .map(([glob]) => globToRegExp(glob.replace(/^\.\//, '').replace(/\/+$/, '')));
  if (res.length === 0) return NOTHING_EXCLUDED;
  return (relativePath) => {
    const parts = relativePath.split('/');
    // The path itself or any folder above it.
    for (let n = 1; n <= parts.length; n++) {
      const prefix = parts.slice(0, n).join('/');
      if (res.some((r) => r.test(prefix))) return true;
    }
    return false;
  };
}
