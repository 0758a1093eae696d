/*
 * SHA-1 core shared by the N-API addon and the fuzz target (no N-API in here).
 *
 * Two backends behind one context type:
 *  - "openssl": SHA1_Init/Update/Final of the OpenSSL that the running process already
 *    carries (Node exports them, or links libcrypto dynamically), found with dlsym at run
 *    time, so we get its assembly (SHA-NI, ARMv8 crypto) without shipping a second copy;
 *  - "portable": a small C implementation used when those symbols are absent (or forced).
 * A context keeps the backend it was started with, so switching the default never corrupts
 * a hash in progress.
 */
#ifndef NYMOTE_SHA1_CORE_H
#define NYMOTE_SHA1_CORE_H

#include <stddef.h>
#include <stdint.h>

#define SHA1_DIGEST_BYTES 20

/* "commit 18446744073709551615\0" is 28 bytes; leave room. */
#define SHA1_OBJECT_HEADER_MAX 32

typedef enum { SHA1_BACKEND_PORTABLE = 0, SHA1_BACKEND_OPENSSL = 1 } sha1_backend;

typedef struct {
  uint32_t state[5];
  uint64_t total_bytes;
  uint8_t block[64];
  size_t block_used;
} sha1_portable_ctx;

typedef struct {
  sha1_backend backend;
  union {
    sha1_portable_ctx portable;
    /* OpenSSL's SHA_CTX is 96 bytes; opaque and generously sized so that we never depend
     * on its layout. */
    _Alignas(16) unsigned char openssl[256];
  } u;
} sha1_ctx;

/* Resolves OpenSSL's symbols once; returns 1 when the openssl backend is available. */
int sha1_openssl_available(void);

void sha1_init(sha1_ctx *ctx, sha1_backend backend);
void sha1_update(sha1_ctx *ctx, const void *data, size_t length);
void sha1_final(sha1_ctx *ctx, uint8_t digest[SHA1_DIGEST_BYTES]);

void sha1_portable_init(sha1_portable_ctx *ctx);
void sha1_portable_update(sha1_portable_ctx *ctx, const void *data, size_t length);
void sha1_portable_final(sha1_portable_ctx *ctx, uint8_t digest[SHA1_DIGEST_BYTES]);

/* Git object types: "blob", "tree", "commit", "tag". Returns 1 if `name` (of `length`
 * bytes, not NUL-terminated) is one of them. */
int sha1_is_object_type(const char *name, size_t length);

/* Writes "<type> <length>\0" into `out` (at least SHA1_OBJECT_HEADER_MAX bytes) and returns
 * the number of bytes written, or 0 if `type` is not a git object type. */
size_t sha1_object_header(const char *type, size_t type_length, uint64_t content_length,
                          uint8_t out[SHA1_OBJECT_HEADER_MAX]);

/* sha1("<type> <length>\0" + content) in one call. Returns 0 for an unknown type. */
int sha1_object_id(sha1_backend backend, const char *type, size_t type_length, const void *content,
                   size_t content_length, uint8_t digest[SHA1_DIGEST_BYTES]);

#endif
