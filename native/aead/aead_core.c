/* AEAD core: portable ChaCha20/Salsa20/Poly1305 plus run-time binding to the host's OpenSSL. */
#define _GNU_SOURCE
#include "aead_core.h"

#include <dlfcn.h>
#include <limits.h>
#include <pthread.h>
#include <string.h>

/* ---- OpenSSL from the running process ------------------------------------------------ */

/* Values from <openssl/evp.h> (stable ABI since 1.1.0). */
#define EVP_CTRL_AEAD_GET_TAG 0x10
#define EVP_CTRL_AEAD_SET_TAG 0x11

typedef void *(*evp_ctx_new_fn)(void);
typedef void (*evp_ctx_free_fn)(void *ctx);
typedef const void *(*evp_cipher_getter_fn)(void);
typedef void *(*evp_cipher_fetch_fn)(void *libctx, const char *algorithm, const char *properties);
typedef int (*evp_cipher_init_fn)(void *ctx, const void *cipher, void *engine, const unsigned char *key,
                                  const unsigned char *iv, int enc);
typedef int (*evp_cipher_update_fn)(void *ctx, unsigned char *out, int *out_length,
                                    const unsigned char *in, int in_length);
typedef int (*evp_cipher_final_fn)(void *ctx, unsigned char *out, int *out_length);
typedef int (*evp_ctx_ctrl_fn)(void *ctx, int type, int arg, void *ptr);

static struct {
  evp_ctx_new_fn ctx_new;
  evp_ctx_free_fn ctx_free;
  evp_cipher_init_fn init;
  evp_cipher_update_fn update;
  evp_cipher_final_fn final;
  evp_ctx_ctrl_fn ctrl;
  const void *cipher;
} openssl;

static pthread_once_t openssl_once = PTHREAD_ONCE_INIT;

static void resolve_openssl(void) {
  /* RTLD_DEFAULT searches the executable and everything loaded with it: Node's own
   * statically linked OpenSSL (official and NodeSource builds export it) or the
   * libcrypto.so.3 that Debian's nodejs links. Never a copy of our own. */
  evp_ctx_new_fn ctx_new = (evp_ctx_new_fn)dlsym(RTLD_DEFAULT, "EVP_CIPHER_CTX_new");
  evp_ctx_free_fn ctx_free = (evp_ctx_free_fn)dlsym(RTLD_DEFAULT, "EVP_CIPHER_CTX_free");
  evp_cipher_init_fn init = (evp_cipher_init_fn)dlsym(RTLD_DEFAULT, "EVP_CipherInit_ex");
  evp_cipher_update_fn update = (evp_cipher_update_fn)dlsym(RTLD_DEFAULT, "EVP_CipherUpdate");
  evp_cipher_final_fn final = (evp_cipher_final_fn)dlsym(RTLD_DEFAULT, "EVP_CipherFinal_ex");
  evp_ctx_ctrl_fn ctrl = (evp_ctx_ctrl_fn)dlsym(RTLD_DEFAULT, "EVP_CIPHER_CTX_ctrl");
  if (ctx_new == NULL || ctx_free == NULL || init == NULL || update == NULL || final == NULL ||
      ctrl == NULL) {
    return;
  }
  /* OpenSSL 3: fetch the provider's implementation once (a legacy EVP_CIPHER would be fetched
   * implicitly on every init). OpenSSL 1.1: the built-in EVP_chacha20_poly1305(). */
  const void *cipher = NULL;
  evp_cipher_fetch_fn fetch = (evp_cipher_fetch_fn)dlsym(RTLD_DEFAULT, "EVP_CIPHER_fetch");
  if (fetch != NULL) cipher = fetch(NULL, "ChaCha20-Poly1305", NULL);
  if (cipher == NULL) {
    evp_cipher_getter_fn getter = (evp_cipher_getter_fn)dlsym(RTLD_DEFAULT, "EVP_chacha20_poly1305");
    if (getter != NULL) cipher = getter();
  }
  if (cipher == NULL) return;
  openssl.ctx_new = ctx_new;
  openssl.ctx_free = ctx_free;
  openssl.init = init;
  openssl.update = update;
  openssl.final = final;
  openssl.ctrl = ctrl;
  openssl.cipher = cipher; /* kept for the life of the process */
}

int aead_openssl_available(void) {
  pthread_once(&openssl_once, resolve_openssl);
  return openssl.cipher != NULL;
}

void aead_chacha_init(aead_chacha *ctx, aead_backend backend) {
  ctx->backend = backend == AEAD_BACKEND_OPENSSL && aead_openssl_available() ? AEAD_BACKEND_OPENSSL
                                                                            : AEAD_BACKEND_PORTABLE;
}

void aead_chacha_release(aead_chacha *ctx) {
  if (ctx->evp_seal != NULL) openssl.ctx_free(ctx->evp_seal);
  if (ctx->evp_open != NULL) openssl.ctx_free(ctx->evp_open);
  ctx->evp_seal = NULL;
  ctx->evp_open = NULL;
}

/* The EVP context for one direction, created (and bound to the cipher) on first use. */
static void *evp_context(void **slot, int enc) {
  if (*slot == NULL) {
    void *evp = openssl.ctx_new();
    if (evp == NULL) return NULL;
    if (openssl.init(evp, openssl.cipher, NULL, NULL, NULL, enc) != 1) {
      openssl.ctx_free(evp);
      return NULL;
    }
    *slot = evp;
  }
  return *slot;
}

/* Key and nonce per record on a context already bound to the cipher: no fetch, no allocation. */
static int evp_start(void *evp, const uint8_t *key, const uint8_t *nonce, const uint8_t *aad,
                     size_t aad_length, int enc) {
  int written = 0;
  if (openssl.init(evp, NULL, NULL, key, nonce, enc) != 1) return 0;
  if (aad_length > 0 && openssl.update(evp, NULL, &written, aad, (int)aad_length) != 1) return 0;
  return 1;
}

static int openssl_seal(aead_chacha *ctx, const uint8_t *key, const uint8_t *nonce, const uint8_t *aad,
                        size_t aad_length, const uint8_t *plaintext, size_t length, uint8_t *out) {
  void *evp = evp_context(&ctx->evp_seal, 1);
  if (evp == NULL || !evp_start(evp, key, nonce, aad, aad_length, 1)) return AEAD_INTERNAL_ERROR;
  int written = 0, final_written = 0;
  if (length > 0 && openssl.update(evp, out, &written, plaintext, (int)length) != 1) {
    return AEAD_INTERNAL_ERROR;
  }
  if (openssl.final(evp, out + written, &final_written) != 1 ||
      (size_t)written + (size_t)final_written != length ||
      openssl.ctrl(evp, EVP_CTRL_AEAD_GET_TAG, AEAD_TAG_BYTES, out + length) != 1) {
    return AEAD_INTERNAL_ERROR;
  }
  return 1;
}

static int openssl_open(aead_chacha *ctx, const uint8_t *key, const uint8_t *nonce, const uint8_t *aad,
                        size_t aad_length, const uint8_t *sealed, size_t sealed_length, uint8_t *out) {
  size_t length = sealed_length - AEAD_TAG_BYTES;
  void *evp = evp_context(&ctx->evp_open, 0);
  if (evp == NULL || !evp_start(evp, key, nonce, aad, aad_length, 0)) return AEAD_INTERNAL_ERROR;
  uint8_t tag[AEAD_TAG_BYTES];
  memcpy(tag, sealed + length, AEAD_TAG_BYTES);
  if (openssl.ctrl(evp, EVP_CTRL_AEAD_SET_TAG, AEAD_TAG_BYTES, tag) != 1) return AEAD_INTERNAL_ERROR;
  int written = 0, final_written = 0;
  if (length > 0 && openssl.update(evp, out, &written, sealed, (int)length) != 1) {
    return AEAD_INTERNAL_ERROR;
  }
  /* EVP_CipherFinal_ex fails exactly when the tag (compared with CRYPTO_memcmp) is wrong. */
  if (openssl.final(evp, out + written, &final_written) != 1) {
    if (length > 0) memset(out, 0, length);
    return AEAD_OPEN_FORGED;
  }
  return (size_t)written + (size_t)final_written == length ? AEAD_OPEN_OK : AEAD_INTERNAL_ERROR;
}

/* ---- helpers -------------------------------------------------------------------------- */

static uint32_t load_le32(const uint8_t *bytes) {
  return (uint32_t)bytes[0] | ((uint32_t)bytes[1] << 8) | ((uint32_t)bytes[2] << 16) |
         ((uint32_t)bytes[3] << 24);
}

static void store_le32(uint8_t *bytes, uint32_t value) {
  bytes[0] = (uint8_t)value;
  bytes[1] = (uint8_t)(value >> 8);
  bytes[2] = (uint8_t)(value >> 16);
  bytes[3] = (uint8_t)(value >> 24);
}

static void store_le64(uint8_t *bytes, uint64_t value) {
  store_le32(bytes, (uint32_t)value);
  store_le32(bytes + 4, (uint32_t)(value >> 32));
}

/* Wipes keys, subkeys and keystream at the end of a record in a way the compiler may not drop
 * as a dead store. (Round temporaries inside the block functions are left to the stack.) */
static void wipe(void *data, size_t length) {
#if defined(__GNUC__)
  memset(data, 0, length);
  __asm__ __volatile__("" : : "r"(data) : "memory");
#else
  volatile uint8_t *bytes = data;
  while (length-- > 0) *bytes++ = 0;
#endif
}

int aead_equal16(const uint8_t a[16], const uint8_t b[16]) {
  uint32_t difference = 0;
  for (int i = 0; i < 16; i++) difference |= (uint32_t)(a[i] ^ b[i]);
  /* 1 iff difference == 0, without a data-dependent branch. */
  return (int)(1 & ((difference - 1) >> 8));
}

/* ---- ChaCha20 (RFC 8439 section 2.3) -------------------------------------------------- */

/* Rotation that works on uint32_t and on the 4-lane vectors below alike. */
#define ROTL(value, bits) (((value) << (bits)) | ((value) >> (32 - (bits))))

/*
 * Four blocks at once, one block per lane, with GCC/Clang generic vectors: SSE2 on x86-64,
 * NEON on arm64, plain scalar code where the target has no SIMD. Still portable C: no
 * intrinsics, and the same arithmetic as the one-block code.
 */
#if defined(__GNUC__)
#define AEAD_VECTORS 1
typedef uint32_t u32x4 __attribute__((vector_size(16)));
#else
#define AEAD_VECTORS 0
#endif

#define CHACHA_QUARTER(a, b, c, d) \
  do {                             \
    a += b;                        \
    d = ROTL(d ^ a, 16);           \
    c += d;                        \
    b = ROTL(b ^ c, 12);           \
    a += b;                        \
    d = ROTL(d ^ a, 8);            \
    c += d;                        \
    b = ROTL(b ^ c, 7);            \
  } while (0)

/* Column round, then diagonal round, on x[16] of either type. */
#define CHACHA_DOUBLE_ROUND(x)                  \
  do {                                          \
    CHACHA_QUARTER(x[0], x[4], x[8], x[12]);    \
    CHACHA_QUARTER(x[1], x[5], x[9], x[13]);    \
    CHACHA_QUARTER(x[2], x[6], x[10], x[14]);   \
    CHACHA_QUARTER(x[3], x[7], x[11], x[15]);   \
    CHACHA_QUARTER(x[0], x[5], x[10], x[15]);   \
    CHACHA_QUARTER(x[1], x[6], x[11], x[12]);   \
    CHACHA_QUARTER(x[2], x[7], x[8], x[13]);    \
    CHACHA_QUARTER(x[3], x[4], x[9], x[14]);    \
  } while (0)

static void chacha20_block(const uint32_t input[16], uint8_t out[64]) {
  uint32_t x[16];
  memcpy(x, input, sizeof x);
  for (int round = 0; round < 10; round++) CHACHA_DOUBLE_ROUND(x);
  for (int i = 0; i < 16; i++) store_le32(out + 4 * i, x[i] + input[i]);
}

/* out = in XOR 64 bytes of keystream; in and out may be the same buffer. */
static void xor64(uint8_t *out, const uint8_t *in, const uint8_t block[64]) {
  for (int i = 0; i < 64; i += 8) {
    uint64_t a, b;
    memcpy(&a, in + i, 8);
    memcpy(&b, block + i, 8);
    a ^= b;
    memcpy(out + i, &a, 8);
  }
}

/* One stream cipher's block function, its four-block vector version, and its counter step. */
typedef struct {
  void (*block)(const uint32_t state[16], uint8_t out[64]);
  void (*four_blocks)(const uint32_t state[16], const uint8_t *in, uint8_t *out);
  void (*count)(uint32_t state[16], uint32_t blocks);
} stream_cipher;

/* out = in XOR the keystream from `state` on (ChaCha20 and Salsa20 alike), four blocks at a time
 * where there are vectors; `state`'s counter moves past the blocks used. */
static void xor_keystream(const stream_cipher *cipher, uint32_t state[16], const uint8_t *in, size_t length,
                          uint8_t *out) {
  uint8_t block[64];
#if AEAD_VECTORS
  while (length >= 256) {
    cipher->four_blocks(state, in, out);
    cipher->count(state, 4);
    in += 256;
    out += 256;
    length -= 256;
  }
#endif
  while (length > 0) {
    cipher->block(state, block);
    cipher->count(state, 1);
    if (length >= 64) {
      xor64(out, in, block);
      in += 64;
      out += 64;
      length -= 64;
    } else {
      for (size_t i = 0; i < length; i++) out[i] = in[i] ^ block[i];
      length = 0;
    }
  }
  wipe(block, sizeof block);
}

#if AEAD_VECTORS
/* Lanes of x[16] (plus the input words) as four 64-byte keystream blocks, XORed into in. */
static void xor_four_blocks(const u32x4 x[16], uint8_t *out, const uint8_t *in) {
  uint8_t block[64];
  for (int lane = 0; lane < 4; lane++) {
    for (int i = 0; i < 16; i++) store_le32(block + 4 * i, x[i][lane]);
    xor64(out + 64 * lane, in + 64 * lane, block);
  }
}

/* Blocks state[12], +1, +2, +3 (the 32-bit counter wraps as RFC 8439's does). */
static void chacha20_xor_four_blocks(const uint32_t state[16], const uint8_t *in, uint8_t *out) {
  u32x4 x[16], input[16];
  for (int i = 0; i < 16; i++) input[i] = (u32x4){state[i], state[i], state[i], state[i]};
  input[12] += (u32x4){0, 1, 2, 3};
  memcpy(x, input, sizeof x);
  for (int round = 0; round < 10; round++) CHACHA_DOUBLE_ROUND(x);
  for (int i = 0; i < 16; i++) x[i] += input[i];
  xor_four_blocks(x, out, in);
}
#endif

static void chacha20_setup(uint32_t state[16], const uint8_t key[32], const uint8_t nonce[12],
                           uint32_t counter) {
  state[0] = 0x61707865u; /* "expand 32-byte k" */
  state[1] = 0x3320646eu;
  state[2] = 0x79622d32u;
  state[3] = 0x6b206574u;
  for (int i = 0; i < 8; i++) state[4 + i] = load_le32(key + 4 * i);
  state[12] = counter;
  for (int i = 0; i < 3; i++) state[13 + i] = load_le32(nonce + 4 * i);
}

/* The 32-bit block counter in word 12 (it wraps, as RFC 8439's does). */
static void chacha20_count(uint32_t state[16], uint32_t blocks) {
  state[12] += blocks;
}

static const stream_cipher chacha20 = {
    .block = chacha20_block,
#if AEAD_VECTORS
    .four_blocks = chacha20_xor_four_blocks,
#endif
    .count = chacha20_count,
};

void aead_chacha20_xor(const uint8_t key[32], const uint8_t nonce[12], uint32_t counter,
                       const uint8_t *in, size_t length, uint8_t *out) {
  uint32_t state[16];
  chacha20_setup(state, key, nonce, counter);
  xor_keystream(&chacha20, state, in, length, out);
  wipe(state, sizeof state);
}

/* ---- Poly1305 (RFC 8439 section 2.5) ----------------------------------------------------
 * Two limb layouts of the same arithmetic mod 2^130 - 5 (after poly1305-donna): 44/44/42-bit
 * limbs with 64x64->128 multiplies where the compiler has unsigned __int128 (x86-64, arm64),
 * 26-bit limbs with 32x32->64 multiplies elsewhere (armhf). Both are constant-time: no
 * branches or table lookups on secret data. */

#if defined(__SIZEOF_INT128__)
#define POLY1305_64 1
typedef unsigned __int128 poly_u128;

typedef struct {
  uint64_t r[3];
  uint64_t h[3];
  uint64_t pad[2];
  uint8_t buffer[16];
  size_t buffered;
} poly1305_ctx;

static uint64_t load_le64(const uint8_t *bytes) {
  return (uint64_t)load_le32(bytes) | ((uint64_t)load_le32(bytes + 4) << 32);
}

static void poly1305_init(poly1305_ctx *ctx, const uint8_t key[32]) {
  uint64_t t0 = load_le64(key), t1 = load_le64(key + 8);
  /* r with the bits RFC 8439 clamps cleared, split into 44/44/42-bit limbs. */
  ctx->r[0] = t0 & 0xffc0fffffffull;
  ctx->r[1] = ((t0 >> 44) | (t1 << 20)) & 0xfffffc0ffffull;
  ctx->r[2] = (t1 >> 24) & 0x00ffffffc0full;
  ctx->h[0] = ctx->h[1] = ctx->h[2] = 0;
  ctx->pad[0] = load_le64(key + 16);
  ctx->pad[1] = load_le64(key + 24);
  ctx->buffered = 0;
}

/* h = (h + block + hibit * 2^128) * r mod 2^130 - 5 for each 16-byte block (hibit: 1 << 40). */
static void poly1305_blocks(poly1305_ctx *ctx, const uint8_t *m, size_t length, uint64_t hibit) {
  const uint64_t mask44 = 0xfffffffffffull, mask42 = 0x3ffffffffffull;
  const uint64_t r0 = ctx->r[0], r1 = ctx->r[1], r2 = ctx->r[2];
  const uint64_t s1 = r1 * (5 << 2), s2 = r2 * (5 << 2);
  uint64_t h0 = ctx->h[0], h1 = ctx->h[1], h2 = ctx->h[2];
  while (length >= 16) {
    uint64_t t0 = load_le64(m), t1 = load_le64(m + 8);
    h0 += t0 & mask44;
    h1 += ((t0 >> 44) | (t1 << 20)) & mask44;
    h2 += ((t1 >> 24) & mask42) | hibit;

    poly_u128 d0 = (poly_u128)h0 * r0 + (poly_u128)h1 * s2 + (poly_u128)h2 * s1;
    poly_u128 d1 = (poly_u128)h0 * r1 + (poly_u128)h1 * r0 + (poly_u128)h2 * s2;
    poly_u128 d2 = (poly_u128)h0 * r2 + (poly_u128)h1 * r1 + (poly_u128)h2 * r0;

    uint64_t carry = (uint64_t)(d0 >> 44);
    h0 = (uint64_t)d0 & mask44;
    d1 += carry;
    carry = (uint64_t)(d1 >> 44);
    h1 = (uint64_t)d1 & mask44;
    d2 += carry;
    carry = (uint64_t)(d2 >> 42);
    h2 = (uint64_t)d2 & mask42;
    h0 += carry * 5;
    carry = h0 >> 44;
    h0 &= mask44;
    h1 += carry;

    m += 16;
    length -= 16;
  }
  ctx->h[0] = h0;
  ctx->h[1] = h1;
  ctx->h[2] = h2;
}

#define POLY1305_HIBIT ((uint64_t)1 << 40)

#else
#define POLY1305_64 0

typedef struct {
  uint32_t r[5];
  uint32_t h[5];
  uint32_t pad[4];
  uint8_t buffer[16];
  size_t buffered;
} poly1305_ctx;

static void poly1305_init(poly1305_ctx *ctx, const uint8_t key[32]) {
  /* r with the bits RFC 8439 clamps cleared, split into 26-bit limbs. */
  ctx->r[0] = load_le32(key + 0) & 0x3ffffff;
  ctx->r[1] = (load_le32(key + 3) >> 2) & 0x3ffff03;
  ctx->r[2] = (load_le32(key + 6) >> 4) & 0x3ffc0ff;
  ctx->r[3] = (load_le32(key + 9) >> 6) & 0x3f03fff;
  ctx->r[4] = (load_le32(key + 12) >> 8) & 0x00fffff;
  for (int i = 0; i < 5; i++) ctx->h[i] = 0;
  for (int i = 0; i < 4; i++) ctx->pad[i] = load_le32(key + 16 + 4 * i);
  ctx->buffered = 0;
}

/* h = (h + block + hibit * 2^128) * r mod 2^130 - 5 for each 16-byte block. */
static void poly1305_blocks(poly1305_ctx *ctx, const uint8_t *m, size_t length, uint32_t hibit) {
  const uint32_t r0 = ctx->r[0], r1 = ctx->r[1], r2 = ctx->r[2], r3 = ctx->r[3], r4 = ctx->r[4];
  const uint32_t s1 = r1 * 5, s2 = r2 * 5, s3 = r3 * 5, s4 = r4 * 5;
  uint32_t h0 = ctx->h[0], h1 = ctx->h[1], h2 = ctx->h[2], h3 = ctx->h[3], h4 = ctx->h[4];
  while (length >= 16) {
    h0 += load_le32(m + 0) & 0x3ffffff;
    h1 += (load_le32(m + 3) >> 2) & 0x3ffffff;
    h2 += (load_le32(m + 6) >> 4) & 0x3ffffff;
    h3 += (load_le32(m + 9) >> 6) & 0x3ffffff;
    h4 += (load_le32(m + 12) >> 8) | hibit;

    uint64_t d0 = (uint64_t)h0 * r0 + (uint64_t)h1 * s4 + (uint64_t)h2 * s3 + (uint64_t)h3 * s2 +
                  (uint64_t)h4 * s1;
    uint64_t d1 = (uint64_t)h0 * r1 + (uint64_t)h1 * r0 + (uint64_t)h2 * s4 + (uint64_t)h3 * s3 +
                  (uint64_t)h4 * s2;
    uint64_t d2 = (uint64_t)h0 * r2 + (uint64_t)h1 * r1 + (uint64_t)h2 * r0 + (uint64_t)h3 * s4 +
                  (uint64_t)h4 * s3;
    uint64_t d3 = (uint64_t)h0 * r3 + (uint64_t)h1 * r2 + (uint64_t)h2 * r1 + (uint64_t)h3 * r0 +
                  (uint64_t)h4 * s4;
    uint64_t d4 = (uint64_t)h0 * r4 + (uint64_t)h1 * r3 + (uint64_t)h2 * r2 + (uint64_t)h3 * r1 +
                  (uint64_t)h4 * r0;

    uint32_t carry = (uint32_t)(d0 >> 26);
    h0 = (uint32_t)d0 & 0x3ffffff;
    d1 += carry;
    carry = (uint32_t)(d1 >> 26);
    h1 = (uint32_t)d1 & 0x3ffffff;
    d2 += carry;
    carry = (uint32_t)(d2 >> 26);
    h2 = (uint32_t)d2 & 0x3ffffff;
    d3 += carry;
    carry = (uint32_t)(d3 >> 26);
    h3 = (uint32_t)d3 & 0x3ffffff;
    d4 += carry;
    carry = (uint32_t)(d4 >> 26);
    h4 = (uint32_t)d4 & 0x3ffffff;
    h0 += carry * 5;
    carry = h0 >> 26;
    h0 &= 0x3ffffff;
    h1 += carry;

    m += 16;
    length -= 16;
  }
  ctx->h[0] = h0;
  ctx->h[1] = h1;
  ctx->h[2] = h2;
  ctx->h[3] = h3;
  ctx->h[4] = h4;
}

#define POLY1305_HIBIT ((uint32_t)1 << 24)

#endif

static void poly1305_update(poly1305_ctx *ctx, const uint8_t *m, size_t length) {
  if (length == 0) return; /* m may be NULL then */
  if (ctx->buffered > 0) {
    size_t take = 16 - ctx->buffered;
    if (take > length) take = length;
    memcpy(ctx->buffer + ctx->buffered, m, take);
    ctx->buffered += take;
    m += take;
    length -= take;
    if (ctx->buffered < 16) return;
    poly1305_blocks(ctx, ctx->buffer, 16, POLY1305_HIBIT);
    ctx->buffered = 0;
  }
  size_t whole = length & ~(size_t)15;
  poly1305_blocks(ctx, m, whole, POLY1305_HIBIT);
  m += whole;
  length -= whole;
  if (length > 0) {
    memcpy(ctx->buffer, m, length);
    ctx->buffered = length;
  }
}

/* Zero bytes up to the next multiple of 16 (RFC 8439 section 2.8 padding). */
static void poly1305_pad16(poly1305_ctx *ctx) {
  static const uint8_t zeros[16] = {0};
  if (ctx->buffered > 0) poly1305_update(ctx, zeros, 16 - ctx->buffered);
}

#if POLY1305_64
static void poly1305_final(poly1305_ctx *ctx, uint8_t tag[16]) {
  const uint64_t mask44 = 0xfffffffffffull, mask42 = 0x3ffffffffffull;
  if (ctx->buffered > 0) {
    /* Last partial block: append 1, zero-fill, and add no 2^128 bit. */
    ctx->buffer[ctx->buffered] = 1;
    for (size_t i = ctx->buffered + 1; i < 16; i++) ctx->buffer[i] = 0;
    poly1305_blocks(ctx, ctx->buffer, 16, 0);
  }
  uint64_t h0 = ctx->h[0], h1 = ctx->h[1], h2 = ctx->h[2];

  /* Carry fully (twice round, as donna does). */
  uint64_t carry = h1 >> 44;
  h1 &= mask44;
  h2 += carry;
  carry = h2 >> 42;
  h2 &= mask42;
  h0 += carry * 5;
  carry = h0 >> 44;
  h0 &= mask44;
  h1 += carry;
  carry = h1 >> 44;
  h1 &= mask44;
  h2 += carry;
  carry = h2 >> 42;
  h2 &= mask42;
  h0 += carry * 5;
  carry = h0 >> 44;
  h0 &= mask44;
  h1 += carry;

  /* g = h + 5 - 2^130; take g if it is not negative, h otherwise (no branch). */
  uint64_t g0 = h0 + 5;
  carry = g0 >> 44;
  g0 &= mask44;
  uint64_t g1 = h1 + carry;
  carry = g1 >> 44;
  g1 &= mask44;
  uint64_t g2 = h2 + carry - ((uint64_t)1 << 42);

  uint64_t take_g = (g2 >> 63) - 1; /* all ones when g2 did not borrow */
  uint64_t keep_h = ~take_g;
  h0 = (h0 & keep_h) | (g0 & take_g);
  h1 = (h1 & keep_h) | (g1 & take_g);
  h2 = (h2 & keep_h) | (g2 & take_g);

  /* tag = (h + s) mod 2^128 */
  uint64_t t0 = ctx->pad[0], t1 = ctx->pad[1];
  h0 += t0 & mask44;
  carry = h0 >> 44;
  h0 &= mask44;
  h1 += (((t0 >> 44) | (t1 << 20)) & mask44) + carry;
  carry = h1 >> 44;
  h1 &= mask44;
  h2 += ((t1 >> 24) & mask42) + carry;
  h2 &= mask42;
  uint64_t w0 = h0 | (h1 << 44);
  uint64_t w1 = (h1 >> 20) | (h2 << 24);
  store_le64(tag, w0);
  store_le64(tag + 8, w1);

  wipe(ctx, sizeof *ctx);
}
#else
static void poly1305_final(poly1305_ctx *ctx, uint8_t tag[16]) {
  if (ctx->buffered > 0) {
    /* Last partial block: append 1, zero-fill, and add no 2^128 bit. */
    ctx->buffer[ctx->buffered] = 1;
    for (size_t i = ctx->buffered + 1; i < 16; i++) ctx->buffer[i] = 0;
    poly1305_blocks(ctx, ctx->buffer, 16, 0);
  }
  uint32_t h0 = ctx->h[0], h1 = ctx->h[1], h2 = ctx->h[2], h3 = ctx->h[3], h4 = ctx->h[4];

  /* Carry fully. */
  uint32_t carry = h1 >> 26;
  h1 &= 0x3ffffff;
  h2 += carry;
  carry = h2 >> 26;
  h2 &= 0x3ffffff;
  h3 += carry;
  carry = h3 >> 26;
  h3 &= 0x3ffffff;
  h4 += carry;
  carry = h4 >> 26;
  h4 &= 0x3ffffff;
  h0 += carry * 5;
  carry = h0 >> 26;
  h0 &= 0x3ffffff;
  h1 += carry;

  /* g = h + 5 - 2^130; take g if it is not negative, h otherwise (no branch). */
  uint32_t g0 = h0 + 5;
  carry = g0 >> 26;
  g0 &= 0x3ffffff;
  uint32_t g1 = h1 + carry;
  carry = g1 >> 26;
  g1 &= 0x3ffffff;
  uint32_t g2 = h2 + carry;
  carry = g2 >> 26;
  g2 &= 0x3ffffff;
  uint32_t g3 = h3 + carry;
  carry = g3 >> 26;
  g3 &= 0x3ffffff;
  uint32_t g4 = h4 + carry - (1u << 26);

  uint32_t take_g = (g4 >> 31) - 1; /* all ones when g4 did not borrow */
  uint32_t keep_h = ~take_g;
  h0 = (h0 & keep_h) | (g0 & take_g);
  h1 = (h1 & keep_h) | (g1 & take_g);
  h2 = (h2 & keep_h) | (g2 & take_g);
  h3 = (h3 & keep_h) | (g3 & take_g);
  h4 = (h4 & keep_h) | (g4 & take_g);

  /* h mod 2^128, as four 32-bit words. */
  uint32_t w0 = h0 | (h1 << 26);
  uint32_t w1 = (h1 >> 6) | (h2 << 20);
  uint32_t w2 = (h2 >> 12) | (h3 << 14);
  uint32_t w3 = (h3 >> 18) | (h4 << 8);

  /* tag = (h + s) mod 2^128 */
  uint64_t f = (uint64_t)w0 + ctx->pad[0];
  store_le32(tag + 0, (uint32_t)f);
  f = (uint64_t)w1 + ctx->pad[1] + (f >> 32);
  store_le32(tag + 4, (uint32_t)f);
  f = (uint64_t)w2 + ctx->pad[2] + (f >> 32);
  store_le32(tag + 8, (uint32_t)f);
  f = (uint64_t)w3 + ctx->pad[3] + (f >> 32);
  store_le32(tag + 12, (uint32_t)f);

  wipe(ctx, sizeof *ctx);
}
#endif

void aead_poly1305(const uint8_t key[32], const uint8_t *message, size_t length, uint8_t tag[16]) {
  poly1305_ctx ctx;
  poly1305_init(&ctx, key);
  poly1305_update(&ctx, message, length);
  poly1305_final(&ctx, tag);
}

/* ---- ChaCha20-Poly1305 (RFC 8439 section 2.8), portable -------------------------------- */

/* Poly1305 over aad || pad || ciphertext || pad || le64(aad length) || le64(ciphertext length),
 * with the one-time key from ChaCha20 block 0. */
static void chacha_poly_tag(const uint8_t key[32], const uint8_t nonce[12], const uint8_t *aad,
                            size_t aad_length, const uint8_t *ciphertext, size_t length,
                            uint8_t tag[16]) {
  uint8_t one_time_key[64] = {0};
  aead_chacha20_xor(key, nonce, 0, one_time_key, sizeof one_time_key, one_time_key);
  poly1305_ctx poly;
  poly1305_init(&poly, one_time_key);
  wipe(one_time_key, sizeof one_time_key);
  poly1305_update(&poly, aad, aad_length);
  poly1305_pad16(&poly);
  poly1305_update(&poly, ciphertext, length);
  poly1305_pad16(&poly);
  uint8_t lengths[16];
  store_le64(lengths, (uint64_t)aad_length);
  store_le64(lengths + 8, (uint64_t)length);
  poly1305_update(&poly, lengths, sizeof lengths);
  poly1305_final(&poly, tag);
}

int aead_chacha20poly1305_seal(aead_chacha *ctx, const uint8_t key[AEAD_KEY_BYTES],
                               const uint8_t nonce[AEAD_CHACHA_NONCE_BYTES], const uint8_t *aad,
                               size_t aad_length, const uint8_t *plaintext, size_t length,
                               uint8_t *out) {
  if (length > AEAD_MAX_PLAINTEXT || aad_length > AEAD_MAX_AAD) return AEAD_INTERNAL_ERROR;
  if (ctx->backend == AEAD_BACKEND_OPENSSL) {
    return openssl_seal(ctx, key, nonce, aad, aad_length, plaintext, length, out);
  }
  aead_chacha20_xor(key, nonce, 1, plaintext, length, out);
  chacha_poly_tag(key, nonce, aad, aad_length, out, length, out + length);
  return 1;
}

int aead_chacha20poly1305_open(aead_chacha *ctx, const uint8_t key[AEAD_KEY_BYTES],
                               const uint8_t nonce[AEAD_CHACHA_NONCE_BYTES], const uint8_t *aad,
                               size_t aad_length, const uint8_t *sealed, size_t sealed_length,
                               uint8_t *out) {
  if (sealed_length < AEAD_TAG_BYTES || sealed_length - AEAD_TAG_BYTES > AEAD_MAX_PLAINTEXT ||
      aad_length > AEAD_MAX_AAD) {
    return AEAD_INTERNAL_ERROR;
  }
  if (ctx->backend == AEAD_BACKEND_OPENSSL) {
    return openssl_open(ctx, key, nonce, aad, aad_length, sealed, sealed_length, out);
  }
  size_t length = sealed_length - AEAD_TAG_BYTES;
  uint8_t tag[16];
  chacha_poly_tag(key, nonce, aad, aad_length, sealed, length, tag);
  int authentic = aead_equal16(tag, sealed + length);
  wipe(tag, sizeof tag);
  if (!authentic) return AEAD_OPEN_FORGED;
  aead_chacha20_xor(key, nonce, 1, sealed, length, out);
  return AEAD_OPEN_OK;
}

/* ---- Salsa20 / HSalsa20 / XSalsa20 (Bernstein; NaCl crypto_stream_xsalsa20) ----------- */

/* Column round, then row round, on x[16] of either type. */
#define SALSA_DOUBLE_ROUND(x)              \
  do {                                     \
    x[4] ^= ROTL(x[0] + x[12], 7);         \
    x[8] ^= ROTL(x[4] + x[0], 9);          \
    x[12] ^= ROTL(x[8] + x[4], 13);        \
    x[0] ^= ROTL(x[12] + x[8], 18);        \
    x[9] ^= ROTL(x[5] + x[1], 7);          \
    x[13] ^= ROTL(x[9] + x[5], 9);         \
    x[1] ^= ROTL(x[13] + x[9], 13);        \
    x[5] ^= ROTL(x[1] + x[13], 18);        \
    x[14] ^= ROTL(x[10] + x[6], 7);        \
    x[2] ^= ROTL(x[14] + x[10], 9);        \
    x[6] ^= ROTL(x[2] + x[14], 13);        \
    x[10] ^= ROTL(x[6] + x[2], 18);        \
    x[3] ^= ROTL(x[15] + x[11], 7);        \
    x[7] ^= ROTL(x[3] + x[15], 9);         \
    x[11] ^= ROTL(x[7] + x[3], 13);        \
    x[15] ^= ROTL(x[11] + x[7], 18);       \
    x[1] ^= ROTL(x[0] + x[3], 7);          \
    x[2] ^= ROTL(x[1] + x[0], 9);          \
    x[3] ^= ROTL(x[2] + x[1], 13);         \
    x[0] ^= ROTL(x[3] + x[2], 18);         \
    x[6] ^= ROTL(x[5] + x[4], 7);          \
    x[7] ^= ROTL(x[6] + x[5], 9);          \
    x[4] ^= ROTL(x[7] + x[6], 13);         \
    x[5] ^= ROTL(x[4] + x[7], 18);         \
    x[11] ^= ROTL(x[10] + x[9], 7);        \
    x[8] ^= ROTL(x[11] + x[10], 9);        \
    x[9] ^= ROTL(x[8] + x[11], 13);        \
    x[10] ^= ROTL(x[9] + x[8], 18);        \
    x[12] ^= ROTL(x[15] + x[14], 7);       \
    x[13] ^= ROTL(x[12] + x[15], 9);       \
    x[14] ^= ROTL(x[13] + x[12], 13);      \
    x[15] ^= ROTL(x[14] + x[13], 18);      \
  } while (0)

/* "expand 32-byte k" on the diagonal, key in words 1-4 and 11-14, 16 input bytes in 6-9. */
static void salsa20_setup(uint32_t state[16], const uint8_t key[32], const uint8_t input[16]) {
  state[0] = 0x61707865u;
  state[5] = 0x3320646eu;
  state[10] = 0x79622d32u;
  state[15] = 0x6b206574u;
  for (int i = 0; i < 4; i++) {
    state[1 + i] = load_le32(key + 4 * i);
    state[11 + i] = load_le32(key + 16 + 4 * i);
    state[6 + i] = load_le32(input + 4 * i);
  }
}

void aead_hsalsa20(const uint8_t key[32], const uint8_t nonce[16], uint8_t subkey[32]) {
  uint32_t x[16];
  salsa20_setup(x, key, nonce);
  for (int round = 0; round < 10; round++) SALSA_DOUBLE_ROUND(x);
  /* No feed-forward: words 0, 5, 10, 15, 6, 7, 8, 9. */
  static const int words[8] = {0, 5, 10, 15, 6, 7, 8, 9};
  for (int i = 0; i < 8; i++) store_le32(subkey + 4 * i, x[words[i]]);
  wipe(x, sizeof x);
}

static void salsa20_block(const uint32_t input[16], uint8_t out[64]) {
  uint32_t x[16];
  memcpy(x, input, sizeof x);
  for (int round = 0; round < 10; round++) SALSA_DOUBLE_ROUND(x);
  for (int i = 0; i < 16; i++) store_le32(out + 4 * i, x[i] + input[i]);
}

/* Advances the 64-bit block counter in words 8 (low) and 9 (high). */
static void salsa20_count(uint32_t state[16], uint32_t blocks) {
  uint64_t counter = ((uint64_t)state[9] << 32 | state[8]) + blocks;
  state[8] = (uint32_t)counter;
  state[9] = (uint32_t)(counter >> 32);
}

#if AEAD_VECTORS
static void salsa20_xor_four_blocks(const uint32_t state[16], const uint8_t *in, uint8_t *out) {
  u32x4 x[16], input[16];
  for (int i = 0; i < 16; i++) input[i] = (u32x4){state[i], state[i], state[i], state[i]};
  uint32_t lane_state[16];
  memcpy(lane_state, state, sizeof lane_state);
  for (int lane = 1; lane < 4; lane++) {
    salsa20_count(lane_state, 1);
    input[8][lane] = lane_state[8];
    input[9][lane] = lane_state[9];
  }
  memcpy(x, input, sizeof x);
  for (int round = 0; round < 10; round++) SALSA_DOUBLE_ROUND(x);
  for (int i = 0; i < 16; i++) x[i] += input[i];
  xor_four_blocks(x, out, in);
}
#endif

static const stream_cipher salsa20 = {
    .block = salsa20_block,
#if AEAD_VECTORS
    .four_blocks = salsa20_xor_four_blocks,
#endif
    .count = salsa20_count,
};

/* XSalsa20 keystream from byte 32 on, XORed into `in`, and the Poly1305 key from bytes 0-31:
 * exactly NaCl's crypto_secretbox, which encrypts 32 zero bytes ahead of the message. */
static void xsalsa20_xor_after_poly_key(const uint8_t key[32], const uint8_t nonce[24],
                                        const uint8_t *in, size_t length, uint8_t *out,
                                        uint8_t poly_key[32]) {
  uint8_t subkey[32];
  aead_hsalsa20(key, nonce, subkey);
  uint8_t input[16] = {0}; /* 8 nonce bytes, then the 64-bit little-endian block counter */
  memcpy(input, nonce + 16, 8);
  uint32_t state[16];
  salsa20_setup(state, subkey, input);
  wipe(subkey, sizeof subkey);

  /* Block 0: the Poly1305 key, then the first 32 message bytes. */
  uint8_t block[64];
  salsa20_block(state, block);
  salsa20_count(state, 1);
  memcpy(poly_key, block, 32);
  size_t take = length < 32 ? length : 32;
  for (size_t i = 0; i < take; i++) out[i] = in[i] ^ block[32 + i];
  /* in and out may be NULL when length is 0: no pointer arithmetic on them then. */
  if (length > take) xor_keystream(&salsa20, state, in + take, length - take, out + take);
  wipe(block, sizeof block);
  wipe(state, sizeof state);
}

void aead_xsalsa20poly1305_seal(const uint8_t key[AEAD_KEY_BYTES],
                                const uint8_t nonce[AEAD_XSALSA_NONCE_BYTES],
                                const uint8_t *plaintext, size_t length, uint8_t *out) {
  uint8_t poly_key[32];
  xsalsa20_xor_after_poly_key(key, nonce, plaintext, length, out + AEAD_TAG_BYTES, poly_key);
  aead_poly1305(poly_key, out + AEAD_TAG_BYTES, length, out);
  wipe(poly_key, sizeof poly_key);
}

int aead_xsalsa20poly1305_open(const uint8_t key[AEAD_KEY_BYTES],
                               const uint8_t nonce[AEAD_XSALSA_NONCE_BYTES],
                               const uint8_t *sealed, size_t sealed_length, uint8_t *out) {
  if (sealed_length < AEAD_TAG_BYTES) return AEAD_OPEN_FORGED;
  size_t length = sealed_length - AEAD_TAG_BYTES;
  /* The Poly1305 key alone: XOR nothing. */
  uint8_t poly_key[32], tag[16];
  xsalsa20_xor_after_poly_key(key, nonce, NULL, 0, NULL, poly_key);
  aead_poly1305(poly_key, sealed + AEAD_TAG_BYTES, length, tag);
  wipe(poly_key, sizeof poly_key);
  int authentic = aead_equal16(tag, sealed);
  wipe(tag, sizeof tag);
  if (!authentic) return AEAD_OPEN_FORGED;
  xsalsa20_xor_after_poly_key(key, nonce, sealed + AEAD_TAG_BYTES, length, out, poly_key);
  wipe(poly_key, sizeof poly_key);
  return AEAD_OPEN_OK;
}
