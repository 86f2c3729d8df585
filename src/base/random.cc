#include "base/random.h"

#include <sys/random.h>
#include <time.h>
#include <unistd.h>

#include <cstring>

#include "base/clock.h"
#include "base/sha256.h"

namespace ctk {

uint64_t random_u64() {
  uint64_t v = 0;
  if (::getrandom(&v, sizeof v, 0) != sizeof v) v = uint64_t(::time(nullptr)) ^ uint64_t(::getpid()) << 32;
  return v;
}

std::string random_id() {
  uint8_t bytes[32];
  if (::getrandom(bytes, sizeof bytes, 0) != sizeof bytes) {
    // getrandom on Linux >= 3.17 does not fail for 32 bytes; be safe anyway.
    std::string seed = std::to_string(random_u64()) + now_rfc3339();
    Digest d = sha256({reinterpret_cast<const uint8_t*>(seed.data()), seed.size()});
    std::memcpy(bytes, d.data(), sizeof bytes);
  }
  return to_hex(bytes);
}

}  // namespace ctk
