#include "base/sha256.h"

// The low-level SHA-256 interface (deprecated in OpenSSL 3 but kept, with the
// same assembly): the EVP interface drags the whole provider machinery, about
// 3.5 MB, into a static binary.
#define OPENSSL_SUPPRESS_DEPRECATED
#include <openssl/sha.h>

namespace ctk {

struct Sha256::State {
  SHA256_CTX ctx;
};

Sha256::Sha256() : state_(std::make_unique<State>()) { SHA256_Init(&state_->ctx); }

Sha256::~Sha256() = default;

void Sha256::update(const void* data, size_t len) { SHA256_Update(&state_->ctx, data, len); }

Digest Sha256::finish() {
  Digest d;
  SHA256_Final(d.data(), &state_->ctx);
  return d;
}

Digest sha256(std::span<const uint8_t> data) {
  Sha256 h;
  h.update(data.data(), data.size());
  return h.finish();
}

std::string to_hex(std::span<const uint8_t> bytes) {
  static const char kHex[] = "0123456789abcdef";
  std::string s;
  s.reserve(bytes.size() * 2);
  for (uint8_t b : bytes) {
    s += kHex[b >> 4];
    s += kHex[b & 15];
  }
  return s;
}

}  // namespace ctk
