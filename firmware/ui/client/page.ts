/** What a page of the UI is: a title for the navigation and a function that draws it. */
export interface PageContext {
  /** The signed-in user, and whether they own the device. */
  user: string;
  owner: boolean;
  /** `#/contacts/default/x?q=a` → ['default', 'x'] (decoded) and q=a. */
  path: string[];
  query: URLSearchParams;
  /** Moves to another page: `go('contacts', ['default', 'x'], { q: 'a' })`. */
  go(page: string, path?: string[], query?: Record<string, string>): void;
}

export interface Page {
  /** The hash route: `#/<name>/…`. */
  name: string;
  /** The navigation entry and the document title. */
  title: string;
  ownerOnly?: boolean;
  /** Draws into `view` (empty when called); errors thrown here are shown on the page. */
  render(view: HTMLElement, context: PageContext): Promise<void> | void;
}

/** The hash for a page: `href('contacts', ['default'])` → '#/contacts/default'. */
export function href(page: string, path: string[] = [], query: Record<string, string> = {}): string {
  const search = new URLSearchParams(query).toString();
  return `#/${[page, ...path].map(encodeURIComponent).join('/')}${search === '' ? '' : `?${search}`}`;
}
