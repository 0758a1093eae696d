/*
 * N-API addon: git object hashing, sha1("<type> <length>\0" + content).
 *
 * hashObjects hashes a whole batch in one JS→C crossing; that is what makes it faster than
 * node:crypto's createHash on small objects, where per-call overhead dominates.
 * Each element is fetched and hashed before the next is fetched, so a getter on the array
 * cannot detach a buffer whose pointer we still hold.
 *
 * Exports (the JS twin in twin.ts has the same interface, see binding.ts):
 *   hashObjects(types: string | string[], contents: Uint8Array[]) -> Buffer (20 * n bytes)
 *   createHasher(type: string, length: number) -> handle
 *   update(handle, chunk: Uint8Array) -> undefined
 *   digest(handle) -> Buffer (20 bytes; throws unless exactly `length` bytes were given)
 *   sha1(data: Uint8Array) -> Buffer (raw SHA-1, e.g. pack trailers)
 *   backend() -> "openssl" | "portable"
 *   setBackend("openssl" | "portable")   (addon only: tests and benchmarks)
 */
#include <math.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <node_api.h>

#include "../napi_checks.h"

#include "sha1_core.h"

/* Largest integer a JS number holds exactly; bigger lengths cannot be declared honestly. */
#define MAX_SAFE_INTEGER 9007199254740991.0

/* Objects per hashObjects call (320 MiB of ids); keeps 20 * n far from overflowing size_t on
 * 32-bit boards. The twin enforces the same limit. */
#define MAX_BATCH_OBJECTS (1u << 24)

/* Per-environment state (main thread and each worker get their own). */
typedef struct {
  sha1_backend backend;
} addon_state;

typedef struct {
  sha1_ctx ctx;
  uint64_t declared_length;
  uint64_t received_length;
  bool digested;
} object_hasher;

/* Marks externals made by createHasher so that update/digest reject anything else. */
static const napi_type_tag object_hasher_tag = {0x6e796d6f74657368ull, 0x6131686173686572ull};

/* Missing arguments arrive as undefined (napi_get_cb_info fills them in), so argument checks
 * need no separate count check. */

#define NAPI_CALL(env, call) NAPI_CALL_OR_RETURN(env, call, "ERR_SHA1_NAPI", NULL)

static napi_value throw_type_error(napi_env env, const char *message) {
  napi_throw_type_error(env, "ERR_INVALID_ARG_TYPE", message);
  return NULL;
}

/* TypeError naming the offending array element, e.g. "contents[3] must be a Uint8Array". */
static napi_value throw_element_type_error(napi_env env, const char *array, uint32_t index,
                                           const char *expectation) {
  char message[96];
  snprintf(message, sizeof message, "%s[%u] %s", array, (unsigned)index, expectation);
  return throw_type_error(env, message);
}

static napi_value throw_range_error(napi_env env, const char *code, const char *message) {
  napi_throw_range_error(env, code, message);
  return NULL;
}

/* This environment's state, or NULL with an Error thrown. */
static addon_state *get_state(napi_env env) { return addon_instance_data(env, "ERR_SHA1_NAPI"); }

/* Copies a git object type name out of a JS string; false unless it is one of the four. */
static bool read_object_type(napi_env env, napi_value value, char name[8], size_t *name_length) {
  napi_valuetype kind;
  if (napi_typeof(env, value, &kind) != napi_ok || kind != napi_string) return false;
  if (napi_get_value_string_utf8(env, value, name, 8, name_length) != napi_ok) return false;
  /* Names longer than 7 bytes are truncated to 7, which no valid type has. */
  return sha1_is_object_type(name, *name_length);
}

static napi_value make_digest_buffer(napi_env env, const uint8_t digest[SHA1_DIGEST_BYTES]) {
  napi_value result;
  NAPI_CALL(env, napi_create_buffer_copy(env, SHA1_DIGEST_BYTES, digest, NULL, &result));
  return result;
}

static napi_value hash_objects(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2];
  NAPI_CALL(env, napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  addon_state *state = get_state(env);
  if (state == NULL) return NULL;

  bool contents_is_array = false;
  NAPI_CALL(env, napi_is_array(env, argv[1], &contents_is_array));
  if (!contents_is_array) {
    return throw_type_error(env, "contents must be an array of Uint8Array");
  }
  uint32_t count = 0;
  NAPI_CALL(env, napi_get_array_length(env, argv[1], &count));
  if (count > MAX_BATCH_OBJECTS) {
    return throw_range_error(env, "ERR_OUT_OF_RANGE", "too many objects in one batch");
  }

  /* One type for the whole batch, or one per object. */
  char shared_type[8];
  size_t shared_type_length = 0;
  bool per_object_types = false;
  NAPI_CALL(env, napi_is_array(env, argv[0], &per_object_types));
  if (per_object_types) {
    uint32_t type_count = 0;
    NAPI_CALL(env, napi_get_array_length(env, argv[0], &type_count));
    if (type_count != count) {
      return throw_type_error(env, "types and contents must have the same length");
    }
  } else if (!read_object_type(env, argv[0], shared_type, &shared_type_length)) {
    return throw_type_error(env, "type must be one of blob, tree, commit, tag");
  }

  napi_value result;
  uint8_t *out = NULL;
  NAPI_CALL(env, napi_create_buffer(env, (size_t)count * SHA1_DIGEST_BYTES, (void **)&out, &result));

  for (uint32_t i = 0; i < count; i++) {
    char item_type[8];
    size_t item_type_length = 0;
    const char *type = shared_type;
    size_t type_length = shared_type_length;
    if (per_object_types) {
      napi_value type_value;
      NAPI_CALL(env, napi_get_element(env, argv[0], i, &type_value));
      if (!read_object_type(env, type_value, item_type, &item_type_length)) {
        return throw_element_type_error(env, "types", i, "must be one of blob, tree, commit, tag");
      }
      type = item_type;
      type_length = item_type_length;
    }
    napi_value content_value;
    NAPI_CALL(env, napi_get_element(env, argv[1], i, &content_value));
    const uint8_t *content = NULL;
    size_t content_length = 0;
    if (!read_uint8array(env, content_value, &content, &content_length)) {
      return throw_element_type_error(env, "contents", i, "must be a Uint8Array");
    }
    sha1_object_id(state->backend, type, type_length, content, content_length,
                   out + (size_t)i * SHA1_DIGEST_BYTES);
  }
  return result;
}

/* Finalizer for memory handed to N-API (hasher handles, the addon's state). */
static void free_finalized(napi_env env, void *data, void *hint) {
  (void)env;
  (void)hint;
  free(data);
}

static napi_value create_hasher(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2];
  NAPI_CALL(env, napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  addon_state *state = get_state(env);
  if (state == NULL) return NULL;

  char type[8];
  size_t type_length = 0;
  if (!read_object_type(env, argv[0], type, &type_length)) {
    return throw_type_error(env, "type must be one of blob, tree, commit, tag");
  }
  napi_valuetype length_kind;
  NAPI_CALL(env, napi_typeof(env, argv[1], &length_kind));
  if (length_kind != napi_number) return throw_type_error(env, "length must be a number");
  double length = 0;
  NAPI_CALL(env, napi_get_value_double(env, argv[1], &length));
  if (!isfinite(length) || length < 0 || length > MAX_SAFE_INTEGER || floor(length) != length) {
    return throw_range_error(env, "ERR_OUT_OF_RANGE", "length must be a non-negative safe integer");
  }

  object_hasher *hasher = calloc(1, sizeof *hasher);
  if (hasher == NULL) {
    napi_throw_error(env, "ERR_SHA1_NO_MEMORY", "out of memory");
    return NULL;
  }
  hasher->declared_length = (uint64_t)length;
  uint8_t header[SHA1_OBJECT_HEADER_MAX];
  size_t header_length = sha1_object_header(type, type_length, hasher->declared_length, header);
  sha1_init(&hasher->ctx, state->backend);
  sha1_update(&hasher->ctx, header, header_length);

  napi_value handle;
  if (napi_create_external(env, hasher, free_finalized, NULL, &handle) != napi_ok) {
    free(hasher);
    napi_throw_error(env, "ERR_SHA1_NAPI", "could not create the hasher handle");
    return NULL;
  }
  NAPI_CALL(env, napi_type_tag_object(env, handle, &object_hasher_tag));
  return handle;
}

/* The hasher behind a handle from createHasher, or NULL (with a TypeError thrown). */
static object_hasher *unwrap_hasher(napi_env env, napi_value handle) {
  napi_valuetype kind;
  bool tagged = false;
  void *data = NULL;
  if (napi_typeof(env, handle, &kind) != napi_ok || kind != napi_external ||
      napi_check_object_type_tag(env, handle, &object_hasher_tag, &tagged) != napi_ok || !tagged ||
      napi_get_value_external(env, handle, &data) != napi_ok) {
    throw_type_error(env, "handle must come from createHasher");
    return NULL;
  }
  object_hasher *hasher = data;
  if (hasher->digested) {
    napi_throw_error(env, "ERR_SHA1_DIGESTED", "hasher already digested");
    return NULL;
  }
  return hasher;
}

static napi_value update_hasher(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2];
  NAPI_CALL(env, napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  object_hasher *hasher = unwrap_hasher(env, argv[0]);
  if (hasher == NULL) return NULL;
  const uint8_t *chunk = NULL;
  size_t chunk_length = 0;
  if (!read_uint8array(env, argv[1], &chunk, &chunk_length)) {
    return throw_type_error(env, "chunk must be a Uint8Array");
  }
  if (chunk_length > hasher->declared_length - hasher->received_length) {
    return throw_range_error(env, "ERR_SHA1_LENGTH_MISMATCH",
                             "chunk goes past the length declared to createHasher");
  }
  hasher->received_length += chunk_length;
  sha1_update(&hasher->ctx, chunk, chunk_length);
  napi_value undefined;
  NAPI_CALL(env, napi_get_undefined(env, &undefined));
  return undefined;
}

static napi_value digest_hasher(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  NAPI_CALL(env, napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  object_hasher *hasher = unwrap_hasher(env, argv[0]);
  if (hasher == NULL) return NULL;
  if (hasher->received_length != hasher->declared_length) {
    return throw_range_error(env, "ERR_SHA1_LENGTH_MISMATCH",
                             "fewer bytes than the length declared to createHasher");
  }
  uint8_t digest[SHA1_DIGEST_BYTES];
  sha1_final(&hasher->ctx, digest);
  hasher->digested = true;
  return make_digest_buffer(env, digest);
}

static napi_value raw_sha1(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  NAPI_CALL(env, napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  addon_state *state = get_state(env);
  if (state == NULL) return NULL;
  const uint8_t *data = NULL;
  size_t length = 0;
  if (!read_uint8array(env, argv[0], &data, &length)) {
    return throw_type_error(env, "data must be a Uint8Array");
  }
  sha1_ctx ctx;
  uint8_t digest[SHA1_DIGEST_BYTES];
  sha1_init(&ctx, state->backend);
  sha1_update(&ctx, data, length);
  sha1_final(&ctx, digest);
  return make_digest_buffer(env, digest);
}

static const char *backend_name(sha1_backend backend) {
  return backend == SHA1_BACKEND_OPENSSL ? "openssl" : "portable";
}

static napi_value get_backend(napi_env env, napi_callback_info info) {
  (void)info;
  addon_state *state = get_state(env);
  if (state == NULL) return NULL;
  napi_value name;
  NAPI_CALL(env, napi_create_string_utf8(env, backend_name(state->backend), NAPI_AUTO_LENGTH, &name));
  return name;
}

static napi_value set_backend(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  NAPI_CALL(env, napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  addon_state *state = get_state(env);
  if (state == NULL) return NULL;
  int openssl = read_backend_choice(env, argv[0], sha1_openssl_available(), "ERR_SHA1_NO_OPENSSL",
                                    "this Node process exports no OpenSSL SHA-1");
  if (openssl < 0) return NULL;
  state->backend = openssl ? SHA1_BACKEND_OPENSSL : SHA1_BACKEND_PORTABLE;
  napi_value undefined;
  NAPI_CALL(env, napi_get_undefined(env, &undefined));
  return undefined;
}

static napi_value init(napi_env env, napi_value exports) {
  addon_state *state = calloc(1, sizeof *state);
  if (state == NULL) {
    napi_throw_error(env, "ERR_SHA1_NO_MEMORY", "out of memory");
    return NULL;
  }
  /* NYMOTE_SHA1_PORTABLE=1 forces the portable C code (tests, and a way out should the host
   * OpenSSL misbehave). */
  const char *force_portable = getenv("NYMOTE_SHA1_PORTABLE");
  bool portable = force_portable != NULL && strcmp(force_portable, "1") == 0;
  state->backend = !portable && sha1_openssl_available() ? SHA1_BACKEND_OPENSSL : SHA1_BACKEND_PORTABLE;
  if (napi_set_instance_data(env, state, free_finalized, NULL) != napi_ok) {
    free(state);
    napi_throw_error(env, "ERR_SHA1_NAPI", "could not set instance data");
    return NULL;
  }

  napi_property_descriptor properties[] = {
      {"hashObjects", NULL, hash_objects, NULL, NULL, NULL, napi_enumerable, NULL},
      {"createHasher", NULL, create_hasher, NULL, NULL, NULL, napi_enumerable, NULL},
      {"update", NULL, update_hasher, NULL, NULL, NULL, napi_enumerable, NULL},
      {"digest", NULL, digest_hasher, NULL, NULL, NULL, napi_enumerable, NULL},
      {"sha1", NULL, raw_sha1, NULL, NULL, NULL, napi_enumerable, NULL},
      {"backend", NULL, get_backend, NULL, NULL, NULL, napi_enumerable, NULL},
      {"setBackend", NULL, set_backend, NULL, NULL, NULL, napi_enumerable, NULL},
  };
  NAPI_CALL(env, napi_define_properties(env, exports, sizeof properties / sizeof properties[0],
                                        properties));
  return exports;
}

NAPI_MODULE(NODE_GYP_MODULE_NAME, init)
