// Hashes that ext4 stores on disk: the directory-index (htree) name hash and
// the extended-attribute entry and block hashes.
#pragma once

#include <cstdint>
#include <span>
#include <string_view>

#include "ext4/format.h"

namespace ctk::ext4 {

struct DirHash {
  uint32_t major;  // the value htree orders by; low bit always clear
  uint32_t minor;
};

// ext4's half-MD4 name hash with unsigned chars (s_flags has the unsigned-hash
// flag), seeded by the superblock's s_hash_seed.
DirHash dir_hash_half_md4(std::string_view name, const uint32_t seed[4]);

// e_hash of one attribute entry (name and value).
uint32_t xattr_entry_hash(std::string_view name, std::string_view value);

// h_hash of an attribute block, from its entries' hashes in on-disk order.
uint32_t xattr_block_hash(std::span<const uint32_t> entry_hashes);

}  // namespace ctk::ext4
