/** Plain WebDAV files under `/dav/<user>/files/` (store `files/`): nested collections, any bytes. */
import type { DavKind } from './kinds.js';

const MEDIA_TYPES: Record<string, string> = {
  txt: 'text/plain; charset=utf-8',
  md: 'text/markdown; charset=utf-8',
  json: 'application/json',
  html: 'text/html; charset=utf-8',
  pdf: 'application/pdf',
  png: 'image/png',
  jpg: 'image/jpeg',
  jpeg: 'image/jpeg',
};

export const filesKind: DavKind = {
  home: 'files',
  title: 'Files',
  layout: 'tree',
  maxMemberBytes: 16 * 1024 * 1024,
  mediaType: (name) => MEDIA_TYPES[name.slice(name.lastIndexOf('.') + 1).toLowerCase()] ?? 'application/octet-stream',
};
