#include "ext4/hash.h"

#include <doctest/doctest.h>

#include <string>

using namespace ctk::ext4;

// Expected values come from e2fsprogs: `debugfs -R "dx_hash -h 4 -s SEED NAME"`
// (4 = half_md4 with unsigned chars) with SEED 01020304-0506-0708-090a-0b0c0d0e0f10.
TEST_CASE("half-MD4 directory hash matches e2fsprogs") {
  const uint32_t seed[4] = {0x04030201, 0x08070605, 0x0c0b0a09, 0x100f0e0d};
  DirHash h = dir_hash_half_md4("hello", seed);
  CHECK(h.major == 0xe2ddf968u);
  CHECK(h.minor == 0xc8bc0924u);
  h = dir_hash_half_md4("a_rather_long_file_name_that_exceeds_thirty_two_bytes.txt", seed);
  CHECK(h.major == 0x1b1902f4u);
  CHECK(h.minor == 0x3ee4f454u);
  h = dir_hash_half_md4("h\xc3\xa9llo", seed);  // bytes above 0x7f hash unsigned
  CHECK(h.major == 0x78f7e112u);
  CHECK(h.minor == 0xc4a9f91fu);
  const uint32_t no_seed[4] = {0, 0, 0, 0};  // falls back to the MD4 initial state
  h = dir_hash_half_md4("hello", no_seed);
  CHECK(h.major == 0x1746da32u);
  CHECK(h.minor == 0x420013b5u);
}

TEST_CASE("xattr hashes") {
  // name "a" then one value word: hash = (0x61 << 16) ^ (0x61 >> 16) ^ word
  CHECK(xattr_entry_hash("a", "") == 0x61u);
  CHECK(xattr_entry_hash("a", "\x01") == ((0x61u << 16) ^ 1u));
  const uint32_t hashes[] = {1, 2};
  CHECK(xattr_block_hash(hashes) == ((1u << 16) ^ 2u));
  const uint32_t with_zero[] = {1, 0};
  CHECK(xattr_block_hash(with_zero) == 0);
}
