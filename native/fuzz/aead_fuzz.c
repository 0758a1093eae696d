/*
 * libFuzzer target for native/aead/aead_core.c (built and run by scripts/fuzz.sh).
 *
 * Input: [control][key: 32][nonce: 24][flip: 2][aad length: 1][aad...][data...]; inputs
 * shorter than the header are zero-padded, so every input does something. Control bit 0 picks
 * the algorithm (chacha20-poly1305 uses the first 12 nonce bytes; AAD only for it), bit 1 the
 * mode:
 *   open:  data is an arbitrary sealed record. The portable open must not crash (ASan and UBSan
 *          watch), must agree with the "openssl" backend (dlsym finds EVP in the libcrypto this
 *          binary links), and a record that does open must re-seal to itself.
 *   seal:  data is a plaintext. Sealed by the portable code, it must equal the openssl
 *          backend's record and libcrypto's EVP ChaCha20-Poly1305 called directly (the
 *          independent reference), open to the plaintext on every backend, and open to
 *          nothing with one bit flipped (position from the flip bytes).
 * Without libssl-dev the direct reference is dropped and the rest must still hold.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../aead/aead_core.h"

#ifdef NYMOTE_FUZZ_LIBCRYPTO
#include <openssl/evp.h>
#endif

#define HEADER_BYTES (1 + AEAD_KEY_BYTES + AEAD_XSALSA_NONCE_BYTES + 2 + 1)

static aead_chacha portable_ctx, openssl_ctx;
static uint8_t sealed[AEAD_MAX_PLAINTEXT + AEAD_TAG_BYTES], other[AEAD_MAX_PLAINTEXT + AEAD_TAG_BYTES];
static uint8_t opened[AEAD_MAX_PLAINTEXT], opened_other[AEAD_MAX_PLAINTEXT];

static void fail(const char *what) {
  fprintf(stderr, "aead_fuzz: %s\n", what);
  abort();
}

#ifdef NYMOTE_FUZZ_LIBCRYPTO
/* libcrypto's own ChaCha20-Poly1305, through its headers: ciphertext || tag. */
static void reference_seal(const uint8_t *key, const uint8_t *nonce, const uint8_t *aad, size_t aad_length,
                           const uint8_t *plaintext, size_t length, uint8_t *out) {
  EVP_CIPHER_CTX *ctx = EVP_CIPHER_CTX_new();
  int written = 0;
  if (ctx == NULL || EVP_EncryptInit_ex(ctx, EVP_chacha20_poly1305(), NULL, key, nonce) != 1 ||
      (aad_length > 0 && EVP_EncryptUpdate(ctx, NULL, &written, aad, (int)aad_length) != 1) ||
      (length > 0 && EVP_EncryptUpdate(ctx, out, &written, plaintext, (int)length) != 1) ||
      EVP_EncryptFinal_ex(ctx, out + length, &written) != 1 ||
      EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_AEAD_GET_TAG, AEAD_TAG_BYTES, out + length) != 1) {
    fail("libcrypto reference seal failed");
  }
  EVP_CIPHER_CTX_free(ctx);
}
#endif

int LLVMFuzzerInitialize(int *argc, char ***argv) {
  (void)argc;
  (void)argv;
  aead_chacha_init(&portable_ctx, AEAD_BACKEND_PORTABLE);
  aead_chacha_init(&openssl_ctx, AEAD_BACKEND_OPENSSL);
#ifdef NYMOTE_FUZZ_LIBCRYPTO
  /* Linked with libcrypto, the openssl backend must resolve, or its comparison is hollow. */
  if (openssl_ctx.backend != AEAD_BACKEND_OPENSSL) {
    fail("EVP ChaCha20-Poly1305 not found by dlsym although libcrypto is linked");
  }
#endif
  return 0;
}

static int open_with(int chacha, aead_chacha *ctx, const uint8_t *key, const uint8_t *nonce, const uint8_t *aad,
                     size_t aad_length, const uint8_t *record, size_t length, uint8_t *out) {
  if (chacha) return aead_chacha20poly1305_open(ctx, key, nonce, aad, aad_length, record, length, out);
  return aead_xsalsa20poly1305_open(key, nonce, record, length, out);
}

static void seal_with(int chacha, aead_chacha *ctx, const uint8_t *key, const uint8_t *nonce, const uint8_t *aad,
                      size_t aad_length, const uint8_t *plaintext, size_t length, uint8_t *out) {
  if (!chacha) {
    aead_xsalsa20poly1305_seal(key, nonce, plaintext, length, out);
  } else if (aead_chacha20poly1305_seal(ctx, key, nonce, aad, aad_length, plaintext, length, out) != 1) {
    fail("seal failed");
  }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  uint8_t header[HEADER_BYTES] = {0};
  memcpy(header, data, size < HEADER_BYTES ? size : HEADER_BYTES);
  const uint8_t *rest = size > HEADER_BYTES ? data + HEADER_BYTES : data + size;
  size_t rest_length = size > HEADER_BYTES ? size - HEADER_BYTES : 0;

  int chacha = !(header[0] & 1);
  int seal_first = header[0] & 2;
  const uint8_t *key = header + 1;
  const uint8_t *nonce = header + 1 + AEAD_KEY_BYTES;
  unsigned flip = (unsigned)header[1 + AEAD_KEY_BYTES + AEAD_XSALSA_NONCE_BYTES] |
                  ((unsigned)header[2 + AEAD_KEY_BYTES + AEAD_XSALSA_NONCE_BYTES] << 8);
  size_t aad_length = chacha ? header[HEADER_BYTES - 1] : 0;
  if (aad_length > rest_length) aad_length = rest_length;
  const uint8_t *aad = rest;
  const uint8_t *body = rest + aad_length;
  size_t length = rest_length - aad_length;

  if (!seal_first) {
    /* An arbitrary record: the open may fail, but never crash, and both backends agree. */
    int result = open_with(chacha, &portable_ctx, key, nonce, aad, aad_length, body, length, opened);
    if (result == AEAD_INTERNAL_ERROR && length >= AEAD_TAG_BYTES) fail("portable open: internal error");
    if (chacha && length >= AEAD_TAG_BYTES) {
      int via_openssl = open_with(chacha, &openssl_ctx, key, nonce, aad, aad_length, body, length, opened_other);
      if (via_openssl != result) fail("openssl backend disagrees on an arbitrary record");
      if (result == AEAD_OPEN_OK && memcmp(opened, opened_other, length - AEAD_TAG_BYTES) != 0) {
        fail("openssl backend opened to other bytes");
      }
    }
    if (result == AEAD_OPEN_OK) {
      seal_with(chacha, &portable_ctx, key, nonce, aad, aad_length, opened, length - AEAD_TAG_BYTES, other);
      if (memcmp(other, body, length) != 0) fail("an opened record does not re-seal to itself");
    }
    return 0;
  }

  if (length > AEAD_MAX_PLAINTEXT) return 0;
  seal_with(chacha, &portable_ctx, key, nonce, aad, aad_length, body, length, sealed);
  size_t sealed_length = length + AEAD_TAG_BYTES;
  if (chacha) {
    seal_with(chacha, &openssl_ctx, key, nonce, aad, aad_length, body, length, other);
    if (memcmp(sealed, other, sealed_length) != 0) fail("openssl backend sealed to other bytes");
#ifdef NYMOTE_FUZZ_LIBCRYPTO
    reference_seal(key, nonce, aad, aad_length, body, length, other);
    if (memcmp(sealed, other, sealed_length) != 0) fail("libcrypto EVP sealed to other bytes");
#endif
  }
  for (int backend = 0; backend < (chacha ? 2 : 1); backend++) {
    aead_chacha *ctx = backend == 0 ? &portable_ctx : &openssl_ctx;
    if (open_with(chacha, ctx, key, nonce, aad, aad_length, sealed, sealed_length, opened) != AEAD_OPEN_OK) {
      fail("open(seal(x)) failed");
    }
    if (length > 0 && memcmp(opened, body, length) != 0) fail("open(seal(x)) != x");
    size_t bit = flip % (sealed_length * 8);
    sealed[bit / 8] ^= (uint8_t)(1u << (bit % 8));
    if (open_with(chacha, ctx, key, nonce, aad, aad_length, sealed, sealed_length, opened) != AEAD_OPEN_FORGED) {
      fail("a record with one bit flipped opened");
    }
    sealed[bit / 8] ^= (uint8_t)(1u << (bit % 8));
  }
  return 0;
}
