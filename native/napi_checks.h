/*
 * N-API helpers shared by the addons. NAPI_CALL_OR_RETURN evaluates an N-API call; on failure
 * it throws `code` (unless an exception is already pending, which then stands) and returns
 * `failed` from the calling function. Each addon wraps it with its own error code, e.g.
 *   #define NAPI_CALL(env, call) NAPI_CALL_OR_RETURN(env, call, "ERR_SHA1_NAPI", NULL)
 */
#ifndef NYMOTE_NAPI_CHECKS_H
#define NYMOTE_NAPI_CHECKS_H

#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include <node_api.h>

#define NAPI_CALL_OR_RETURN(env, call, code, failed)                        \
  do {                                                                      \
    if ((call) != napi_ok) {                                                \
      bool pending = false;                                                 \
      napi_is_exception_pending((env), &pending);                           \
      if (!pending) napi_throw_error((env), (code), "N-API call failed");   \
      return failed;                                                        \
    }                                                                       \
  } while (0)

/* This environment's instance data (the addon's state), or NULL with Error `code` thrown. */
static inline void *addon_instance_data(napi_env env, const char *code) {
  void *data = NULL;
  if (napi_get_instance_data(env, &data) != napi_ok || data == NULL) {
    napi_throw_error(env, code, "addon not initialised");
    return NULL;
  }
  return data;
}

/* True (with data/length filled) when `value` is a Uint8Array, Buffer included. */
static inline bool read_uint8array(napi_env env, napi_value value, const uint8_t **data, size_t *length) {
  bool is_typedarray = false;
  if (napi_is_typedarray(env, value, &is_typedarray) != napi_ok || !is_typedarray) return false;
  napi_typedarray_type type;
  void *bytes = NULL;
  if (napi_get_typedarray_info(env, value, &type, length, &bytes, NULL, NULL) != napi_ok) return false;
  if (type != napi_uint8_array) return false;
  /* A zero-length view may have no backing store; hand the core a valid pointer anyway. */
  *data = *length == 0 ? (const uint8_t *)"" : bytes;
  return true;
}

/*
 * The backend a setBackend(name) call asks for (sha1, aead): 1 for "openssl", 0 for
 * "portable", -1 with a TypeError thrown for anything else, or with an Error (`code`,
 * `unavailable`) when "openssl" is asked for and this Node process does not export it.
 */
static inline int read_backend_choice(napi_env env, napi_value value, bool openssl_available, const char *code,
                                      const char *unavailable) {
  static const char *const message = "backend must be \"openssl\" or \"portable\"";
  napi_valuetype kind;
  char name[16];
  size_t name_length = 0;
  if (napi_typeof(env, value, &kind) != napi_ok || kind != napi_string ||
      napi_get_value_string_utf8(env, value, name, sizeof name, &name_length) != napi_ok) {
    napi_throw_type_error(env, "ERR_INVALID_ARG_TYPE", message);
    return -1;
  }
  if (strcmp(name, "openssl") == 0) {
    if (openssl_available) return 1;
    napi_throw_error(env, code, unavailable);
    return -1;
  }
  if (strcmp(name, "portable") == 0) return 0;
  napi_throw_type_error(env, "ERR_INVALID_ARG_TYPE", message);
  return -1;
}

#endif
