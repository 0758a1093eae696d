/**
 * The XML of WebDAV bodies: parsed by saxes (namespace-aware, strict, no DTD processing) into
 * a small element tree, and written back by string building with escaping.
 *
 * Safety: a DOCTYPE is refused outright, so there are no entity definitions to expand (no
 * XXE, no billion laughs); only the five predefined entities and character references exist.
 * Depth, element count and text size are bounded, so a hostile body costs bounded memory.
 */
import { SaxesParser } from 'saxes';

export const DAV_NS = 'DAV:';
export const CALDAV_NS = 'urn:ietf:params:xml:ns:caldav';
export const CARDDAV_NS = 'urn:ietf:params:xml:ns:carddav';
export const CALSERVER_NS = 'http://calendarserver.org/ns/';
export const APPLE_NS = 'http://apple.com/ns/ical/';

export interface XmlElement {
  /** Namespace URI ('' when none). */
  ns: string;
  /** Local name. */
  name: string;
  /** Attributes without namespace by local name, others as `{uri}local`; xmlns declarations left out. */
  attrs: Map<string, string>;
  children: XmlElement[];
  /** The element's own text (its text children joined, CDATA included). */
  text: string;
}

export interface XmlLimits {
  maxDepth: number;
  maxElements: number;
  maxTextBytes: number;
}

export const DEFAULT_XML_LIMITS: XmlLimits = { maxDepth: 64, maxElements: 20_000, maxTextBytes: 1024 * 1024 };

export class XmlError extends Error {
  override name = 'XmlError';
}

/** Parses a document into its root element; throws XmlError for anything not well-formed or over the limits. */
export function parseXml(text: string, limits: XmlLimits = DEFAULT_XML_LIMITS): XmlElement {
  const parser = new SaxesParser({ xmlns: true, position: false });
  const stack: XmlElement[] = [];
  let root: XmlElement | undefined;
  let elements = 0;
  let textBytes = 0;
  let failure: Error | undefined;
  const fail = (message: string) => {
    failure ??= new XmlError(message);
  };
  parser.on('doctype', () => fail('a DOCTYPE is not allowed'));
  parser.on('error', (err) => fail(`malformed XML: ${err.message.split('\n')[0]!.slice(0, 160)}`));
  parser.on('opentag', (tag) => {
    if (failure !== undefined) return;
    if (++elements > limits.maxElements) return fail(`more than ${limits.maxElements} elements`);
    if (stack.length >= limits.maxDepth) return fail(`nested deeper than ${limits.maxDepth}`);
    const attrs = new Map<string, string>();
    for (const attr of Object.values(tag.attributes)) {
      if (typeof attr === 'string' || attr.prefix === 'xmlns' || attr.name === 'xmlns') continue;
      attrs.set(attr.uri === '' ? attr.local : `{${attr.uri}}${attr.local}`, attr.value);
    }
    const element: XmlElement = { ns: tag.uri ?? '', name: tag.local ?? tag.name, attrs, children: [], text: '' };
    if (stack.length === 0) root = element;
    else stack.at(-1)!.children.push(element);
    stack.push(element);
  });
  const onText = (text: string) => {
    if (failure !== undefined || stack.length === 0) return;
    textBytes += text.length;
    if (textBytes > limits.maxTextBytes) return fail(`more than ${limits.maxTextBytes} bytes of text`);
    stack.at(-1)!.text += text;
  };
  parser.on('text', onText);
  parser.on('cdata', onText);
  parser.on('closetag', () => {
    if (failure === undefined) stack.pop();
  });
  try {
    parser.write(text).close();
  } catch (err) {
    fail(`malformed XML: ${(err as Error).message.split('\n')[0]!.slice(0, 160)}`);
  }
  if (failure !== undefined) throw failure;
  if (root === undefined) throw new XmlError('no root element');
  return root;
}

/** `{ns}name`, the key elements are compared by. */
export function clark(ns: string, name: string): string {
  return `{${ns}}${name}`;
}

export function keyOf(element: { ns: string; name: string }): string {
  return clark(element.ns, element.name);
}

/** The first child with this namespace and name. */
export function child(element: XmlElement, ns: string, name: string): XmlElement | undefined {
  return element.children.find((c) => c.ns === ns && c.name === name);
}

export function children(element: XmlElement, ns: string, name: string): XmlElement[] {
  return element.children.filter((c) => c.ns === ns && c.name === name);
}

export function escapeXml(text: string): string {
  return text.replace(/[<>&"]/g, (c) => (c === '<' ? '&lt;' : c === '>' ? '&gt;' : c === '&' ? '&amp;' : '&quot;'));
}

/**
 * Writes an element back as XML that stands alone: its namespace and those its descendants and
 * attributes use are declared on it, so it can be stored and later embedded anywhere.
 */
export function serializeElement(element: XmlElement): string {
  const prefixes = new Map<string, string>();
  const prefixFor = (uri: string) => {
    let prefix = prefixes.get(uri);
    if (prefix === undefined) prefixes.set(uri, (prefix = `x${prefixes.size}`));
    return prefix;
  };
  const write = (e: XmlElement, top: boolean): string => {
    const tag = e.ns === '' ? e.name : `${prefixFor(e.ns)}:${e.name}`;
    let attrs = '';
    for (const [key, value] of e.attrs) {
      const match = /^\{(.*)\}(.*)$/.exec(key);
      const name = match === null ? key : match[1] === 'http://www.w3.org/XML/1998/namespace' ? `xml:${match[2]}` : `${prefixFor(match[1]!)}:${match[2]}`;
      attrs += ` ${name}="${escapeXml(value)}"`;
    }
    const inner = escapeXml(e.text) + e.children.map((c) => write(c, false)).join('');
    // Declarations go on the top element once every prefix is known (filled in below).
    return `<${tag}${top ? '\u0000' : ''}${attrs}${inner === '' ? '/>' : `>${inner}</${tag}>`}`;
  };
  const body = write(element, true);
  const declarations = [...prefixes].map(([uri, prefix]) => ` xmlns:${prefix}="${escapeXml(uri)}"`).join('');
  // An element in no namespace must not inherit a default namespace where it is embedded.
  return body.replace('\u0000', declarations + (element.ns === '' ? ' xmlns=""' : ''));
}
