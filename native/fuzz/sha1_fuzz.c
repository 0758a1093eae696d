/*
 * libFuzzer target for native/sha1/sha1_core.c (built and run by scripts/fuzz.sh).
 *
 * Input: [control byte][chunking seed byte][content...]. The control byte picks the git object
 * type. For every input the object id is computed four ways and must agree:
 *   portable one-shot, portable streamed in pseudo-random chunks, the "openssl" backend
 *   (dlsym finds SHA1_Init in the libcrypto this binary links), and, as the independent
 *   reference, libcrypto's SHA1() over header + content built with snprintf.
 * Without libssl-dev the reference is dropped and the other three still must agree.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../sha1/sha1_core.h"

#ifdef NYMOTE_FUZZ_LIBCRYPTO
#include <openssl/sha.h>
#endif

static const char *const object_types[] = {"blob", "tree", "commit", "tag"};

static void expect_same(const uint8_t *expected, const uint8_t *actual, const char *what) {
  if (memcmp(expected, actual, SHA1_DIGEST_BYTES) != 0) {
    fprintf(stderr, "sha1_fuzz: %s differs from the portable one-shot id\n", what);
    abort();
  }
}

static void streamed_object_id(sha1_backend backend, const char *type, const uint8_t *content,
                               size_t length, uint8_t seed, uint8_t digest[SHA1_DIGEST_BYTES]) {
  uint8_t header[SHA1_OBJECT_HEADER_MAX];
  size_t header_length = sha1_object_header(type, strlen(type), length, header);
  sha1_ctx ctx;
  sha1_init(&ctx, backend);
  sha1_update(&ctx, header, header_length);
  /* Chunk sizes 0..130 from a tiny LCG, so chunks start and end anywhere in a block. */
  uint32_t state = seed | 1u;
  size_t offset = 0;
  while (offset < length) {
    state = state * 1103515245u + 12345u;
    size_t chunk = (state >> 16) % 131;
    if (chunk > length - offset) chunk = length - offset;
    sha1_update(&ctx, content + offset, chunk);
    offset += chunk;
  }
  sha1_final(&ctx, digest);
}

int LLVMFuzzerInitialize(int *argc, char ***argv) {
  (void)argc;
  (void)argv;
#ifdef NYMOTE_FUZZ_LIBCRYPTO
  /* Linked with libcrypto, the openssl backend must resolve, or its comparison is hollow. */
  if (!sha1_openssl_available()) {
    fprintf(stderr, "sha1_fuzz: SHA1_Init not found by dlsym although libcrypto is linked\n");
    abort();
  }
#endif
  return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size < 2) return 0;
  const char *type = object_types[data[0] & 3];
  uint8_t seed = data[1];
  const uint8_t *content = data + 2;
  size_t length = size - 2;

  uint8_t one_shot[SHA1_DIGEST_BYTES], other[SHA1_DIGEST_BYTES];
  if (!sha1_object_id(SHA1_BACKEND_PORTABLE, type, strlen(type), content, length, one_shot)) abort();

  streamed_object_id(SHA1_BACKEND_PORTABLE, type, content, length, seed, other);
  expect_same(one_shot, other, "portable streamed id");

  streamed_object_id(SHA1_BACKEND_OPENSSL, type, content, length, seed, other);
  expect_same(one_shot, other, "openssl-backend streamed id");

#ifdef NYMOTE_FUZZ_LIBCRYPTO
  char header[SHA1_OBJECT_HEADER_MAX];
  int header_length = snprintf(header, sizeof header, "%s %zu", type, length) + 1; /* + NUL */
  uint8_t *object = malloc((size_t)header_length + length + 1);
  if (object == NULL) abort();
  memcpy(object, header, (size_t)header_length);
  memcpy(object + header_length, content, length);
  SHA1(object, (size_t)header_length + length, other);
  free(object);
  expect_same(one_shot, other, "libcrypto SHA1() of header + content");
#endif
  return 0;
}
