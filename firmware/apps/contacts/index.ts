/**
 * The contacts app: CardDAV (RFC 6352) as a kind of the DAV server. Address books are
 * `contacts/<book>/` in the user's store, cards `contacts/<book>/<name>.vcf` (vCard 3.0 or 4.0),
 * checked before they are stored and parsed once per blob id for addressbook-query.
 */
import { CARDDAV_NS, child, DavError, queryOutcome, type DavKind } from '../../http/dav/index.js';
import { jsonType, vobjectType } from '../../store/index.js';
import { compileAddressbookFilter, UnsupportedFilter } from './filter.js';
import { InvalidVCard, parseVCard, type VCard } from './vcard.js';

export { InvalidVCard, parseVCard, unescapeValue, type VCard, type VCardProperty } from './vcard.js';

const MAX_CARD_BYTES = 4 * 1024 * 1024;

export const contactsKind: DavKind<VCard> = {
  home: 'contacts',
  title: 'Address books',
  layout: 'collections',
  collectionType: { ns: CARDDAV_NS, name: 'addressbook' },
  homeSet: { ns: CARDDAV_NS, name: 'addressbook-home-set' },
  defaultCollection: { name: 'default', displayName: 'Contacts' },
  maxMemberBytes: MAX_CARD_BYTES,
  mediaType: () => 'text/vcard; charset=utf-8',
  memberTypes: { types: ['text/vcard', 'text/x-vcard', 'text/directory'], condition: { ns: CARDDAV_NS, name: 'supported-address-data' } },
  parse(bytes) {
    try {
      return parseVCard(bytes);
    } catch (err) {
      if (err instanceof InvalidVCard) throw new DavError(403, err.message, { ns: CARDDAV_NS, name: err.precondition });
      throw err;
    }
  },
  uidConflict: { ns: CARDDAV_NS, name: 'no-uid-conflict' },
  multiget: { ns: CARDDAV_NS, name: 'addressbook-multiget' },
  dataProperty: { ns: CARDDAV_NS, name: 'address-data' },
  collectionProperties: () => ({
    [`{${CARDDAV_NS}}supported-address-data`]: '<CR:address-data-type content-type="text/vcard" version="3.0"/><CR:address-data-type content-type="text/vcard" version="4.0"/>',
  }),
  reports: {
    [`{${CARDDAV_NS}}addressbook-query`]: ({ report, members }) => {
      const filter = child(report, CARDDAV_NS, 'filter');
      if (filter === undefined) throw new DavError(400, 'addressbook-query needs a filter', { ns: CARDDAV_NS, name: 'valid-filter' });
      try {
        const matches = compileAddressbookFilter(filter);
        const outcome = queryOutcome(members(), report, (m) => m.parsed !== undefined && matches(m.parsed));
        // RFC 6352 §8.6.1: a client may ask for at most N results.
        const limit = Number(child(child(report, CARDDAV_NS, 'limit') ?? report, CARDDAV_NS, 'nresults')?.text.trim());
        return Number.isInteger(limit) && limit > 0 ? { ...outcome, members: outcome.members.slice(0, limit) } : outcome;
      } catch (err) {
        if (err instanceof UnsupportedFilter) throw new DavError(403, err.message, { ns: CARDDAV_NS, name: err.precondition });
        throw err;
      }
    },
  },
  mergeTypes: [
    ['contacts/*/*', vobjectType],
    ['contacts/*/.props.json', jsonType],
  ],
};
