/**
 * Routes by method and path. A route matches an exact path or, when it ends in `/*`, every
 * path below a prefix; the longest match wins, so apps can mount under /dav, /git, /api.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';

export type Handler = (req: IncomingMessage, res: ServerResponse, url: URL) => void | Promise<void>;

interface Route {
  methods: ReadonlySet<string>;
  path: string;
  prefix: boolean;
  handler: Handler;
}

export type RouteMatch = { handler: Handler } | { allowed: string[] } | undefined;

export class Router {
  private readonly routes: Route[] = [];

  /** `path` is exact, or a prefix when it ends with `/*` (matching the prefix itself too). */
  add(methods: string | readonly string[], path: string, handler: Handler): void {
    const list = typeof methods === 'string' ? [methods] : methods;
    const prefix = path.endsWith('/*');
    this.routes.push({
      methods: new Set(list.map((m) => m.toUpperCase())),
      path: prefix ? path.slice(0, -2) : path,
      prefix,
      handler,
    });
    // Longest paths first, so the most specific route is found first.
    this.routes.sort((a, b) => b.path.length - a.path.length);
  }

  /** The handler for a request, or the methods the path allows (for 405), or nothing (404). */
  match(method: string, pathname: string): RouteMatch {
    const candidates = this.routes.filter((r) =>
      r.prefix ? pathname === r.path || pathname.startsWith(r.path + '/') : pathname === r.path,
    );
    if (candidates.length === 0) return undefined;
    const best = candidates.filter((r) => r.path.length === candidates[0]!.path.length);
    const route = best.find((r) => r.methods.has(method) || (method === 'HEAD' && r.methods.has('GET')));
    if (route !== undefined) return { handler: route.handler };
    return { allowed: [...new Set(best.flatMap((r) => [...r.methods]))].sort() };
  }
}
