/**
 * CARDDAV:filter of addressbook-query (RFC 6352 §10.5): which vCards a REPORT returns.
 *
 * A filter is compiled before any card is seen, so an unsupported one is refused the same way
 * whatever the collection holds. Semantics, where the RFC leaves room:
 * - no prop-filter matches every card;
 * - a prop-filter with tests matches when one property of that name passes them (anyof or
 *   allof over its text-matches and param-filters), so an allof never mixes two EMAILs;
 *   is-not-defined, when present, is its only test;
 * - a text-match compares the property's unescaped value (`Doe;John;;;` for N), negated
 *   after matching, so a negated test still needs the property to exist;
 * - a param-filter's text-match holds when any of the parameter's values matches (negated:
 *   when none does), and needs the parameter to exist.
 * Names compare case-insensitively; a prop-filter name may carry a group (`item1.EMAIL`).
 */
import { CARDDAV_NS, children, type XmlElement } from '../../http/dav/xml.js';
import { unescapeValue, type VCard, type VCardProperty } from './vcard.js';

export type FilterPrecondition = 'supported-filter' | 'supported-collation';

/** A filter this server cannot run; `precondition` is the CARDDAV error element to answer with. */
export class UnsupportedFilter extends Error {
  override name = 'UnsupportedFilter';
  constructor(
    readonly precondition: FilterPrecondition,
    message: string,
  ) {
    super(message);
  }
}

export type AddressbookFilter = (card: VCard) => boolean;

type Test = 'anyof' | 'allof';
type TextTest = (text: string) => boolean;

/** Case folding of each collation RFC 6352 §8.3 names. */
const COLLATIONS: Record<string, (text: string) => string> = {
  'i;unicode-casemap': (text) => text.toUpperCase().toLowerCase().normalize('NFKD'),
  'i;ascii-casemap': (text) => text.replace(/[A-Z]+/g, (letters) => letters.toLowerCase()),
  'i;octet': (text) => text,
};

const MATCH_TYPES: Record<string, (text: string, wanted: string) => boolean> = {
  equals: (text, wanted) => text === wanted,
  contains: (text, wanted) => text.includes(wanted),
  'starts-with': (text, wanted) => text.startsWith(wanted),
  'ends-with': (text, wanted) => text.endsWith(wanted),
};

/** Compiles a CARDDAV:filter element; throws UnsupportedFilter for what it cannot run. */
export function compileAddressbookFilter(filter: XmlElement): AddressbookFilter {
  if (filter.ns !== CARDDAV_NS || filter.name !== 'filter') throw new UnsupportedFilter('supported-filter', `expected CARDDAV:filter, got ${filter.name}`);
  rejectUnknown(filter, ['prop-filter']);
  const test = testOf(filter);
  const propFilters = children(filter, CARDDAV_NS, 'prop-filter').map(compilePropFilter);
  return propFilters.length === 0 ? () => true : combine(test, propFilters);
}

export function matchesAddressbookFilter(card: VCard, filter: XmlElement): boolean {
  return compileAddressbookFilter(filter)(card);
}

function compilePropFilter(element: XmlElement): AddressbookFilter {
  rejectUnknown(element, ['is-not-defined', 'text-match', 'param-filter']);
  const name = requiredName(element);
  const test = testOf(element);
  const named = (card: VCard) => card.properties.filter((p) => p.name === name || (p.group !== undefined && `${p.group}.${p.name}` === name));
  if (children(element, CARDDAV_NS, 'is-not-defined').length > 0) return (card) => named(card).length === 0;
  const tests = [
    ...children(element, CARDDAV_NS, 'text-match').map((match) => {
      const matchesText = compileTextMatch(match);
      return (p: VCardProperty) => matchesText(unescapeValue(p.value));
    }),
    ...children(element, CARDDAV_NS, 'param-filter').map(compileParamFilter),
  ];
  if (tests.length === 0) return (card) => named(card).length > 0;
  const passes = combine(test, tests);
  return (card) => named(card).some(passes);
}

function compileParamFilter(element: XmlElement): (property: VCardProperty) => boolean {
  rejectUnknown(element, ['is-not-defined', 'text-match']);
  const name = requiredName(element);
  if (children(element, CARDDAV_NS, 'is-not-defined').length > 0) return (p) => !p.params.has(name);
  const [match, extra] = children(element, CARDDAV_NS, 'text-match');
  if (extra !== undefined) throw new UnsupportedFilter('supported-filter', `param-filter ${name} has more than one text-match`);
  if (match === undefined) return (p) => p.params.has(name);
  const { matches, negate } = compileTextCondition(match);
  return (p) => {
    const values = p.params.get(name);
    return values !== undefined && values.some(matches) !== negate;
  };
}

function compileTextMatch(element: XmlElement): TextTest {
  const { matches, negate } = compileTextCondition(element);
  return (text) => matches(text) !== negate;
}

/** A text-match's comparison, and whether its result is to be negated. */
function compileTextCondition(element: XmlElement): { matches: TextTest; negate: boolean } {
  const collation = element.attrs.get('collation') ?? 'i;unicode-casemap';
  const matchType = element.attrs.get('match-type') ?? 'contains';
  const negateCondition = element.attrs.get('negate-condition') ?? 'no';
  const fold = Object.hasOwn(COLLATIONS, collation) ? COLLATIONS[collation]! : undefined;
  if (fold === undefined) throw new UnsupportedFilter('supported-collation', `collation ${collation.slice(0, 60)} is not supported`);
  const compare = Object.hasOwn(MATCH_TYPES, matchType) ? MATCH_TYPES[matchType]! : undefined;
  if (compare === undefined) throw new UnsupportedFilter('supported-filter', `match-type ${matchType.slice(0, 60)} is not supported`);
  if (negateCondition !== 'yes' && negateCondition !== 'no') throw new UnsupportedFilter('supported-filter', 'negate-condition must be yes or no');
  const wanted = fold(element.text);
  return { matches: (text) => compare(fold(text), wanted), negate: negateCondition === 'yes' };
}

function combine<T>(test: Test, tests: ((item: T) => boolean)[]): (item: T) => boolean {
  return test === 'allof' ? (item) => tests.every((t) => t(item)) : (item) => tests.some((t) => t(item));
}

function testOf(element: XmlElement): Test {
  const test = element.attrs.get('test') ?? 'anyof';
  if (test !== 'anyof' && test !== 'allof') throw new UnsupportedFilter('supported-filter', `test must be anyof or allof, not ${test.slice(0, 60)}`);
  return test;
}

function requiredName(element: XmlElement): string {
  const name = element.attrs.get('name');
  if (name === undefined || name === '') throw new UnsupportedFilter('supported-filter', `${element.name} without a name`);
  return name.toUpperCase();
}

/** Unknown CARDDAV elements are refused rather than ignored: ignoring one would widen the result. */
function rejectUnknown(element: XmlElement, allowed: string[]): void {
  const unknown = element.children.find((c) => c.ns === CARDDAV_NS && !allowed.includes(c.name));
  if (unknown !== undefined) throw new UnsupportedFilter('supported-filter', `${unknown.name} is not supported in ${element.name}`);
}
