/* DNS message parse/serialize core (RFC 1035 with the bounds of RFC 9267); see dnswire_core.h.
 * twin.ts is the same algorithm in JS: keep every check, and its order, the same in both. */
#include "dnswire_core.h"

#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char *dnswire_error_code(dnswire_error error) {
  switch (error) {
    case DNSWIRE_OK: return NULL;
    case DNSWIRE_ERR_SHORT: return "ERR_DNS_SHORT";
    case DNSWIRE_ERR_TRAILING: return "ERR_DNS_TRAILING";
    case DNSWIRE_ERR_LABEL: return "ERR_DNS_LABEL";
    case DNSWIRE_ERR_NAME_LENGTH: return "ERR_DNS_NAME_LENGTH";
    case DNSWIRE_ERR_POINTER: return "ERR_DNS_POINTER";
    case DNSWIRE_ERR_RDATA: return "ERR_DNS_RDATA";
    case DNSWIRE_ERR_NAME_SYNTAX: return "ERR_DNS_NAME_SYNTAX";
    case DNSWIRE_ERR_VALUE: return "ERR_DNS_VALUE";
    case DNSWIRE_ERR_TOO_LARGE: return "ERR_DNS_TOO_LARGE";
    case DNSWIRE_ERR_NO_MEMORY: return "ERR_DNS_NO_MEMORY";
  }
  return "ERR_DNS_NO_MEMORY";
}

/* ---- RDATA layouts -------------------------------------------------------------------- */

/* RDATA is a sequence of these fields; a layout ends with a zero kind. */
typedef enum { FIELD_END = 0, FIELD_FIXED, FIELD_NAME, FIELD_STRING } field_kind;

typedef struct {
  uint8_t kind;
  uint8_t bytes; /* FIELD_FIXED only */
} rdata_field;

static const rdata_field layout_name[] = {{FIELD_NAME, 0}, {FIELD_END, 0}};
static const rdata_field layout_two_names[] = {{FIELD_NAME, 0}, {FIELD_NAME, 0}, {FIELD_END, 0}};
static const rdata_field layout_soa[] = {{FIELD_NAME, 0}, {FIELD_NAME, 0}, {FIELD_FIXED, 20}, {FIELD_END, 0}};
static const rdata_field layout_u16_name[] = {{FIELD_FIXED, 2}, {FIELD_NAME, 0}, {FIELD_END, 0}};
static const rdata_field layout_px[] = {{FIELD_FIXED, 2}, {FIELD_NAME, 0}, {FIELD_NAME, 0}, {FIELD_END, 0}};
static const rdata_field layout_srv[] = {{FIELD_FIXED, 6}, {FIELD_NAME, 0}, {FIELD_END, 0}};
static const rdata_field layout_naptr[] = {{FIELD_FIXED, 4},  {FIELD_STRING, 0}, {FIELD_STRING, 0},
                                           {FIELD_STRING, 0}, {FIELD_NAME, 0},   {FIELD_END, 0}};
static const rdata_field layout_a[] = {{FIELD_FIXED, 4}, {FIELD_END, 0}};
static const rdata_field layout_aaaa[] = {{FIELD_FIXED, 16}, {FIELD_END, 0}};

/* What decode checks (and expands the names of): the types binding.ts lists, plus A and AAAA.
 * NULL: opaque RDATA, copied as it is. */
static const rdata_field *decode_layout(uint16_t type) {
  switch (type) {
    case 1: return layout_a;
    case 28: return layout_aaaa;
    case 2:  /* NS */
    case 3:  /* MD */
    case 4:  /* MF */
    case 5:  /* CNAME */
    case 7:  /* MB */
    case 8:  /* MG */
    case 9:  /* MR */
    case 12: /* PTR */
    case 39: /* DNAME */
      return layout_name;
    case 14: /* MINFO */
    case 17: /* RP */
      return layout_two_names;
    case 6: return layout_soa;
    case 15: /* MX */
    case 18: /* AFSDB */
    case 21: /* RT */
    case 36: /* KX */
      return layout_u16_name;
    case 26: return layout_px;
    case 33: return layout_srv;
    case 35: return layout_naptr;
    default: return NULL;
  }
}

/* Types whose RDATA names encode compresses (RFC 1035's own; RFC 3597 forbids more). */
static const rdata_field *encode_layout(uint16_t type) {
  switch (type) {
    case 2:  /* NS */
    case 5:  /* CNAME */
    case 12: /* PTR */
      return layout_name;
    case 15: return layout_u16_name; /* MX */
    case 6: return layout_soa;
    default: return NULL;
  }
}

/* ---- decode ------------------------------------------------------------------------------ */

typedef struct {
  const uint8_t *wire;
  size_t length;
  dnswire_message *message;
} decoder;

static dnswire_error fail(dnswire_message *message, dnswire_error error, const char *format, ...) {
  va_list args;
  va_start(args, format);
  vsnprintf(message->error_detail, sizeof message->error_detail, format, args);
  va_end(args);
  return error;
}

static uint16_t load_u16(const uint8_t *bytes) {
  return (uint16_t)((bytes[0] << 8) | bytes[1]);
}

static uint32_t load_u32(const uint8_t *bytes) {
  return ((uint32_t)bytes[0] << 24) | ((uint32_t)bytes[1] << 16) | ((uint32_t)bytes[2] << 8) | bytes[3];
}

/* Grows *buffer so that `needed` bytes fit; doubling keeps appends amortised O(1). */
static bool reserve(void **buffer, size_t *capacity, size_t needed, size_t item_size) {
  if (needed <= *capacity) return true;
  size_t wanted = *capacity < 64 ? 64 : *capacity;
  while (wanted < needed) wanted *= 2;
  void *grown = realloc(*buffer, wanted * item_size);
  if (grown == NULL) return false;
  *buffer = grown;
  *capacity = wanted;
  return true;
}

static bool append_rdata(dnswire_message *message, const uint8_t *bytes, size_t length) {
  if (length == 0) return true;
  if (!reserve((void **)&message->rdata, &message->rdata_capacity, message->rdata_length + length, 1)) {
    return false;
  }
  memcpy(message->rdata + message->rdata_length, bytes, length);
  message->rdata_length += length;
  return true;
}

/*
 * Reads the possibly compressed name at `at` into `out` (uncompressed). Until the first
 * pointer the name must end before `bound`, else `overrun` (ERR_DNS_SHORT in the message body,
 * ERR_DNS_RDATA inside RDATA); *next is then where the name ends there. Each pointer must
 * point strictly before where the labels that lead to it began (the name's start, then the
 * previous pointer's target) and not into the header: offsets only go down, so no loops.
 */
static dnswire_error read_name(const decoder *d, size_t at, size_t bound, dnswire_error overrun,
                               uint8_t out[DNSWIRE_MAX_NAME], size_t *out_length, size_t *next) {
  const uint8_t *wire = d->wire;
  const size_t start = at;
  size_t limit = at;
  size_t written = 0;
  bool jumped = false;
  for (;;) {
    if (at >= bound) goto overrun;
    uint8_t length = wire[at];
    if ((length & 0xc0) == 0xc0) {
      if (at + 1 >= bound) goto overrun;
      size_t target = (size_t)(length & 0x3f) << 8 | wire[at + 1];
      if (target >= limit || target < DNSWIRE_HEADER_BYTES) {
        return fail(d->message, DNSWIRE_ERR_POINTER,
                    "name at offset %zu has a compression pointer that does not point back", start);
      }
      if (!jumped) {
        *next = at + 2;
        jumped = true;
        /* Past the first pointer the name is elsewhere in the message. */
        bound = d->length;
        overrun = DNSWIRE_ERR_SHORT;
      }
      limit = target;
      at = target;
      continue;
    }
    if (length & 0xc0) {
      return fail(d->message, DNSWIRE_ERR_LABEL, "name at offset %zu has a reserved label type", start);
    }
    if (length == 0) {
      out[written++] = 0;
      if (!jumped) *next = at + 1;
      *out_length = written;
      return DNSWIRE_OK;
    }
    if (bound - at - 1 < length) goto overrun;
    /* This label and the root byte still to come must fit in 255. */
    if (written + 1 + length + 1 > DNSWIRE_MAX_NAME) {
      return fail(d->message, DNSWIRE_ERR_NAME_LENGTH, "name at offset %zu is over 255 bytes", start);
    }
    memcpy(out + written, wire + at, 1 + (size_t)length);
    written += 1 + (size_t)length;
    at += 1 + (size_t)length;
  }
overrun:
  return fail(d->message, overrun,
              overrun == DNSWIRE_ERR_RDATA ? "name at offset %zu runs past its RDATA"
                                           : "name at offset %zu runs past the end of the message",
              start);
}

/* Appends the RDATA at [at, end) to the rdata arena, names uncompressed, checking its layout. */
static dnswire_error read_rdata(const decoder *d, uint16_t type, size_t record, size_t at, size_t end) {
  dnswire_message *message = d->message;
  const rdata_field *field = decode_layout(type);
  if (field == NULL) {
    if (!append_rdata(message, d->wire + at, end - at)) return DNSWIRE_ERR_NO_MEMORY;
    return DNSWIRE_OK;
  }
  for (; field->kind != FIELD_END; field++) {
    if (field->kind == FIELD_NAME) {
      uint8_t name[DNSWIRE_MAX_NAME];
      size_t name_length = 0;
      dnswire_error error = read_name(d, at, end, DNSWIRE_ERR_RDATA, name, &name_length, &at);
      if (error != DNSWIRE_OK) return error;
      if (!append_rdata(message, name, name_length)) return DNSWIRE_ERR_NO_MEMORY;
      continue;
    }
    size_t bytes = field->bytes;
    if (field->kind == FIELD_STRING) bytes = at < end ? 1 + (size_t)d->wire[at] : 1;
    if (end - at < bytes) break;
    if (!append_rdata(message, d->wire + at, bytes)) return DNSWIRE_ERR_NO_MEMORY;
    at += bytes;
  }
  if (field->kind != FIELD_END || at != end) {
    return fail(message, DNSWIRE_ERR_RDATA, "RDATA of the record at offset %zu does not match its type",
                record);
  }
  return DNSWIRE_OK;
}

void dnswire_message_free(dnswire_message *message) {
  free(message->entries);
  free(message->names);
  free(message->rdata);
  memset(message, 0, sizeof *message);
}

dnswire_error dnswire_decode(const uint8_t *wire, size_t length, dnswire_message *message) {
  decoder d = {wire, length, message};
  message->names_length = 0;
  message->rdata_length = 0;
  message->error_detail[0] = '\0';
  memset(message->counts, 0, sizeof message->counts);
  if (length > DNSWIRE_MAX_MESSAGE) {
    return fail(message, DNSWIRE_ERR_TOO_LARGE, "message over 65535 bytes");
  }
  if (length < DNSWIRE_HEADER_BYTES) {
    return fail(message, DNSWIRE_ERR_SHORT, "message shorter than its 12-byte header");
  }
  uint16_t counts[DNSWIRE_SECTIONS];
  size_t total = 0;
  for (int section = 0; section < DNSWIRE_SECTIONS; section++) {
    counts[section] = load_u16(wire + 4 + 2 * section);
    total += counts[section];
  }
  /* A question takes at least 5 bytes (root name, type, class), a record 11: refuse counts the
   * message cannot hold before allocating anything for them. */
  size_t least = (size_t)counts[0] * 5 + (total - counts[0]) * 11;
  if (least > length - DNSWIRE_HEADER_BYTES) {
    return fail(message, DNSWIRE_ERR_SHORT, "section counts need more bytes than the message has");
  }
  /* At least one of each, so that callers never see NULL arenas (NULL + 0 is undefined). */
  if (!reserve((void **)&message->entries, &message->entries_capacity, total + 1, sizeof(dnswire_entry)) ||
      !reserve((void **)&message->rdata, &message->rdata_capacity, 1, 1)) {
    return DNSWIRE_ERR_NO_MEMORY;
  }

  size_t at = DNSWIRE_HEADER_BYTES;
  size_t index = 0;
  for (int section = 0; section < DNSWIRE_SECTIONS; section++) {
    for (size_t i = 0; i < counts[section]; i++, index++) {
      dnswire_entry *entry = &message->entries[index];
      const size_t start = at;
      if (!reserve((void **)&message->names, &message->names_capacity,
                   message->names_length + DNSWIRE_MAX_NAME, 1)) {
        return DNSWIRE_ERR_NO_MEMORY;
      }
      size_t name_length = 0;
      dnswire_error error = read_name(&d, at, length, DNSWIRE_ERR_SHORT,
                                      message->names + message->names_length, &name_length, &at);
      if (error != DNSWIRE_OK) return error;
      entry->name = (uint32_t)message->names_length;
      entry->name_length = (uint32_t)name_length;
      message->names_length += name_length;

      if (section == DNSWIRE_QUESTION) {
        if (length - at < 4) return fail(message, DNSWIRE_ERR_SHORT, "question at offset %zu is cut short", start);
        entry->type = load_u16(wire + at);
        entry->klass = load_u16(wire + at + 2);
        entry->ttl = 0;
        entry->data = (uint32_t)message->rdata_length;
        entry->data_length = 0;
        at += 4;
        continue;
      }
      if (length - at < 10) return fail(message, DNSWIRE_ERR_SHORT, "record at offset %zu is cut short", start);
      entry->type = load_u16(wire + at);
      entry->klass = load_u16(wire + at + 2);
      entry->ttl = load_u32(wire + at + 4);
      size_t rdlength = load_u16(wire + at + 8);
      at += 10;
      if (length - at < rdlength) {
        return fail(message, DNSWIRE_ERR_SHORT,
                    "RDATA of the record at offset %zu runs past the end of the message", start);
      }
      entry->data = (uint32_t)message->rdata_length;
      error = read_rdata(&d, entry->type, start, at, at + rdlength);
      if (error != DNSWIRE_OK) return error;
      entry->data_length = (uint32_t)(message->rdata_length - entry->data);
      at += rdlength;
    }
  }
  if (at != length) {
    return fail(message, DNSWIRE_ERR_TRAILING, "%zu bytes after the last record", length - at);
  }
  message->id = load_u16(wire);
  message->flags = load_u16(wire + 2);
  memcpy(message->counts, counts, sizeof counts);
  return DNSWIRE_OK;
}

/* ---- names in presentation form ----------------------------------------------------------- */

/* Printable bytes that still get a backslash, as in master files: . \ " ( ) ; @ $ */
static bool needs_backslash(uint8_t byte) {
  return byte == '.' || byte == '\\' || byte == '"' || byte == '(' || byte == ')' || byte == ';' ||
         byte == '@' || byte == '$';
}

size_t dnswire_name_to_text(const uint8_t *wire, char text[DNSWIRE_MAX_NAME_TEXT]) {
  size_t written = 0;
  for (size_t at = 0; wire[at] != 0; at += 1 + (size_t)wire[at]) {
    for (size_t i = at + 1; i <= at + wire[at]; i++) {
      uint8_t byte = wire[i];
      if (byte >= 0x21 && byte <= 0x7e) {
        if (needs_backslash(byte)) text[written++] = '\\';
        text[written++] = (char)byte;
      } else {
        text[written++] = '\\';
        text[written++] = (char)('0' + byte / 100);
        text[written++] = (char)('0' + byte / 10 % 10);
        text[written++] = (char)('0' + byte % 10);
      }
    }
    text[written++] = '.';
  }
  if (written == 0) text[written++] = '.';
  return written;
}

static bool is_digit(int c) {
  return c >= '0' && c <= '9';
}

/* Whether the name ends in a separating dot: an even run of backslashes before the last dot. */
static bool ends_with_root_dot(const char *text, size_t length) {
  if (length == 0 || text[length - 1] != '.') return false;
  size_t backslashes = 0;
  for (size_t i = length - 1; i > 0 && text[i - 1] == '\\'; i--) backslashes++;
  return backslashes % 2 == 0;
}

dnswire_error dnswire_name_from_text(const char *text, size_t length,
                                     uint8_t wire[DNSWIRE_MAX_NAME], size_t *wire_length) {
  if (length == 1 && text[0] == '.') {
    wire[0] = 0;
    *wire_length = 1;
    return DNSWIRE_OK;
  }
  if (!ends_with_root_dot(text, length)) return DNSWIRE_ERR_NAME_SYNTAX;
  /* Like nameToWire, the length is checked only at the end, so a syntax error further on
   * wins over it: count every byte, store only those that fit. */
  size_t total = 0; /* bytes of the finished labels */
  size_t label = 0; /* bytes of the current one */
  for (size_t i = 0; i < length; i++) {
    uint8_t c = (uint8_t)text[i];
    int byte;
    if (c == '.') {
      if (label == 0) return DNSWIRE_ERR_NAME_SYNTAX;
      if (total < DNSWIRE_MAX_NAME) wire[total] = (uint8_t)label;
      total += 1 + label;
      label = 0;
      continue;
    }
    if (c == '\\') {
      int next = i + 1 < length ? (uint8_t)text[i + 1] : -1;
      if (is_digit(next)) {
        if (i + 3 >= length || !is_digit(text[i + 2]) || !is_digit(text[i + 3])) return DNSWIRE_ERR_NAME_SYNTAX;
        byte = (next - '0') * 100 + (text[i + 2] - '0') * 10 + (text[i + 3] - '0');
        if (byte > 255) return DNSWIRE_ERR_NAME_SYNTAX;
        i += 3;
      } else if (next >= 0x21 && next <= 0x7e) {
        byte = next;
        i += 1;
      } else {
        return DNSWIRE_ERR_NAME_SYNTAX;
      }
    } else if (c >= 0x21 && c <= 0x7e) {
      byte = c;
    } else {
      return DNSWIRE_ERR_NAME_SYNTAX;
    }
    if (total + 1 + label < DNSWIRE_MAX_NAME) wire[total + 1 + label] = (uint8_t)byte;
    label++;
    if (label > DNSWIRE_MAX_LABEL) return DNSWIRE_ERR_LABEL;
  }
  /* ends_with_root_dot guarantees the last label was closed by a dot. */
  if (total + 1 > DNSWIRE_MAX_NAME) return DNSWIRE_ERR_NAME_LENGTH;
  wire[total] = 0;
  *wire_length = total + 1;
  return DNSWIRE_OK;
}

/* ---- encode ------------------------------------------------------------------------------ */

static void store_u16(uint8_t *bytes, uint16_t value) {
  bytes[0] = (uint8_t)(value >> 8);
  bytes[1] = (uint8_t)value;
}

static void store_u32(uint8_t *bytes, uint32_t value) {
  store_u16(bytes, (uint16_t)(value >> 16));
  store_u16(bytes + 2, (uint16_t)value);
}

static uint8_t lower(uint8_t byte) {
  return byte >= 'A' && byte <= 'Z' ? (uint8_t)(byte + 0x20) : byte;
}

/* FNV-1a over the lower-cased label, chained onto the hash of the suffix after it. */
static uint32_t hash_label(uint32_t hash, const uint8_t *label) {
  for (size_t i = 0; i <= label[0]; i++) hash = (hash ^ lower(label[i])) * 16777619u;
  return hash;
}

/* Whether the written (maybe compressed) name at `offset` equals the uncompressed `name`,
 * ASCII case-insensitively. Our own output has no pointer loops. */
static bool written_name_equals(const dnswire_encoder *encoder, size_t offset, const uint8_t *name) {
  const uint8_t *out = encoder->out;
  for (;;) {
    uint8_t length = out[offset];
    if ((length & 0xc0) == 0xc0) {
      offset = (size_t)(length & 0x3f) << 8 | out[offset + 1];
      continue;
    }
    if (length != name[0]) return false;
    if (length == 0) return true;
    for (size_t i = 1; i <= length; i++) {
      if (lower(out[offset + i]) != lower(name[i])) return false;
    }
    offset += 1 + (size_t)length;
    name += 1 + (size_t)length;
  }
}

/* Offset of a remembered suffix equal to `name` (of `labels` labels), or -1. */
static long find_suffix(const dnswire_encoder *encoder, const uint8_t *name, size_t labels, uint32_t hash) {
  for (uint16_t index = encoder->buckets[hash % DNSWIRE_SUFFIX_BUCKETS]; index != 0;) {
    const dnswire_suffix *suffix = &encoder->suffixes[index - 1];
    if (suffix->hash == hash && suffix->labels == labels && written_name_equals(encoder, suffix->offset, name)) {
      return suffix->offset;
    }
    index = suffix->next;
  }
  return -1;
}

static void remember_suffix(dnswire_encoder *encoder, size_t offset, size_t labels, uint32_t hash) {
  if (offset >= DNSWIRE_POINTER_LIMIT || encoder->suffix_count >= DNSWIRE_SUFFIX_CAPACITY) return;
  dnswire_suffix *suffix = &encoder->suffixes[encoder->suffix_count++];
  uint16_t *bucket = &encoder->buckets[hash % DNSWIRE_SUFFIX_BUCKETS];
  suffix->hash = hash;
  suffix->offset = (uint16_t)offset;
  suffix->labels = (uint8_t)labels;
  suffix->next = *bucket;
  *bucket = (uint16_t)encoder->suffix_count;
}

/* Writes a well-formed uncompressed name, compressed as binding.ts describes; at most
 * DNSWIRE_MAX_NAME bytes, so the caller checks room once per entry. */
static void write_name(dnswire_encoder *encoder, const uint8_t *name) {
  size_t starts[DNSWIRE_MAX_NAME / 2];
  uint32_t hashes[DNSWIRE_MAX_NAME / 2];
  size_t labels = 0;
  for (size_t at = 0; name[at] != 0; at += 1 + (size_t)name[at]) starts[labels++] = at;
  uint32_t hash = 2166136261u;
  for (size_t i = labels; i-- > 0;) {
    hash = hash_label(hash, name + starts[i]);
    hashes[i] = hash;
  }
  uint8_t *out = encoder->out;
  for (size_t i = 0; i < labels; i++) {
    const uint8_t *suffix = name + starts[i];
    long target = find_suffix(encoder, suffix, labels - i, hashes[i]);
    if (target >= 0) {
      out[encoder->length] = (uint8_t)(0xc0 | target >> 8);
      out[encoder->length + 1] = (uint8_t)target;
      encoder->length += 2;
      return;
    }
    size_t offset = encoder->length;
    memcpy(out + offset, suffix, 1 + (size_t)suffix[0]);
    encoder->length += 1 + (size_t)suffix[0];
    remember_suffix(encoder, offset, labels - i, hashes[i]);
  }
  out[encoder->length++] = 0;
}

void dnswire_encode_start(dnswire_encoder *encoder, uint16_t id, uint16_t flags,
                          const uint16_t counts[DNSWIRE_SECTIONS]) {
  store_u16(encoder->out, id);
  store_u16(encoder->out + 2, flags);
  for (int section = 0; section < DNSWIRE_SECTIONS; section++) {
    store_u16(encoder->out + 4 + 2 * section, counts[section]);
  }
  encoder->length = DNSWIRE_HEADER_BYTES;
  memset(encoder->buckets, 0, sizeof encoder->buckets);
  encoder->suffix_count = 0;
}

dnswire_error dnswire_encode_question(dnswire_encoder *encoder, const uint8_t *name, uint16_t type,
                                      uint16_t klass) {
  write_name(encoder, name);
  store_u16(encoder->out + encoder->length, type);
  store_u16(encoder->out + encoder->length + 2, klass);
  encoder->length += 4;
  return encoder->length > DNSWIRE_MAX_MESSAGE ? DNSWIRE_ERR_TOO_LARGE : DNSWIRE_OK;
}

/* Length of the uncompressed name at the start of `data` if it lies within `length` bytes and
 * is well formed (plain labels, at most 255 bytes), else 0. */
static size_t plain_name_length(const uint8_t *data, size_t length) {
  size_t at = 0;
  for (;;) {
    if (at >= length || at >= DNSWIRE_MAX_NAME) return 0;
    uint8_t label = data[at];
    if (label & 0xc0) return 0;
    at += 1 + (size_t)label;
    if (label == 0) return at;
  }
}

/* Whether `data` is exactly `layout` with uncompressed names (names only FIXED fields beside). */
static bool rdata_fits_layout(const rdata_field *field, const uint8_t *data, size_t length) {
  size_t at = 0;
  for (; field->kind != FIELD_END; field++) {
    size_t bytes = field->kind == FIELD_NAME ? plain_name_length(data + at, length - at) : field->bytes;
    if (bytes == 0 || length - at < bytes) return false;
    at += bytes;
  }
  return at == length;
}

dnswire_error dnswire_encode_record(dnswire_encoder *encoder, const uint8_t *name, uint16_t type,
                                    uint16_t klass, uint32_t ttl, const uint8_t *data,
                                    size_t data_length) {
  const rdata_field *layout = encode_layout(type);
  if (layout != NULL && !rdata_fits_layout(layout, data, data_length)) return DNSWIRE_ERR_RDATA;
  write_name(encoder, name);
  uint8_t *fixed = encoder->out + encoder->length;
  store_u16(fixed, type);
  store_u16(fixed + 2, klass);
  store_u32(fixed + 4, ttl);
  encoder->length += 10;
  size_t rdata_start = encoder->length;
  if (layout == NULL) {
    if (data_length > DNSWIRE_MAX_MESSAGE - encoder->length) return DNSWIRE_ERR_TOO_LARGE;
    memcpy(encoder->out + encoder->length, data, data_length);
    encoder->length += data_length;
  } else {
    /* Checked above: at most 2 names and 20 bytes, within the output's spare room. */
    size_t at = 0;
    for (; layout->kind != FIELD_END; layout++) {
      if (layout->kind == FIELD_NAME) {
        write_name(encoder, data + at);
        at += plain_name_length(data + at, data_length - at);
      } else {
        memcpy(encoder->out + encoder->length, data + at, layout->bytes);
        encoder->length += layout->bytes;
        at += layout->bytes;
      }
    }
  }
  if (encoder->length > DNSWIRE_MAX_MESSAGE) return DNSWIRE_ERR_TOO_LARGE;
  store_u16(fixed + 8, (uint16_t)(encoder->length - rdata_start));
  return DNSWIRE_OK;
}
