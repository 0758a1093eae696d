/* SHA-1 core: portable C implementation plus run-time binding to the host's OpenSSL. */
#define _GNU_SOURCE
#include "sha1_core.h"

#include <dlfcn.h>
#include <pthread.h>
#include <string.h>

/* ---- OpenSSL from the running process ------------------------------------------------ */

typedef int (*openssl_sha1_init_fn)(void *ctx);
typedef int (*openssl_sha1_update_fn)(void *ctx, const void *data, size_t length);
typedef int (*openssl_sha1_final_fn)(unsigned char *digest, void *ctx);

static struct {
  openssl_sha1_init_fn init;
  openssl_sha1_update_fn update;
  openssl_sha1_final_fn final;
} openssl;

static pthread_once_t openssl_once = PTHREAD_ONCE_INIT;

static void resolve_openssl(void) {
  /* RTLD_DEFAULT searches the executable and everything loaded with it: Node's own
   * statically linked OpenSSL (official and NodeSource builds export it) or the
   * libcrypto.so.3 that Debian's nodejs links. Never a copy of our own. */
  openssl_sha1_init_fn init = (openssl_sha1_init_fn)dlsym(RTLD_DEFAULT, "SHA1_Init");
  openssl_sha1_update_fn update = (openssl_sha1_update_fn)dlsym(RTLD_DEFAULT, "SHA1_Update");
  openssl_sha1_final_fn final = (openssl_sha1_final_fn)dlsym(RTLD_DEFAULT, "SHA1_Final");
  if (init != NULL && update != NULL && final != NULL) {
    openssl.init = init;
    openssl.update = update;
    openssl.final = final;
  }
}

int sha1_openssl_available(void) {
  pthread_once(&openssl_once, resolve_openssl);
  return openssl.init != NULL;
}

/* ---- portable SHA-1 (FIPS 180-4) ------------------------------------------------------ */

static uint32_t rotl32(uint32_t value, unsigned bits) {
  return (value << bits) | (value >> (32 - bits));
}

static uint32_t load_be32(const uint8_t *bytes) {
  return ((uint32_t)bytes[0] << 24) | ((uint32_t)bytes[1] << 16) | ((uint32_t)bytes[2] << 8) |
         (uint32_t)bytes[3];
}

static void store_be32(uint8_t *bytes, uint32_t value) {
  bytes[0] = (uint8_t)(value >> 24);
  bytes[1] = (uint8_t)(value >> 16);
  bytes[2] = (uint8_t)(value >> 8);
  bytes[3] = (uint8_t)value;
}

static void compress_block(uint32_t state[5], const uint8_t block[64]) {
  uint32_t w[80];
  for (int i = 0; i < 16; i++) w[i] = load_be32(block + 4 * i);
  for (int i = 16; i < 80; i++) w[i] = rotl32(w[i - 3] ^ w[i - 8] ^ w[i - 14] ^ w[i - 16], 1);

  uint32_t a = state[0], b = state[1], c = state[2], d = state[3], e = state[4];
  for (int i = 0; i < 80; i++) {
    uint32_t f, k;
    if (i < 20) {
      f = (b & c) | (~b & d);
      k = 0x5A827999u;
    } else if (i < 40) {
      f = b ^ c ^ d;
      k = 0x6ED9EBA1u;
    } else if (i < 60) {
      f = (b & c) | (b & d) | (c & d);
      k = 0x8F1BBCDCu;
    } else {
      f = b ^ c ^ d;
      k = 0xCA62C1D6u;
    }
    uint32_t next = rotl32(a, 5) + f + e + k + w[i];
    e = d;
    d = c;
    c = rotl32(b, 30);
    b = a;
    a = next;
  }
  state[0] += a;
  state[1] += b;
  state[2] += c;
  state[3] += d;
  state[4] += e;
}

void sha1_portable_init(sha1_portable_ctx *ctx) {
  static const uint32_t initial[5] = {0x67452301u, 0xEFCDAB89u, 0x98BADCFEu, 0x10325476u,
                                      0xC3D2E1F0u};
  memcpy(ctx->state, initial, sizeof initial);
  ctx->total_bytes = 0;
  ctx->block_used = 0;
}

void sha1_portable_update(sha1_portable_ctx *ctx, const void *data, size_t length) {
  const uint8_t *bytes = data;
  ctx->total_bytes += length;
  if (ctx->block_used > 0) {
    size_t room = sizeof ctx->block - ctx->block_used;
    size_t take = length < room ? length : room;
    memcpy(ctx->block + ctx->block_used, bytes, take);
    ctx->block_used += take;
    bytes += take;
    length -= take;
    if (ctx->block_used < sizeof ctx->block) return;
    compress_block(ctx->state, ctx->block);
    ctx->block_used = 0;
  }
  for (; length >= 64; bytes += 64, length -= 64) compress_block(ctx->state, bytes);
  if (length > 0) {
    memcpy(ctx->block, bytes, length);
    ctx->block_used = length;
  }
}

void sha1_portable_final(sha1_portable_ctx *ctx, uint8_t digest[SHA1_DIGEST_BYTES]) {
  uint64_t total_bits = ctx->total_bytes * 8;
  ctx->block[ctx->block_used++] = 0x80;
  if (ctx->block_used > 56) {
    memset(ctx->block + ctx->block_used, 0, 64 - ctx->block_used);
    compress_block(ctx->state, ctx->block);
    ctx->block_used = 0;
  }
  memset(ctx->block + ctx->block_used, 0, 56 - ctx->block_used);
  store_be32(ctx->block + 56, (uint32_t)(total_bits >> 32));
  store_be32(ctx->block + 60, (uint32_t)total_bits);
  compress_block(ctx->state, ctx->block);
  for (int i = 0; i < 5; i++) store_be32(digest + 4 * i, ctx->state[i]);
}

/* ---- one context type over both backends ---------------------------------------------- */

void sha1_init(sha1_ctx *ctx, sha1_backend backend) {
  if (backend == SHA1_BACKEND_OPENSSL && sha1_openssl_available()) {
    ctx->backend = SHA1_BACKEND_OPENSSL;
    openssl.init(ctx->u.openssl);
  } else {
    ctx->backend = SHA1_BACKEND_PORTABLE;
    sha1_portable_init(&ctx->u.portable);
  }
}

void sha1_update(sha1_ctx *ctx, const void *data, size_t length) {
  if (length == 0) return;
  if (ctx->backend == SHA1_BACKEND_OPENSSL) {
    openssl.update(ctx->u.openssl, data, length);
  } else {
    sha1_portable_update(&ctx->u.portable, data, length);
  }
}

void sha1_final(sha1_ctx *ctx, uint8_t digest[SHA1_DIGEST_BYTES]) {
  if (ctx->backend == SHA1_BACKEND_OPENSSL) {
    openssl.final(digest, ctx->u.openssl);
  } else {
    sha1_portable_final(&ctx->u.portable, digest);
  }
}

/* ---- git objects ---------------------------------------------------------------------- */

int sha1_is_object_type(const char *name, size_t length) {
  static const char *const types[] = {"blob", "tree", "commit", "tag"};
  for (size_t i = 0; i < sizeof types / sizeof types[0]; i++) {
    if (strlen(types[i]) == length && memcmp(types[i], name, length) == 0) return 1;
  }
  return 0;
}

size_t sha1_object_header(const char *type, size_t type_length, uint64_t content_length,
                          uint8_t out[SHA1_OBJECT_HEADER_MAX]) {
  if (!sha1_is_object_type(type, type_length)) return 0;
  /* Decimal digits of the length, written backwards into a small scratch buffer. */
  char digits[20];
  size_t digit_count = 0;
  do {
    digits[digit_count++] = (char)('0' + content_length % 10);
    content_length /= 10;
  } while (content_length > 0);

  size_t used = 0;
  memcpy(out, type, type_length); /* type_length <= 6, checked above */
  used += type_length;
  out[used++] = ' ';
  while (digit_count > 0) out[used++] = (uint8_t)digits[--digit_count];
  out[used++] = '\0';
  return used;
}

int sha1_object_id(sha1_backend backend, const char *type, size_t type_length, const void *content,
                   size_t content_length, uint8_t digest[SHA1_DIGEST_BYTES]) {
  uint8_t header[SHA1_OBJECT_HEADER_MAX];
  size_t header_length = sha1_object_header(type, type_length, content_length, header);
  if (header_length == 0) return 0;
  sha1_ctx ctx;
  sha1_init(&ctx, backend);
  sha1_update(&ctx, header, header_length);
  sha1_update(&ctx, content, content_length);
  sha1_final(&ctx, digest);
  return 1;
}
