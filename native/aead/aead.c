/*
 * N-API addon: AEAD record seal/open, ChaCha20-Poly1305 (RFC 8439) and XSalsa20-Poly1305
 * (NaCl secretbox), one record or a batch under one key per call.
 *
 * sealBatch/openBatch do a whole batch in one JS→C crossing, with one EVP context reused for
 * every record and one output allocation for the whole batch (each record is a Buffer view into
 * it); that is what makes them faster than node:crypto's createCipheriv per record. Every
 * element is fetched first (getters run then), and only then are bytes read and used, so a
 * getter on an array cannot detach a buffer whose pointer we still hold. The key is copied
 * once at the start.
 *
 * Exports (the JS twin in twin.ts has the same interface and errors, see binding.ts):
 *   seal(algorithm, key, nonce, plaintext, aad?) -> Buffer
 *   open(algorithm, key, nonce, sealed, aad?) -> Buffer | null
 *   sealBatch(algorithm, key, nonces[], plaintexts[], aads?[]) -> Buffer[]
 *   openBatch(algorithm, key, nonces[], sealed[], aads?[]) -> (Buffer | null)[]
 *   backend() -> "openssl" | "portable"
 *   setBackend("openssl" | "portable")   (addon only: tests and benchmarks)
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <node_api.h>

#include "../napi_checks.h"

#include "aead_core.h"

/* Records per batch call, and bytes of output (sealed records or plaintexts) per batch call;
 * the twin enforces the same limits. */
#define MAX_BATCH_RECORDS 65536u
#define MAX_BATCH_BYTES ((size_t)1 << 26)

typedef enum { ALGORITHM_CHACHA20_POLY1305 = 0, ALGORITHM_XSALSA20_POLY1305 = 1 } aead_algorithm;

/* Per-environment state (main thread and each worker get their own EVP contexts). */
typedef struct {
  aead_chacha chacha;
  /* makeViews below, compiled once per environment. */
  napi_ref make_views;
} addon_state;

/*
 * Builds a batch's results in one call instead of a napi_call_function and napi_set_element per
 * record (that per-record crossing was a third of a small record's cost): spans holds
 * [offset, length] per record, length -1 for null. Buffer.from(arrayBuffer, offset, length)
 * makes a view that shares the memory and copies nothing.
 */
static const char make_views_source[] =
    "(function makeViews(arrayBuffer, spans) {\n"
    "  const views = new Array(spans.length >> 1);\n"
    "  for (let i = 0, j = 0; j < spans.length; i++, j += 2) {\n"
    "    views[i] = spans[j + 1] < 0 ? null : Buffer.from(arrayBuffer, spans[j], spans[j + 1]);\n"
    "  }\n"
    "  return views;\n"
    "})";

/* Missing arguments arrive as undefined (napi_get_cb_info fills them in), so argument checks
 * need no separate count check. */

#define NAPI_CALL(env, call) NAPI_CALL_OR_RETURN(env, call, "ERR_AEAD_NAPI", NULL)
#define NAPI_CALL_BOOL(env, call) NAPI_CALL_OR_RETURN(env, call, "ERR_AEAD_NAPI", false)

static napi_value throw_type_error(napi_env env, const char *message) {
  napi_throw_type_error(env, "ERR_INVALID_ARG_TYPE", message);
  return NULL;
}

static napi_value throw_range_error(napi_env env, const char *message) {
  napi_throw_range_error(env, "ERR_OUT_OF_RANGE", message);
  return NULL;
}

/* "<name> <expectation>" where name is e.g. "nonce" or "nonces[3]". */
static void throw_named(napi_env env, bool range, const char *name, const char *expectation) {
  char message[96];
  snprintf(message, sizeof message, "%s %s", name, expectation);
  if (range) {
    throw_range_error(env, message);
  } else {
    throw_type_error(env, message);
  }
}

/* This environment's state, or NULL with an Error thrown. */
static addon_state *get_state(napi_env env) { return addon_instance_data(env, "ERR_AEAD_NAPI"); }

static bool is_undefined(napi_env env, napi_value value) {
  napi_valuetype kind;
  return napi_typeof(env, value, &kind) == napi_ok && kind == napi_undefined;
}

static bool read_algorithm(napi_env env, napi_value value, aead_algorithm *algorithm) {
  napi_valuetype kind;
  char name[24];
  size_t name_length = 0;
  if (napi_typeof(env, value, &kind) != napi_ok || kind != napi_string ||
      napi_get_value_string_utf8(env, value, name, sizeof name, &name_length) != napi_ok) {
    throw_type_error(env, "algorithm must be \"chacha20-poly1305\" or \"xsalsa20-poly1305\"");
    return false;
  }
  /* Longer names are truncated to 23 bytes, which neither algorithm name is. */
  if (strcmp(name, "chacha20-poly1305") == 0) {
    *algorithm = ALGORITHM_CHACHA20_POLY1305;
  } else if (strcmp(name, "xsalsa20-poly1305") == 0) {
    *algorithm = ALGORITHM_XSALSA20_POLY1305;
  } else {
    throw_type_error(env, "algorithm must be \"chacha20-poly1305\" or \"xsalsa20-poly1305\"");
    return false;
  }
  return true;
}

static size_t nonce_bytes(aead_algorithm algorithm) {
  return algorithm == ALGORITHM_CHACHA20_POLY1305 ? AEAD_CHACHA_NONCE_BYTES : AEAD_XSALSA_NONCE_BYTES;
}

/* Copies the 32-byte key, or throws. */
static bool read_key(napi_env env, napi_value value, uint8_t key[AEAD_KEY_BYTES]) {
  const uint8_t *data = NULL;
  size_t length = 0;
  if (!read_uint8array(env, value, &data, &length)) {
    throw_type_error(env, "key must be a Uint8Array");
    return false;
  }
  if (length != AEAD_KEY_BYTES) {
    throw_range_error(env, "key must be 32 bytes");
    return false;
  }
  memcpy(key, data, AEAD_KEY_BYTES);
  return true;
}

/* The pieces of one record, read from JS values (no JS runs while these pointers are held). */
typedef struct {
  uint8_t nonce[AEAD_XSALSA_NONCE_BYTES];
  const uint8_t *data;
  size_t data_length;
  const uint8_t *aad;
  size_t aad_length;
} record_args;

/* Throws for a field of record `index`: "nonce must ..." alone, "nonces[3] must ..." in a
 * batch (names are only built here, on the error path). */
static bool throw_record_error(napi_env env, bool range, const char *single, const char *plural, bool batch,
                               uint32_t index, const char *expectation) {
  char name[48];
  if (batch) {
    snprintf(name, sizeof name, "%s[%u]", plural, (unsigned)index);
  } else {
    snprintf(name, sizeof name, "%s", single);
  }
  throw_named(env, range, name, expectation);
  return false;
}

/*
 * Checks and reads one record's nonce, data and AAD (aad_value NULL: none). The data is
 * "plaintext(s)" when sealing, bounded by 64 KiB, and "sealed" when opening, of any length
 * (open answers null for impossible lengths).
 */
static bool read_record(napi_env env, aead_algorithm algorithm, bool sealing, bool batch, uint32_t index,
                        napi_value nonce_value, napi_value data_value, napi_value aad_value,
                        record_args *record) {
  const uint8_t *nonce = NULL;
  size_t nonce_length = 0;
  if (!read_uint8array(env, nonce_value, &nonce, &nonce_length)) {
    return throw_record_error(env, false, "nonce", "nonces", batch, index, "must be a Uint8Array");
  }
  if (nonce_length != nonce_bytes(algorithm)) {
    return throw_record_error(env, true, "nonce", "nonces", batch, index,
                              algorithm == ALGORITHM_CHACHA20_POLY1305 ? "must be 12 bytes" : "must be 24 bytes");
  }
  memcpy(record->nonce, nonce, nonce_length);

  const char *data_single = sealing ? "plaintext" : "sealed";
  const char *data_plural = sealing ? "plaintexts" : "sealed";
  if (!read_uint8array(env, data_value, &record->data, &record->data_length)) {
    return throw_record_error(env, false, data_single, data_plural, batch, index, "must be a Uint8Array");
  }
  if (sealing && record->data_length > AEAD_MAX_PLAINTEXT) {
    return throw_record_error(env, true, data_single, data_plural, batch, index, "must be at most 65536 bytes");
  }

  record->aad = NULL;
  record->aad_length = 0;
  if (aad_value != NULL) {
    if (!read_uint8array(env, aad_value, &record->aad, &record->aad_length)) {
      return throw_record_error(env, false, "aad", "aads", batch, index, "must be a Uint8Array");
    }
    if (record->aad_length > AEAD_MAX_AAD) {
      return throw_record_error(env, true, "aad", "aads", batch, index, "must be at most 65536 bytes");
    }
  }
  return true;
}

/* Seals into out (data_length + 16 bytes); false with an Error thrown. */
static bool seal_into(napi_env env, addon_state *state, aead_algorithm algorithm, const uint8_t key[AEAD_KEY_BYTES],
                      const record_args *record, uint8_t *out) {
  if (algorithm == ALGORITHM_XSALSA20_POLY1305) {
    aead_xsalsa20poly1305_seal(key, record->nonce, record->data, record->data_length, out);
  } else if (aead_chacha20poly1305_seal(&state->chacha, key, record->nonce, record->aad, record->aad_length,
                                        record->data, record->data_length, out) != 1) {
    napi_throw_error(env, "ERR_AEAD_OPENSSL", "OpenSSL failed to seal a record");
    return false;
  }
  return true;
}

/* Whether a sealed record of this length could have come from seal. */
static bool openable_length(size_t sealed_length) {
  return sealed_length >= AEAD_TAG_BYTES && sealed_length - AEAD_TAG_BYTES <= AEAD_MAX_PLAINTEXT;
}

/* Opens into out (data_length - 16 bytes; the record has an openable length). Returns
 * AEAD_OPEN_OK, AEAD_OPEN_FORGED (out zeroed), or AEAD_INTERNAL_ERROR with an Error thrown. */
static int open_into(napi_env env, addon_state *state, aead_algorithm algorithm, const uint8_t key[AEAD_KEY_BYTES],
                     const record_args *record, uint8_t *out) {
  size_t length = record->data_length - AEAD_TAG_BYTES;
  uint8_t empty[1];
  if (length == 0 || out == NULL) out = empty;
  int opened;
  if (algorithm == ALGORITHM_XSALSA20_POLY1305) {
    opened = aead_xsalsa20poly1305_open(key, record->nonce, record->data, record->data_length, out);
  } else {
    opened = aead_chacha20poly1305_open(&state->chacha, key, record->nonce, record->aad, record->aad_length,
                                        record->data, record->data_length, out);
  }
  if (opened == AEAD_INTERNAL_ERROR) napi_throw_error(env, "ERR_AEAD_OPENSSL", "OpenSSL failed to open a record");
  /* A batch's forged records stay in its shared ArrayBuffer (reachable through view.buffer):
   * leave zeros there, never leftovers. */
  if (opened != AEAD_OPEN_OK && out != empty) memset(out, 0, length);
  return opened;
}

/* Seals one record into a new Buffer (NULL with an exception pending on failure). */
static napi_value seal_record(napi_env env, addon_state *state, aead_algorithm algorithm,
                              const uint8_t key[AEAD_KEY_BYTES], const record_args *record) {
  napi_value result;
  uint8_t *out = NULL;
  NAPI_CALL(env, napi_create_buffer(env, record->data_length + AEAD_TAG_BYTES, (void **)&out, &result));
  return seal_into(env, state, algorithm, key, record, out) ? result : NULL;
}

/* Opens one record into a new Buffer, or JS null when it does not authenticate. */
static napi_value open_record(napi_env env, addon_state *state, aead_algorithm algorithm,
                              const uint8_t key[AEAD_KEY_BYTES], const record_args *record) {
  napi_value result;
  if (!openable_length(record->data_length)) {
    NAPI_CALL(env, napi_get_null(env, &result));
    return result;
  }
  uint8_t *out = NULL;
  NAPI_CALL(env, napi_create_buffer(env, record->data_length - AEAD_TAG_BYTES, (void **)&out, &result));
  int opened = open_into(env, state, algorithm, key, record, out);
  if (opened == AEAD_INTERNAL_ERROR) return NULL;
  if (opened != AEAD_OPEN_OK) NAPI_CALL(env, napi_get_null(env, &result));
  return result;
}

/*
 * What every seal/open call starts with: its five arguments (algorithm, key, nonce(s),
 * data, aad(s)?), the environment's state, the algorithm and a copy of the key. False with
 * an exception pending.
 */
static bool read_call(napi_env env, napi_callback_info info, napi_value argv[5], addon_state **state,
                      aead_algorithm *algorithm, uint8_t key[AEAD_KEY_BYTES]) {
  size_t argc = 5;
  NAPI_CALL_BOOL(env, napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  *state = get_state(env);
  return *state != NULL && read_algorithm(env, argv[0], algorithm) && read_key(env, argv[1], key);
}

/* seal(...) and open(...): argv = algorithm, key, nonce, data, aad? */
static napi_value one_record(napi_env env, napi_callback_info info, bool sealing) {
  napi_value argv[5];
  addon_state *state;
  aead_algorithm algorithm;
  uint8_t key[AEAD_KEY_BYTES];
  if (!read_call(env, info, argv, &state, &algorithm, key)) return NULL;
  napi_value aad_value = is_undefined(env, argv[4]) ? NULL : argv[4];
  if (aad_value != NULL && algorithm == ALGORITHM_XSALSA20_POLY1305) {
    return throw_type_error(env, "aad is not supported by xsalsa20-poly1305");
  }
  record_args record;
  if (!read_record(env, algorithm, sealing, false, 0, argv[2], argv[3], aad_value, &record)) return NULL;
  napi_value result = sealing ? seal_record(env, state, algorithm, key, &record)
                              : open_record(env, state, algorithm, key, &record);
  memset(key, 0, sizeof key);
  return result;
}

static napi_value seal(napi_env env, napi_callback_info info) {
  return one_record(env, info, true);
}

static napi_value open_(napi_env env, napi_callback_info info) {
  return one_record(env, info, false);
}

/* A real array (napi_is_array: not a Proxy), with its length; or a TypeError. */
static bool read_array(napi_env env, napi_value value, const char *message, uint32_t *length) {
  bool is_array = false;
  NAPI_CALL_BOOL(env, napi_is_array(env, value, &is_array));
  if (!is_array) {
    throw_type_error(env, message);
    return false;
  }
  NAPI_CALL_BOOL(env, napi_get_array_length(env, value, length));
  return true;
}

/* One record of a batch: its JS values, then its checked arguments and place in the output. */
typedef struct {
  napi_value nonce, data, aad;
  record_args args;
  size_t offset, length;
  bool opened;
} batch_record;

/*
 * The body of sealBatch/openBatch once the arrays are checked: fetch every element (getters
 * run here, and only here), check every record, allocate one output Buffer for the whole batch,
 * seal or open into it, then hand out one Buffer view per record (null for a forged one).
 * One allocation per batch instead of one per record is most of what batching buys.
 */
static napi_value batch_records(napi_env env, addon_state *state, aead_algorithm algorithm,
                                const uint8_t key[AEAD_KEY_BYTES], bool sealing, napi_value *argv, uint32_t count,
                                bool with_aads, batch_record *records) {
  for (uint32_t i = 0; i < count; i++) {
    NAPI_CALL(env, napi_get_element(env, argv[2], i, &records[i].nonce));
    NAPI_CALL(env, napi_get_element(env, argv[3], i, &records[i].data));
    records[i].aad = NULL;
    if (with_aads) NAPI_CALL(env, napi_get_element(env, argv[4], i, &records[i].aad));
  }
  /* From here on no JS runs until the views are made, so the pointers read below stay valid. */
  size_t total = 0;
  for (uint32_t i = 0; i < count; i++) {
    batch_record *record = &records[i];
    if (!read_record(env, algorithm, sealing, true, i, record->nonce, record->data, record->aad, &record->args)) {
      return NULL;
    }
    size_t data_length = record->args.data_length;
    record->opened = sealing || openable_length(data_length);
    record->length = sealing ? data_length + AEAD_TAG_BYTES : record->opened ? data_length - AEAD_TAG_BYTES : 0;
    record->offset = total;
    if (record->length > MAX_BATCH_BYTES - total) {
      return throw_range_error(env, "a batch must come to at most 67108864 bytes");
    }
    total += record->length;
  }

  napi_value output, arraybuffer;
  uint8_t *out = NULL;
  size_t output_offset = 0;
  NAPI_CALL(env, napi_create_buffer(env, total, (void **)&out, &output));
  NAPI_CALL(env, napi_get_typedarray_info(env, output, NULL, NULL, NULL, &arraybuffer, &output_offset));
  for (uint32_t i = 0; i < count; i++) {
    batch_record *record = &records[i];
    if (sealing) {
      if (!seal_into(env, state, algorithm, key, &record->args, out + record->offset)) return NULL;
    } else if (record->opened) {
      int opened = open_into(env, state, algorithm, key, &record->args, out + record->offset);
      if (opened == AEAD_INTERNAL_ERROR) return NULL;
      record->opened = opened == AEAD_OPEN_OK;
    }
  }

  /* Spans for makeViews: offsets within the ArrayBuffer (< 2^31: batches are at most 64 MiB). */
  napi_value spans_buffer, spans, make_views, results;
  int32_t *span = NULL;
  NAPI_CALL(env, napi_create_arraybuffer(env, (size_t)count * 2 * sizeof(int32_t) + 1, (void **)&span, &spans_buffer));
  NAPI_CALL(env, napi_create_typedarray(env, napi_int32_array, (size_t)count * 2, spans_buffer, 0, &spans));
  for (uint32_t i = 0; i < count; i++) {
    span[2 * i] = (int32_t)(output_offset + records[i].offset);
    span[2 * i + 1] = records[i].opened ? (int32_t)records[i].length : -1;
  }
  NAPI_CALL(env, napi_get_reference_value(env, state->make_views, &make_views));
  napi_value view_args[2] = {arraybuffer, spans};
  NAPI_CALL(env, napi_call_function(env, make_views, make_views, 2, view_args, &results));
  return results;
}

/* sealBatch(...) and openBatch(...): argv = algorithm, key, nonces, data, aads? */
static napi_value batch(napi_env env, napi_callback_info info, bool sealing) {
  napi_value argv[5];
  addon_state *state;
  aead_algorithm algorithm;
  uint8_t key[AEAD_KEY_BYTES];
  if (!read_call(env, info, argv, &state, &algorithm, key)) return NULL;

  const char *data_name = sealing ? "plaintexts" : "sealed";
  char message[96];
  uint32_t count = 0, data_count = 0, aad_count = 0;
  if (!read_array(env, argv[2], "nonces must be an array of Uint8Array", &count)) return NULL;
  snprintf(message, sizeof message, "%s must be an array of Uint8Array", data_name);
  if (!read_array(env, argv[3], message, &data_count)) return NULL;
  if (data_count != count) {
    snprintf(message, sizeof message, "nonces and %s must have the same length", data_name);
    return throw_type_error(env, message);
  }
  if (count > MAX_BATCH_RECORDS) return throw_range_error(env, "too many records in one batch");
  bool with_aads = !is_undefined(env, argv[4]);
  if (with_aads) {
    if (algorithm == ALGORITHM_XSALSA20_POLY1305) {
      return throw_type_error(env, "aads is not supported by xsalsa20-poly1305");
    }
    if (!read_array(env, argv[4], "aads must be an array of Uint8Array", &aad_count)) return NULL;
    if (aad_count != count) {
      snprintf(message, sizeof message, "aads and %s must have the same length", data_name);
      return throw_type_error(env, message);
    }
  }

  batch_record *records = calloc(count == 0 ? 1 : count, sizeof *records);
  if (records == NULL) {
    napi_throw_error(env, "ERR_AEAD_NO_MEMORY", "out of memory");
    return NULL;
  }
  napi_value results = batch_records(env, state, algorithm, key, sealing, argv, count, with_aads, records);
  free(records);
  memset(key, 0, sizeof key);
  return results;
}

static napi_value seal_batch(napi_env env, napi_callback_info info) {
  return batch(env, info, true);
}

static napi_value open_batch(napi_env env, napi_callback_info info) {
  return batch(env, info, false);
}

static napi_value get_backend(napi_env env, napi_callback_info info) {
  (void)info;
  addon_state *state = get_state(env);
  if (state == NULL) return NULL;
  napi_value name;
  const char *backend = state->chacha.backend == AEAD_BACKEND_OPENSSL ? "openssl" : "portable";
  NAPI_CALL(env, napi_create_string_utf8(env, backend, NAPI_AUTO_LENGTH, &name));
  return name;
}

static napi_value set_backend(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  NAPI_CALL(env, napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  addon_state *state = get_state(env);
  if (state == NULL) return NULL;
  int openssl = read_backend_choice(env, argv[0], aead_openssl_available(), "ERR_AEAD_NO_OPENSSL",
                                    "this Node process exports no OpenSSL ChaCha20-Poly1305");
  if (openssl < 0) return NULL;
  aead_chacha_init(&state->chacha, openssl ? AEAD_BACKEND_OPENSSL : AEAD_BACKEND_PORTABLE);
  napi_value undefined;
  NAPI_CALL(env, napi_get_undefined(env, &undefined));
  return undefined;
}

static void free_state(napi_env env, void *data, void *hint) {
  (void)env;
  (void)hint;
  addon_state *state = data;
  aead_chacha_release(&state->chacha);
  free(state);
}

static napi_value init(napi_env env, napi_value exports) {
  addon_state *state = calloc(1, sizeof *state);
  if (state == NULL) {
    napi_throw_error(env, "ERR_AEAD_NO_MEMORY", "out of memory");
    return NULL;
  }
  /* NYMOTE_AEAD_PORTABLE=1 forces the portable C code (tests, and a way out should the host
   * OpenSSL misbehave). */
  const char *force_portable = getenv("NYMOTE_AEAD_PORTABLE");
  bool portable = force_portable != NULL && strcmp(force_portable, "1") == 0;
  aead_chacha_init(&state->chacha, portable ? AEAD_BACKEND_PORTABLE : AEAD_BACKEND_OPENSSL);
  if (napi_set_instance_data(env, state, free_state, NULL) != napi_ok) {
    free(state);
    napi_throw_error(env, "ERR_AEAD_NAPI", "could not set instance data");
    return NULL;
  }
  /* The reference lives as long as the environment (N-API frees it at teardown). */
  napi_value source, make_views;
  NAPI_CALL(env, napi_create_string_utf8(env, make_views_source, sizeof make_views_source - 1, &source));
  NAPI_CALL(env, napi_run_script(env, source, &make_views));
  NAPI_CALL(env, napi_create_reference(env, make_views, 1, &state->make_views));

  napi_property_descriptor properties[] = {
      {"seal", NULL, seal, NULL, NULL, NULL, napi_enumerable, NULL},
      {"open", NULL, open_, NULL, NULL, NULL, napi_enumerable, NULL},
      {"sealBatch", NULL, seal_batch, NULL, NULL, NULL, napi_enumerable, NULL},
      {"openBatch", NULL, open_batch, NULL, NULL, NULL, napi_enumerable, NULL},
      {"backend", NULL, get_backend, NULL, NULL, NULL, napi_enumerable, NULL},
      {"setBackend", NULL, set_backend, NULL, NULL, NULL, napi_enumerable, NULL},
  };
  NAPI_CALL(env, napi_define_properties(env, exports, sizeof properties / sizeof properties[0],
                                        properties));
  return exports;
}

NAPI_MODULE(NODE_GYP_MODULE_NAME, init)
