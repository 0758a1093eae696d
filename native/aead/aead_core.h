/*
 * AEAD core shared by the N-API addon and the fuzz target (no N-API in here).
 *
 * ChaCha20-Poly1305 (RFC 8439, IETF): 32-byte key, 12-byte nonce, output ciphertext || tag.
 * Two backends behind one context type:
 *  - "openssl": the EVP ChaCha20-Poly1305 of the OpenSSL that the running process already
 *    carries (Node exports it, or links libcrypto dynamically), found with dlsym at run time,
 *    so we get its assembly (AVX2/AVX-512, NEON) without shipping a second copy;
 *  - "portable": ChaCha20 and Poly1305 in plain C below, used when those symbols are absent
 *    (or forced).
 * XSalsa20-Poly1305 (NaCl crypto_secretbox): 32-byte key, 24-byte nonce, output tag ||
 * ciphertext exactly as tweetnacl.secretbox gives it. OpenSSL has no XSalsa20, so it is always
 * the portable C.
 *
 * Opening compares tags in constant time and writes no plaintext for a forged record (the
 * OpenSSL path decrypts first; its output is wiped on failure).
 */
#ifndef NYMOTE_AEAD_CORE_H
#define NYMOTE_AEAD_CORE_H

#include <stddef.h>
#include <stdint.h>

#define AEAD_KEY_BYTES 32
#define AEAD_TAG_BYTES 16
#define AEAD_CHACHA_NONCE_BYTES 12
#define AEAD_XSALSA_NONCE_BYTES 24
/* Largest plaintext of one record, and largest AAD (both 64 KiB). */
#define AEAD_MAX_PLAINTEXT 65536u
#define AEAD_MAX_AAD 65536u

typedef enum { AEAD_BACKEND_PORTABLE = 0, AEAD_BACKEND_OPENSSL = 1 } aead_backend;

/* Results of the open functions. */
#define AEAD_OPEN_OK 1
#define AEAD_OPEN_FORGED 0
#define AEAD_INTERNAL_ERROR (-1)

/* Per-user state for ChaCha20-Poly1305: the backend and, for "openssl", two reusable EVP
 * contexts (one per direction) created on first use. Zero-initialise, then aead_chacha_init. */
typedef struct {
  aead_backend backend;
  void *evp_seal;
  void *evp_open;
} aead_chacha;

/* Resolves OpenSSL's symbols once; returns 1 when the openssl backend is available. */
int aead_openssl_available(void);

/* Picks the backend (falls back to portable when OpenSSL is unavailable). */
void aead_chacha_init(aead_chacha *ctx, aead_backend backend);
/* Frees the EVP contexts; the context may be initialised again afterwards. */
void aead_chacha_release(aead_chacha *ctx);

/* out: length + AEAD_TAG_BYTES bytes (ciphertext || tag). length <= AEAD_MAX_PLAINTEXT,
 * aad_length <= AEAD_MAX_AAD. Returns 1, or AEAD_INTERNAL_ERROR if OpenSSL failed. */
int aead_chacha20poly1305_seal(aead_chacha *ctx, const uint8_t key[AEAD_KEY_BYTES],
                               const uint8_t nonce[AEAD_CHACHA_NONCE_BYTES], const uint8_t *aad,
                               size_t aad_length, const uint8_t *plaintext, size_t length,
                               uint8_t *out);

/* sealed: ciphertext || tag, sealed_length >= AEAD_TAG_BYTES; out: sealed_length - 16 bytes.
 * Returns AEAD_OPEN_OK, AEAD_OPEN_FORGED (out zeroed) or AEAD_INTERNAL_ERROR. */
int aead_chacha20poly1305_open(aead_chacha *ctx, const uint8_t key[AEAD_KEY_BYTES],
                               const uint8_t nonce[AEAD_CHACHA_NONCE_BYTES], const uint8_t *aad,
                               size_t aad_length, const uint8_t *sealed, size_t sealed_length,
                               uint8_t *out);

/* NaCl secretbox. out: AEAD_TAG_BYTES + length bytes (tag || ciphertext). */
void aead_xsalsa20poly1305_seal(const uint8_t key[AEAD_KEY_BYTES],
                                const uint8_t nonce[AEAD_XSALSA_NONCE_BYTES],
                                const uint8_t *plaintext, size_t length, uint8_t *out);

/* sealed: tag || ciphertext, sealed_length >= AEAD_TAG_BYTES; out: sealed_length - 16 bytes.
 * Returns AEAD_OPEN_OK or AEAD_OPEN_FORGED (out untouched). */
int aead_xsalsa20poly1305_open(const uint8_t key[AEAD_KEY_BYTES],
                               const uint8_t nonce[AEAD_XSALSA_NONCE_BYTES],
                               const uint8_t *sealed, size_t sealed_length, uint8_t *out);

/* Building blocks, exported for the fuzz target and tests of the primitives. */
void aead_chacha20_xor(const uint8_t key[32], const uint8_t nonce[12], uint32_t counter,
                       const uint8_t *in, size_t length, uint8_t *out);
void aead_poly1305(const uint8_t key[32], const uint8_t *message, size_t length,
                   uint8_t tag[16]);
void aead_hsalsa20(const uint8_t key[32], const uint8_t nonce[16], uint8_t subkey[32]);
/* 1 when equal; time depends on length only. */
int aead_equal16(const uint8_t a[16], const uint8_t b[16]);

#endif
