/*
 * N-API addon: DNS messages to and from wire format (the rules are in binding.ts; the parsing
 * and writing, with every bounds check, is in dnswire_core.c).
 *
 * decode parses the whole message in C first and only then builds the JS objects, so a
 * malformed message costs no JS allocation; the objects are made by a small JS function
 * compiled at init, from one ArrayBuffer and one string (see buildMessage below): one
 * backing store per message, each record's `data` a Uint8Array view of it.
 * encode reads each entry's fields (getters may run) before writing it, and copies the name
 * and takes the RDATA pointer with no JS in between, so a getter cannot pull memory from
 * under the writer; a getter that calls encode again gets an encoder of its own.
 *
 * Exports (the JS twin in twin.ts has the same interface, see binding.ts):
 *   decode(wire: Uint8Array) -> DnsMessage
 *   encode(message: DnsMessage) -> Buffer
 */
#include <math.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <node_api.h>

#include "../napi_checks.h"

#include "dnswire_core.h"

/* Property names encode reads, in the order it reads them. */
typedef enum {
  KEY_ID,
  KEY_FLAGS,
  KEY_QUESTIONS,
  KEY_ANSWERS,
  KEY_AUTHORITIES,
  KEY_ADDITIONALS,
  KEY_NAME,
  KEY_TYPE,
  KEY_CLASS,
  KEY_TTL,
  KEY_DATA,
  KEY_COUNT
} key_index;

static const char *const key_names[KEY_COUNT] = {
    "id", "flags", "questions", "answers", "authorities", "additionals", "name", "type", "class", "ttl", "data",
};

/* Per-environment state (main thread and each worker get their own). */
typedef struct {
  dnswire_message message; /* decode's arenas, reused */
  dnswire_encoder *encoder;
  bool encoder_busy;
  /* An array of the key strings: N-API 8 can reference objects only, not strings. */
  napi_ref keys;
  napi_ref builder; /* buildMessage, see decode */
  char *text;       /* decode's names, one after the other */
  size_t text_capacity;
} addon_state;

#define NAPI_CALL(env, call) NAPI_CALL_OR_RETURN(env, call, "ERR_DNS_NAPI", NULL)

/* Like NAPI_CALL, for helpers that return bool: false on failure. */
#define NAPI_CHECK(env, call) NAPI_CALL_OR_RETURN(env, call, "ERR_DNS_NAPI", false)

static void throw_type_error(napi_env env, const char *message) {
  napi_throw_type_error(env, "ERR_DNS_VALUE", message);
}

static void throw_error(napi_env env, dnswire_error error, const char *message) {
  if (error == DNSWIRE_ERR_NO_MEMORY) {
    napi_throw_error(env, "ERR_DNS_NO_MEMORY", "out of memory");
  } else {
    napi_throw_range_error(env, dnswire_error_code(error), message);
  }
}

/* This environment's state, or NULL with an Error thrown. */
static addon_state *get_state(napi_env env) { return addon_instance_data(env, "ERR_DNS_NAPI"); }

/* The property-name strings, made once at init. */
static bool get_keys(napi_env env, const addon_state *state, napi_value keys[KEY_COUNT]) {
  napi_value array;
  NAPI_CHECK(env, napi_get_reference_value(env, state->keys, &array));
  for (uint32_t i = 0; i < KEY_COUNT; i++) NAPI_CHECK(env, napi_get_element(env, array, i, &keys[i]));
  return true;
}

/* ---- decode -------------------------------------------------------------------------------- */

/*
 * Building objects property by property through N-API is the slow part of a decode (each
 * property is a map transition looked up inside V8: several times the cost of the parse).
 * So C hands one ArrayBuffer and one string to a small JS function, compiled once at init,
 * that makes the objects with literals at JIT speed: one call into JS per message.
 *
 * The ArrayBuffer holds, as native-endian uint32: id, flags, the four counts, then per entry
 * type, class, ttl, RDATA offset, RDATA length and where its name ends in the string; then the
 * RDATA itself, which each record's `data` views. The string is the names in presentation
 * form, one after the other (slicing it is cheaper than splitting it).
 */
#define HEADER_WORDS 6
#define ENTRY_WORDS 6

static const char builder_source[] =
    "(function buildMessage(store, text) {\n"
    "  'use strict';\n"
    "  const head = new Uint32Array(store, 0, 6);\n"
    "  const total = head[2] + head[3] + head[4] + head[5];\n"
    "  const words = new Uint32Array(store, 24, total * 6);\n"
    "  const questions = [];\n"
    "  let at = 0;\n"
    "  let nameStart = 0;\n"
    "  for (let i = 0; i < head[2]; i++, at += 6) {\n"
    "    const name = text.slice(nameStart, nameStart = words[at + 5]);\n"
    "    questions.push({ name, type: words[at], class: words[at + 1] });\n"
    "  }\n"
    "  const records = (count) => {\n"
    "    const list = [];\n"
    "    for (let i = 0; i < count; i++, at += 6) {\n"
    "      const name = text.slice(nameStart, nameStart = words[at + 5]);\n"
    "      list.push({ name, type: words[at], class: words[at + 1], ttl: words[at + 2],\n"
    "                  data: new Uint8Array(store, words[at + 3], words[at + 4]) });\n"
    "    }\n"
    "    return list;\n"
    "  };\n"
    "  const answers = records(head[3]);\n"
    "  const authorities = records(head[4]);\n"
    "  const additionals = records(head[5]);\n"
    "  return { id: head[0], flags: head[1], questions, answers, authorities, additionals };\n"
    "})";

/* Grows the names-text buffer to hold `needed` bytes. */
static bool reserve_text(addon_state *state, size_t needed) {
  if (needed <= state->text_capacity) return true;
  size_t wanted = state->text_capacity < 1024 ? 1024 : state->text_capacity;
  while (wanted < needed) wanted *= 2;
  char *grown = realloc(state->text, wanted);
  if (grown == NULL) return false;
  state->text = grown;
  state->text_capacity = wanted;
  return true;
}

/* The arenas grow to fit the largest message seen; one odd huge message should not keep
 * megabytes for the life of the process, so past this they are given back. */
#define KEEP_ARENA_BYTES (256 * 1024)

static void release_if_large(addon_state *state) {
  dnswire_message *message = &state->message;
  if (message->names_capacity + message->rdata_capacity + message->entries_capacity * sizeof(dnswire_entry) >
      KEEP_ARENA_BYTES) {
    dnswire_message_free(message);
  }
  if (state->text_capacity > KEEP_ARENA_BYTES) {
    free(state->text);
    state->text = NULL;
    state->text_capacity = 0;
  }
}

static napi_value decode(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  NAPI_CALL(env, napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  addon_state *state = get_state(env);
  if (state == NULL) return NULL;
  const uint8_t *wire = NULL;
  size_t length = 0;
  if (!read_uint8array(env, argv[0], &wire, &length)) {
    throw_type_error(env, "wire must be a Uint8Array");
    return NULL;
  }
  dnswire_message *message = &state->message;
  dnswire_error error = dnswire_decode(wire, length, message);
  if (error != DNSWIRE_OK) {
    throw_error(env, error, message->error_detail);
    release_if_large(state);
    return NULL;
  }

  size_t total = 0;
  for (int section = 0; section < DNSWIRE_SECTIONS; section++) total += message->counts[section];
  size_t rdata_start = (HEADER_WORDS + ENTRY_WORDS * total) * sizeof(uint32_t);
  napi_value store;
  void *store_bytes = NULL;
  NAPI_CALL(env, napi_create_arraybuffer(env, rdata_start + message->rdata_length, &store_bytes, &store));
  uint32_t *words = store_bytes;
  words[0] = message->id;
  words[1] = message->flags;
  for (int section = 0; section < DNSWIRE_SECTIONS; section++) words[2 + section] = message->counts[section];
  words += HEADER_WORDS;

  /* Every wire byte of a name becomes at most 4 characters ("\DDD"). */
  if (!reserve_text(state, 4 * message->names_length + 1)) {
    throw_error(env, DNSWIRE_ERR_NO_MEMORY, NULL);
    return NULL;
  }
  size_t text_length = 0;
  for (size_t i = 0; i < total; i++, words += ENTRY_WORDS) {
    const dnswire_entry *entry = &message->entries[i];
    words[0] = entry->type;
    words[1] = entry->klass;
    words[2] = entry->ttl;
    words[3] = (uint32_t)(rdata_start + entry->data);
    words[4] = entry->data_length;
    text_length += dnswire_name_to_text(message->names + entry->name, state->text + text_length);
    words[5] = (uint32_t)text_length;
  }
  if (message->rdata_length > 0) {
    memcpy((uint8_t *)store_bytes + rdata_start, message->rdata, message->rdata_length);
  }

  napi_value args[2], builder, undefined, result;
  args[0] = store;
  NAPI_CALL(env, napi_create_string_latin1(env, state->text, text_length, &args[1]));
  NAPI_CALL(env, napi_get_reference_value(env, state->builder, &builder));
  NAPI_CALL(env, napi_get_undefined(env, &undefined));
  NAPI_CALL(env, napi_call_function(env, undefined, builder, 2, args, &result));
  release_if_large(state);
  return result;
}

/* ---- encode -------------------------------------------------------------------------------- */

static const char *const section_names[DNSWIRE_SECTIONS] = {"questions", "answers", "authorities", "additionals"};

/* Where a field is, for messages: "message.id", "answers[3].ttl". */
typedef struct {
  int section; /* -1: the message itself */
  uint32_t index;
} entry_path;

static void format_path(char *out, size_t size, entry_path path, const char *field) {
  if (path.section < 0) {
    snprintf(out, size, "message.%s", field);
  } else {
    snprintf(out, size, "%s[%u]%s%s", section_names[path.section], (unsigned)path.index, *field ? "." : "", field);
  }
}

static void throw_path_error(napi_env env, bool type_error, dnswire_error error, entry_path path,
                             const char *field, const char *problem) {
  char where[64], message[128];
  format_path(where, sizeof where, path, field);
  snprintf(message, sizeof message, "%s %s", where, problem);
  if (type_error) {
    throw_type_error(env, message);
  } else {
    throw_error(env, error, message);
  }
}

/* Reads an integer field in [0, max] (a number, whole, in range), else throws. */
static bool read_integer(napi_env env, napi_value object, napi_value key, entry_path path, const char *field,
                         double max, uint32_t *out) {
  napi_value value;
  napi_valuetype kind;
  NAPI_CHECK(env, napi_get_property(env, object, key, &value));
  NAPI_CHECK(env, napi_typeof(env, value, &kind));
  if (kind != napi_number) {
    throw_path_error(env, true, DNSWIRE_ERR_VALUE, path, field, "must be a number");
    return false;
  }
  double number = 0;
  NAPI_CHECK(env, napi_get_value_double(env, value, &number));
  if (!(number >= 0 && number <= max && floor(number) == number)) {
    char problem[48];
    snprintf(problem, sizeof problem, "must be an integer from 0 to %.0f", max);
    throw_path_error(env, false, DNSWIRE_ERR_VALUE, path, field, problem);
    return false;
  }
  *out = (uint32_t)number;
  return true;
}

static bool is_object(napi_env env, napi_value value) {
  napi_valuetype kind;
  return napi_typeof(env, value, &kind) == napi_ok && kind == napi_object;
}

/* Reads `name` as nameToWire does, with its errors. */
static bool read_name(napi_env env, napi_value object, napi_value key, uint8_t wire[DNSWIRE_MAX_NAME],
                      size_t *wire_length) {
  napi_value value;
  napi_valuetype kind;
  NAPI_CHECK(env, napi_get_property(env, object, key, &value));
  NAPI_CHECK(env, napi_typeof(env, value, &kind));
  if (kind != napi_string) {
    throw_type_error(env, "name must be a string");
    return false;
  }
  /* Up to 3 UTF-8 bytes per UTF-16 unit: names that surely fit are read straight onto the stack. */
  char stack_text[DNSWIRE_MAX_NAME_TEXT];
  char *text = stack_text;
  size_t units = 0, length = 0;
  NAPI_CHECK(env, napi_get_value_string_utf16(env, value, NULL, 0, &units));
  if (units * 3 >= sizeof stack_text) {
    NAPI_CHECK(env, napi_get_value_string_utf8(env, value, NULL, 0, &length));
    text = malloc(length + 1);
    if (text == NULL) {
      throw_error(env, DNSWIRE_ERR_NO_MEMORY, NULL);
      return false;
    }
  }
  if (napi_get_value_string_utf8(env, value, text, text == stack_text ? sizeof stack_text : length + 1,
                                 &length) != napi_ok) {
    if (text != stack_text) free(text);
    napi_throw_error(env, "ERR_DNS_NAPI", "could not read the name");
    return false;
  }
  dnswire_error error = dnswire_name_from_text(text, length, wire, wire_length);
  if (error != DNSWIRE_OK) {
    /* nameToWire's wording; the name is cut short (and at a NUL) in the message only. */
    char message[160];
    const char *format = error == DNSWIRE_ERR_LABEL         ? "a label of '%.*s' is over 63 bytes"
                         : error == DNSWIRE_ERR_NAME_LENGTH ? "name '%.*s' is over 255 bytes"
                                                            : "name '%.*s' is not a valid presentation name";
    snprintf(message, sizeof message, format, (int)(length < 100 ? length : 100), text);
    throw_error(env, error, message);
  }
  if (text != stack_text) free(text);
  return error == DNSWIRE_OK;
}

/* Encodes the entries of one section; false with an exception pending on any error. */
static bool encode_section(napi_env env, dnswire_encoder *encoder, const napi_value keys[KEY_COUNT],
                           napi_value list, int section, uint32_t count) {
  for (uint32_t i = 0; i < count; i++) {
    entry_path path = {section, i};
    napi_value entry;
    NAPI_CHECK(env, napi_get_element(env, list, i, &entry));
    if (!is_object(env, entry)) {
      throw_path_error(env, true, DNSWIRE_ERR_VALUE, path, "", "must be an object");
      return false;
    }
    uint8_t name[DNSWIRE_MAX_NAME];
    size_t name_length = 0;
    uint32_t type = 0, klass = 0, ttl = 0;
    if (!read_name(env, entry, keys[KEY_NAME], name, &name_length) ||
        !read_integer(env, entry, keys[KEY_TYPE], path, "type", 0xffff, &type) ||
        !read_integer(env, entry, keys[KEY_CLASS], path, "class", 0xffff, &klass)) {
      return false;
    }
    dnswire_error error;
    if (section == DNSWIRE_QUESTION) {
      error = dnswire_encode_question(encoder, name, (uint16_t)type, (uint16_t)klass);
    } else {
      if (!read_integer(env, entry, keys[KEY_TTL], path, "ttl", 4294967295.0, &ttl)) return false;
      napi_value data_value;
      NAPI_CHECK(env, napi_get_property(env, entry, keys[KEY_DATA], &data_value));
      const uint8_t *data = NULL;
      size_t data_length = 0;
      if (!read_uint8array(env, data_value, &data, &data_length)) {
        throw_path_error(env, true, DNSWIRE_ERR_VALUE, path, "data", "must be a Uint8Array");
        return false;
      }
      error = dnswire_encode_record(encoder, name, (uint16_t)type, (uint16_t)klass, ttl, data, data_length);
      if (error == DNSWIRE_ERR_RDATA) {
        char problem[64];
        snprintf(problem, sizeof problem, "is not type %u RDATA with uncompressed names", (unsigned)type);
        throw_path_error(env, false, error, path, "data", problem);
        return false;
      }
    }
    if (error != DNSWIRE_OK) {
      throw_error(env, error, "message over 65535 bytes");
      return false;
    }
  }
  return true;
}

static napi_value encode(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  NAPI_CALL(env, napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  addon_state *state = get_state(env);
  if (state == NULL) return NULL;
  napi_value keys[KEY_COUNT];
  if (!get_keys(env, state, keys)) return NULL;
  napi_value message = argv[0];
  const entry_path top = {-1, 0};
  if (!is_object(env, message)) {
    throw_type_error(env, "message must be an object");
    return NULL;
  }
  uint32_t id = 0, flags = 0;
  if (!read_integer(env, message, keys[KEY_ID], top, "id", 0xffff, &id) ||
      !read_integer(env, message, keys[KEY_FLAGS], top, "flags", 0xffff, &flags)) {
    return NULL;
  }
  napi_value lists[DNSWIRE_SECTIONS];
  uint16_t counts[DNSWIRE_SECTIONS];
  for (int section = 0; section < DNSWIRE_SECTIONS; section++) {
    bool is_array = false;
    NAPI_CALL(env, napi_get_property(env, message, keys[KEY_QUESTIONS + section], &lists[section]));
    NAPI_CALL(env, napi_is_array(env, lists[section], &is_array));
    if (!is_array) {
      throw_path_error(env, true, DNSWIRE_ERR_VALUE, top, section_names[section], "must be an array");
      return NULL;
    }
    uint32_t count = 0;
    NAPI_CALL(env, napi_get_array_length(env, lists[section], &count));
    if (count > 0xffff) {
      throw_path_error(env, false, DNSWIRE_ERR_TOO_LARGE, top, section_names[section], "has over 65535 entries");
      return NULL;
    }
    counts[section] = (uint16_t)count;
  }

  /* A getter that calls encode again finds the shared encoder busy and gets its own. */
  dnswire_encoder *encoder = state->encoder;
  bool shared = !state->encoder_busy;
  if (!shared) encoder = malloc(sizeof *encoder);
  if (encoder == NULL) {
    throw_error(env, DNSWIRE_ERR_NO_MEMORY, NULL);
    return NULL;
  }
  if (shared) state->encoder_busy = true;
  dnswire_encode_start(encoder, (uint16_t)id, (uint16_t)flags, counts);
  bool ok = true;
  for (int section = 0; ok && section < DNSWIRE_SECTIONS; section++) {
    ok = encode_section(env, encoder, keys, lists[section], section, counts[section]);
  }
  napi_value result = NULL;
  if (ok && napi_create_buffer_copy(env, encoder->length, encoder->out, NULL, &result) != napi_ok) {
    napi_throw_error(env, "ERR_DNS_NAPI", "could not create the output buffer");
    result = NULL;
  }
  if (shared) {
    state->encoder_busy = false;
  } else {
    free(encoder);
  }
  return result;
}

/* ---- init ---------------------------------------------------------------------------------- */

/* Frees the state when the environment goes away (the reference goes with the environment). */
static void free_state(napi_env env, void *data, void *hint) {
  (void)env;
  (void)hint;
  addon_state *state = data;
  dnswire_message_free(&state->message);
  free(state->encoder);
  free(state->text);
  free(state);
}

static napi_value init(napi_env env, napi_value exports) {
  addon_state *state = calloc(1, sizeof *state);
  dnswire_encoder *encoder = malloc(sizeof *encoder);
  if (state == NULL || encoder == NULL) {
    free(state);
    free(encoder);
    napi_throw_error(env, "ERR_DNS_NO_MEMORY", "out of memory");
    return NULL;
  }
  state->encoder = encoder;
  if (napi_set_instance_data(env, state, free_state, NULL) != napi_ok) {
    free_state(env, state, NULL);
    napi_throw_error(env, "ERR_DNS_NAPI", "could not set instance data");
    return NULL;
  }
  napi_value keys;
  NAPI_CALL(env, napi_create_array_with_length(env, KEY_COUNT, &keys));
  for (uint32_t i = 0; i < KEY_COUNT; i++) {
    napi_value key;
    NAPI_CALL(env, napi_create_string_latin1(env, key_names[i], NAPI_AUTO_LENGTH, &key));
    NAPI_CALL(env, napi_set_element(env, keys, i, key));
  }
  NAPI_CALL(env, napi_create_reference(env, keys, 1, &state->keys));
  napi_value source, builder;
  NAPI_CALL(env, napi_create_string_utf8(env, builder_source, NAPI_AUTO_LENGTH, &source));
  NAPI_CALL(env, napi_run_script(env, source, &builder));
  NAPI_CALL(env, napi_create_reference(env, builder, 1, &state->builder));

  napi_property_descriptor properties[] = {
      {"decode", NULL, decode, NULL, NULL, NULL, napi_enumerable, NULL},
      {"encode", NULL, encode, NULL, NULL, NULL, napi_enumerable, NULL},
  };
  NAPI_CALL(env, napi_define_properties(env, exports, sizeof properties / sizeof properties[0], properties));
  return exports;
}

NAPI_MODULE(NODE_GYP_MODULE_NAME, init)
