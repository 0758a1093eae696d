/**
 * What an app plugs into the DAV server: one kind of collection living under one home of the
 * user's DAV space (`/dav/<user>/<home>/`, stored under `<home>/` in the user's store).
 * CalDAV and CardDAV are kinds (apps/calendar, apps/contacts); plain WebDAV files is a kind.
 */
import type { ServerResponse } from 'node:http';
import type { ContentType } from '../../store/index.js';
import type { Condition } from './errors.js';
import type { XmlElement } from './xml.js';

/** Dead properties of one resource: `{ns}name` → the property element as standalone XML. */
export type DeadProperties = Record<string, string>;

export interface ParsedMember {
  /** The UID a CalDAV/CardDAV object carries (unique within its collection). */
  readonly uid?: string;
}

/** A member of a collection as a report sees it: its name, blob id and parsed form. */
export interface IndexedMember<T> {
  name: string;
  id: string;
  /** Undefined when the stored bytes no longer parse (written by git or the REST API, say). */
  parsed: T | undefined;
}

export interface ReportContext<T> {
  res: ServerResponse;
  report: XmlElement;
  /** The collection's own dead properties (a calendar's calendar-timezone, say). */
  collection: DeadProperties;
  /** Every member of the collection, parsed (cached by blob id). */
  members(): IndexedMember<T>[];
}

export interface DavKind<T extends ParsedMember = ParsedMember> {
  /** The URL segment and store directory of the home, e.g. 'calendar'. */
  readonly home: string;
  /** The home's display name. */
  readonly title: string;
  /**
   * 'collections': the home holds typed collections, which hold members (CalDAV, CardDAV);
   * 'tree': collections nest freely and hold any bytes (WebDAV).
   */
  readonly layout: 'collections' | 'tree';
  /** The resourcetype of this kind's collections besides DAV:collection (C:calendar). */
  readonly collectionType?: Condition;
  /** The principal property naming this home (C:calendar-home-set). */
  readonly homeSet?: Condition;
  /** Made with the home on first use, so clients find something to sync. */
  readonly defaultCollection?: { name: string; displayName: string };
  /** Methods besides MKCOL that make a collection of this kind (MKCALENDAR). */
  readonly makeCollectionMethods?: readonly string[];
  /** Largest member body; a typed collection shows it as max-resource-size in its namespace. */
  readonly maxMemberBytes: number;
  /**
   * Media types a member may be PUT as, and the precondition a request with another
   * Content-Type fails (415 C:supported-calendar-data); absent: any type.
   */
  readonly memberTypes?: { types: readonly string[]; condition: Condition };
  /** The Content-Type of a member. */
  mediaType(name: string): string;
  /**
   * Checks a member body before it is stored and returns its parsed form (kept in the index
   * by blob id); throws DavError with the precondition the protocol names. Absent: any bytes.
   */
  parse?(bytes: Buffer, collection: DeadProperties): T;
  /** Precondition element for a second member with the same UID (C:no-uid-conflict). */
  readonly uidConflict?: Condition;
  /** The root element of this kind's multiget report (C:calendar-multiget). */
  readonly multiget?: Condition;
  /** The property that carries a member's data in reports (C:calendar-data). */
  readonly dataProperty?: Condition;
  /**
   * A member's data as a report asked for it (`asked` is the data property element, e.g. a
   * calendar-data with an expand); absent or undefined: the stored text as it is.
   */
  renderData?(bytes: Buffer, asked: XmlElement): string | undefined;
  /** Live properties of this kind's collections: `{ns}name` → inner XML (may read dead props). */
  collectionProperties?(dead: DeadProperties): Record<string, string>;
  /** Reports besides sync-collection and multiget, by `{ns}name` of their root element. */
  readonly reports?: Record<string, (context: ReportContext<T>) => ReportOutcome<T>>;
  /** Merge types for this home's files, pattern → type (registered in each user's store). */
  readonly mergeTypes?: readonly [string, ContentType][];
}

/** A report answers with members and the properties asked for, or writes its own body. */
export type ReportOutcome<T> = { members: IndexedMember<T>[]; prop: XmlElement | undefined } | { handled: true };
