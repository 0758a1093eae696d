/*
 * libFuzzer target for native/dnswire/dnswire_core.c (built and run by scripts/fuzz.sh).
 *
 * Input: any bytes, decoded as a DNS message. ASan and UBSan watch every read of the bounds
 * checks. When it parses, it must survive a round trip:
 *   - every name's presentation form parses back to the same wire name;
 *   - E = encode(decode(x)) decodes again, to decode(x) with compressed names possibly in
 *     another ASCII case (compression matches case-insensitively, so a name takes the case
 *     of the copy it points to) and everything else identical;
 *   - encode(decode(E)) is E again, byte for byte (encoding is a fixed point).
 * Encoding may only fail with ERR_DNS_TOO_LARGE: RDATA names of types that encode does not
 * compress (SRV, RP, ...) are written expanded, which can outgrow 65535 bytes.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../dnswire/dnswire_core.h"

/* Big (the encoder is about 100 KiB): static, and reused like the addon reuses its own. */
static dnswire_message decoded, again;
static dnswire_encoder first_encoder, second_encoder;

static void fail(const char *what) {
  fprintf(stderr, "dnswire_fuzz: %s\n", what);
  abort();
}

static uint8_t lower(uint8_t byte) {
  return byte >= 'A' && byte <= 'Z' ? (uint8_t)(byte + 0x20) : byte;
}

static bool same_ignoring_case(const uint8_t *a, const uint8_t *b, size_t length) {
  for (size_t i = 0; i < length; i++) {
    if (lower(a[i]) != lower(b[i])) return false;
  }
  return true;
}

/* Whether encode compresses this type's RDATA names (NS, CNAME, PTR, MX, SOA). Their fixed
 * fields are compared case-insensitively too: a weaker check, but only on a few bytes. */
static bool compressed_type(uint16_t type) {
  return type == 2 || type == 5 || type == 12 || type == 15 || type == 6;
}

static void check_name_text(const uint8_t *wire, size_t length) {
  char text[DNSWIRE_MAX_NAME_TEXT];
  size_t text_length = dnswire_name_to_text(wire, text);
  uint8_t back[DNSWIRE_MAX_NAME];
  size_t back_length = 0;
  if (dnswire_name_from_text(text, text_length, back, &back_length) != DNSWIRE_OK) {
    fail("a decoded name's presentation form does not parse");
  }
  if (back_length != length || memcmp(back, wire, length) != 0) fail("name text round trip changed the name");
}

/* Encodes `message`; false if it is too large, aborts on any other error. */
static bool encode(const dnswire_message *message, dnswire_encoder *encoder) {
  dnswire_encode_start(encoder, message->id, message->flags, message->counts);
  size_t total = 0;
  for (int section = 0; section < DNSWIRE_SECTIONS; section++) total += message->counts[section];
  for (size_t i = 0; i < total; i++) {
    const dnswire_entry *entry = &message->entries[i];
    const uint8_t *name = message->names + entry->name;
    dnswire_error error =
        i < message->counts[DNSWIRE_QUESTION]
            ? dnswire_encode_question(encoder, name, entry->type, entry->klass)
            : dnswire_encode_record(encoder, name, entry->type, entry->klass, entry->ttl,
                                    message->rdata + entry->data, entry->data_length);
    if (error == DNSWIRE_ERR_TOO_LARGE) return false;
    if (error != DNSWIRE_OK) fail(dnswire_error_code(error));
  }
  return true;
}

static void expect_same_message(const dnswire_message *a, const dnswire_message *b) {
  if (a->id != b->id || a->flags != b->flags || memcmp(a->counts, b->counts, sizeof a->counts) != 0) {
    fail("header changed in the round trip");
  }
  size_t total = 0;
  for (int section = 0; section < DNSWIRE_SECTIONS; section++) total += a->counts[section];
  for (size_t i = 0; i < total; i++) {
    const dnswire_entry *x = &a->entries[i], *y = &b->entries[i];
    if (x->type != y->type || x->klass != y->klass || x->ttl != y->ttl) fail("type, class or TTL changed");
    if (x->name_length != y->name_length ||
        !same_ignoring_case(a->names + x->name, b->names + y->name, x->name_length)) {
      fail("a name changed in the round trip");
    }
    const uint8_t *data_x = a->rdata + x->data, *data_y = b->rdata + y->data;
    if (x->data_length != y->data_length) fail("RDATA length changed in the round trip");
    bool same = compressed_type(x->type) ? same_ignoring_case(data_x, data_y, x->data_length)
                                         : memcmp(data_x, data_y, x->data_length) == 0;
    if (!same) fail("RDATA changed in the round trip");
  }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (dnswire_decode(data, size, &decoded) != DNSWIRE_OK) {
    if (decoded.error_detail[0] == '\0') fail("an error without a detail");
    return 0;
  }
  size_t total = 0;
  for (int section = 0; section < DNSWIRE_SECTIONS; section++) total += decoded.counts[section];
  for (size_t i = 0; i < total; i++) {
    check_name_text(decoded.names + decoded.entries[i].name, decoded.entries[i].name_length);
  }

  if (!encode(&decoded, &first_encoder)) return 0;
  dnswire_error error = dnswire_decode(first_encoder.out, first_encoder.length, &again);
  if (error != DNSWIRE_OK) {
    fprintf(stderr, "dnswire_fuzz: %s: %s\n", dnswire_error_code(error), again.error_detail);
    fail("our own encoding does not decode");
  }
  expect_same_message(&decoded, &again);

  if (!encode(&again, &second_encoder)) fail("re-encoding a message that fitted is too large");
  if (second_encoder.length != first_encoder.length ||
      memcmp(second_encoder.out, first_encoder.out, first_encoder.length) != 0) {
    fail("encode(decode(E)) is not E");
  }
  return 0;
}
