# Native addons (N-API only, so one build runs on every Node version with NAPI_VERSION 8).
# Host: `npx node-gyp rebuild --nodedir=/usr` → build/Release/<target>.node.
# Cross: scripts/cross-build.sh armhf|arm64 → build/<arch>/<target>.node.
{
  "target_defaults": {
    "defines": ["NAPI_VERSION=8"],
    "cflags": ["-std=c11", "-Wall", "-Wextra", "-fvisibility=hidden"],
  },
  "targets": [
    {
      "target_name": "sha1",
      "sources": ["native/sha1/sha1.c", "native/sha1/sha1_core.c"],
      # dlsym finds the SHA-1 of the OpenSSL inside the running Node; never link our own.
      "libraries": ["-ldl"],
    },
    {
      "target_name": "dnswire",
      "sources": ["native/dnswire/dnswire.c", "native/dnswire/dnswire_core.c"],
    },
    {
      "target_name": "udpbatch",
      "sources": ["native/udpbatch/udpbatch.c"],
    },
    {
      "target_name": "aead",
      "sources": ["native/aead/aead.c", "native/aead/aead_core.c"],
      # dlsym finds the EVP ChaCha20-Poly1305 of the OpenSSL inside the running Node.
      "libraries": ["-ldl"],
    },
  ],
}
