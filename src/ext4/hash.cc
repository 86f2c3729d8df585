#include "ext4/hash.h"

#include <bit>
#include <cstring>

namespace ctk::ext4 {

namespace {

// One half-MD4 compression: three rounds of eight steps over 8 input words.
void half_md4_transform(uint32_t state[4], const uint32_t in[8]) {
  constexpr uint32_t k2 = 013240474631u;  // sqrt(2) * 2^30
  constexpr uint32_t k3 = 015666365641u;  // sqrt(3) * 2^30
  auto f = [](uint32_t x, uint32_t y, uint32_t z) { return z ^ (x & (y ^ z)); };
  auto g = [](uint32_t x, uint32_t y, uint32_t z) { return (x & y) + ((x ^ y) & z); };
  auto h = [](uint32_t x, uint32_t y, uint32_t z) { return x ^ y ^ z; };
  uint32_t a = state[0], b = state[1], c = state[2], d = state[3];
  // Each step: a = rotl(a + fn(b, c, d) + word, shift), with the registers rotating.
  auto step = [](auto fn, uint32_t& w, uint32_t x, uint32_t y, uint32_t z, uint32_t word, int s) {
    w = std::rotl(w + fn(x, y, z) + word, s);
  };
  static constexpr int r1[8] = {0, 1, 2, 3, 4, 5, 6, 7}, s1[4] = {3, 7, 11, 19};
  static constexpr int r2[8] = {1, 3, 5, 7, 0, 2, 4, 6}, s2[4] = {3, 5, 9, 13};
  static constexpr int r3[8] = {3, 7, 2, 6, 1, 5, 0, 4}, s3[4] = {3, 9, 11, 15};
  auto round = [&](auto fn, const int* order, const int* shifts, uint32_t k) {
    for (int i = 0; i < 8; i += 4) {
      step(fn, a, b, c, d, in[order[i]] + k, shifts[0]);
      step(fn, d, a, b, c, in[order[i + 1]] + k, shifts[1]);
      step(fn, c, d, a, b, in[order[i + 2]] + k, shifts[2]);
      step(fn, b, c, d, a, in[order[i + 3]] + k, shifts[3]);
    }
  };
  round(f, r1, s1, 0);
  round(g, r2, s2, k2);
  round(h, r3, s3, k3);
  state[0] += a;
  state[1] += b;
  state[2] += c;
  state[3] += d;
}

// Packs up to 4*words bytes of the name big-endian-ish into words, padding
// with a pattern made of the remaining length, as ext4 does.
void pack_words(const unsigned char* p, int len, uint32_t* out, int words) {
  uint32_t pad = uint32_t(len) | (uint32_t(len) << 8);
  pad |= pad << 16;
  uint32_t val = pad;
  int n = len < words * 4 ? len : words * 4;
  for (int i = 0; i < n; ++i) {
    val = uint32_t(p[i]) + (val << 8);
    if (i % 4 == 3) {
      *out++ = val;
      val = pad;
      --words;
    }
  }
  if (--words >= 0) *out++ = val;
  while (--words >= 0) *out++ = pad;
}

}  // namespace

DirHash dir_hash_half_md4(std::string_view name, const uint32_t seed[4]) {
  uint32_t state[4] = {0x67452301, 0xefcdab89, 0x98badcfe, 0x10325476};
  if (seed[0] | seed[1] | seed[2] | seed[3]) std::memcpy(state, seed, sizeof state);
  auto p = reinterpret_cast<const unsigned char*>(name.data());
  int len = int(name.size());
  while (len > 0) {
    uint32_t in[8];
    pack_words(p, len, in, 8);
    half_md4_transform(state, in);
    len -= 32;
    p += 32;
  }
  uint32_t major = state[1] & ~1u;
  // The largest value is reserved as the end-of-directory marker for 32-bit readdir cookies.
  if (major == (0x7fffffffu << 1)) major = (0x7fffffffu - 1) << 1;
  return {major, state[2]};
}

uint32_t xattr_entry_hash(std::string_view name, std::string_view value) {
  uint32_t hash = 0;
  for (unsigned char c : name) hash = (hash << 5) ^ (hash >> 27) ^ c;
  // The value is hashed as little-endian 32-bit words, zero-padded.
  for (size_t i = 0; i < value.size(); i += 4) {
    uint32_t word = 0;
    std::memcpy(&word, value.data() + i, std::min<size_t>(4, value.size() - i));
    hash = (hash << 16) ^ (hash >> 16) ^ word;
  }
  return hash;
}

uint32_t xattr_block_hash(std::span<const uint32_t> entry_hashes) {
  uint32_t hash = 0;
  for (uint32_t h : entry_hashes) {
    if (h == 0) return 0;
    hash = (hash << 16) ^ (hash >> 16) ^ h;
  }
  return hash;
}

}  // namespace ctk::ext4
