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

#endif
