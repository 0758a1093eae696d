/**
 * Which content type merges which path. Precedence: the most specific matching pattern wins
 * (see `Specificity`: literal segments, then `*.ext` segments, then `*`, then fewer `**`), so
 * apps can register in any order; among equally specific patterns the later registration wins,
 * and registering a pattern again replaces it. No match → `opaque`.
 */
import { neverThrowing, type ContentType, type DirectoryType } from './content-type.js';
import { opaqueType } from './opaque.js';
import { PathGlob, compareSpecificity } from './path-glob.js';

interface Rule {
  glob: PathGlob;
  type: ContentType;
}

export class MergeRegistry {
  /** In registration order. */
  #rules: Rule[] = [];
  #directories: { glob: PathGlob; type: DirectoryType }[] = [];

  /** A type that merges the files of each directory matching `pattern` together. */
  registerDirectory(pattern: string, type: DirectoryType): void {
    const glob = new PathGlob(pattern);
    this.#directories = this.#directories.filter((rule) => rule.glob.pattern !== pattern);
    this.#directories.push({ glob, type });
  }

  directoryTypeFor(path: string): DirectoryType | undefined {
    let best: { glob: PathGlob; type: DirectoryType } | undefined;
    for (const rule of this.#directories) {
      if (rule.glob.matches(path) && (best === undefined || compareSpecificity(rule.glob.specificity, best.glob.specificity) >= 0)) best = rule;
    }
    return best?.type;
  }

  /** Throws StoreError EINVAL on a malformed pattern. App types are guarded: a throw is a conflict. */
  register(pattern: string, type: ContentType): void {
    const glob = new PathGlob(pattern);
    this.#rules = this.#rules.filter((rule) => rule.glob.pattern !== pattern);
    this.#rules.push({ glob, type: neverThrowing(type) });
  }

  typeFor(path: string): ContentType {
    let best: Rule | undefined;
    for (const rule of this.#rules) {
      if (!rule.glob.matches(path)) continue;
      // `>=`: of equally specific patterns, the later registration wins.
      if (best === undefined || compareSpecificity(rule.glob.specificity, best.glob.specificity) >= 0) best = rule;
    }
    return best?.type ?? opaqueType;
  }
}
