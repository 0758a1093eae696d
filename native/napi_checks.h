/*
 * Shared by the addons: evaluates an N-API call; on failure throws `code` (unless an exception
 * is already pending, which then stands) and returns `failed` from the calling function.
 * Each addon wraps it with its own error code, e.g.
 *   #define NAPI_CALL(env, call) NAPI_CALL_OR_RETURN(env, call, "ERR_SHA1_NAPI", NULL)
 */
#ifndef NYMOTE_NAPI_CHECKS_H
#define NYMOTE_NAPI_CHECKS_H

#include <stdbool.h>

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

#endif
