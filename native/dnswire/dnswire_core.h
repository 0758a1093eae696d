/*
 * DNS message parse/serialize core shared by the N-API addon (dnswire.c) and the fuzz target
 * (no N-API in here). The rules are the ones written in binding.ts; twin.ts implements the
 * same ones in JS, and the equivalence tests hold the two to byte-identical results.
 *
 * Names here are always uncompressed wire names (length-prefixed labels, root byte last);
 * dnswire_name_to_text / dnswire_name_from_text convert to and from presentation form.
 * Decoding fills a dnswire_message whose arenas the caller keeps and reuses, so the hot path
 * (a query: one question and an OPT) allocates nothing once they have grown.
 */
#ifndef NYMOTE_DNSWIRE_CORE_H
#define NYMOTE_DNSWIRE_CORE_H

#include <stddef.h>
#include <stdint.h>

#define DNSWIRE_HEADER_BYTES 12
#define DNSWIRE_MAX_MESSAGE 65535
#define DNSWIRE_MAX_NAME 255
#define DNSWIRE_MAX_LABEL 63
/* "\DDD" for each of at most 254 label bytes, plus the dots: comfortably under this. */
#define DNSWIRE_MAX_NAME_TEXT 1024
/* Pointers are 14 bits: only suffixes written below this offset can be pointed at. */
#define DNSWIRE_POINTER_LIMIT 0x4000

/* One code per rule broken; the N-API layer maps them to the DNSWIRE_ERRORS strings. */
typedef enum {
  DNSWIRE_OK = 0,
  DNSWIRE_ERR_SHORT,
  DNSWIRE_ERR_TRAILING,
  DNSWIRE_ERR_LABEL,
  DNSWIRE_ERR_NAME_LENGTH,
  DNSWIRE_ERR_POINTER,
  DNSWIRE_ERR_RDATA,
  DNSWIRE_ERR_NAME_SYNTAX,
  DNSWIRE_ERR_VALUE,
  DNSWIRE_ERR_TOO_LARGE,
  DNSWIRE_ERR_NO_MEMORY,
} dnswire_error;

/* "ERR_DNS_SHORT", ... (NULL for DNSWIRE_OK). */
const char *dnswire_error_code(dnswire_error error);

/* Sections in message order. */
enum { DNSWIRE_QUESTION = 0, DNSWIRE_ANSWER, DNSWIRE_AUTHORITY, DNSWIRE_ADDITIONAL, DNSWIRE_SECTIONS };

/* A question (ttl and data unused) or a record, in message order across all sections. */
typedef struct {
  uint32_t name;        /* offset of its wire name in message->names */
  uint32_t name_length; /* bytes, root byte included */
  uint16_t type;
  uint16_t klass;
  uint32_t ttl;
  uint32_t data;        /* offset of its RDATA (names uncompressed) in message->rdata */
  uint32_t data_length;
} dnswire_entry;

/* A decoded message. Zero it before first use; dnswire_message_free releases the arenas. */
typedef struct {
  uint16_t id;
  uint16_t flags;
  uint16_t counts[DNSWIRE_SECTIONS];
  dnswire_entry *entries; /* counts[0] + ... + counts[3] of them */
  size_t entries_capacity;
  uint8_t *names;
  size_t names_length, names_capacity;
  uint8_t *rdata;
  size_t rdata_length, rdata_capacity;
  /* On failure: a sentence saying what broke and where, for the exception message. */
  char error_detail[96];
} dnswire_message;

void dnswire_message_free(dnswire_message *message);

/* Parses one whole message into `message` (reusing its arenas). */
dnswire_error dnswire_decode(const uint8_t *wire, size_t length, dnswire_message *message);

/* Presentation form of a well-formed uncompressed wire name ("www.example.test.", "."),
 * not NUL-terminated; returns its length (at most DNSWIRE_MAX_NAME_TEXT). */
size_t dnswire_name_to_text(const uint8_t *wire, char text[DNSWIRE_MAX_NAME_TEXT]);

/* Parses a presentation name exactly as names.ts nameToWire does (same checks, same order, so
 * the same error for every input): DNSWIRE_ERR_NAME_SYNTAX, _LABEL or _NAME_LENGTH. */
dnswire_error dnswire_name_from_text(const char *text, size_t length,
                                     uint8_t wire[DNSWIRE_MAX_NAME], size_t *wire_length);

/* Compression memory: one entry per suffix written at an offset below DNSWIRE_POINTER_LIMIT.
 * Every label takes at least two bytes, so that many suffixes at most. */
#define DNSWIRE_SUFFIX_CAPACITY (DNSWIRE_POINTER_LIMIT / 2)
#define DNSWIRE_SUFFIX_BUCKETS 1024

typedef struct {
  uint32_t hash;
  uint16_t offset;
  uint8_t labels; /* label count: suffixes of different lengths never match */
  uint16_t next;  /* index + 1 of the next entry in this bucket, 0 ends */
} dnswire_suffix;

/* Output room: the largest message plus one whole entry written before the size check. */
#define DNSWIRE_ENCODE_CAPACITY (DNSWIRE_MAX_MESSAGE + 1024)

/* An encode in progress. Big (about 100 KiB): callers keep one and reuse it. */
typedef struct {
  uint8_t out[DNSWIRE_ENCODE_CAPACITY];
  size_t length;
  uint16_t buckets[DNSWIRE_SUFFIX_BUCKETS]; /* index + 1 of each bucket's first entry */
  dnswire_suffix suffixes[DNSWIRE_SUFFIX_CAPACITY];
  size_t suffix_count;
} dnswire_encoder;

/* Starts a message: writes the header with these section counts. */
void dnswire_encode_start(dnswire_encoder *encoder, uint16_t id, uint16_t flags,
                          const uint16_t counts[DNSWIRE_SECTIONS]);

/* Appends a question; `name` is an uncompressed wire name (from dnswire_name_from_text).
 * DNSWIRE_ERR_TOO_LARGE once the message passes DNSWIRE_MAX_MESSAGE bytes. */
dnswire_error dnswire_encode_question(dnswire_encoder *encoder, const uint8_t *name,
                                      uint16_t type, uint16_t klass);

/* Appends a record. NS, CNAME, PTR, MX and SOA RDATA must parse (uncompressed names) and is
 * written compressed (DNSWIRE_ERR_RDATA if it does not parse); any other is written as is. */
dnswire_error dnswire_encode_record(dnswire_encoder *encoder, const uint8_t *name, uint16_t type,
                                    uint16_t klass, uint32_t ttl, const uint8_t *data,
                                    size_t data_length);

#endif
