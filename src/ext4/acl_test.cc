#include "ext4/acl.h"

#include <doctest/doctest.h>

#include <cstdint>
#include <string>

using namespace ctk::ext4;

namespace {
std::string words(std::initializer_list<uint32_t> w) { return {reinterpret_cast<const char*>(w.begin()), w.size() * 4}; }
uint32_t entry(uint16_t tag, uint16_t perm) { return uint32_t(tag) | uint32_t(perm) << 16; }
}  // namespace

TEST_CASE("POSIX ACLs convert between the xattr and the ext4 forms") {
  // user::rw- user:1000:r-- group::r-- mask::r-- other::---
  std::string xattr = words({2, entry(0x01, 6), 0xffffffff, entry(0x02, 4), 1000, entry(0x04, 4),
                             0xffffffff, entry(0x10, 4), 0xffffffff, entry(0x20, 0), 0xffffffff});
  std::string disk, back, err;
  REQUIRE(acl_to_disk(xattr, &disk, &err));
  CHECK(disk == words({1, entry(0x01, 6), entry(0x02, 4), 1000, entry(0x04, 4), entry(0x10, 4), entry(0x20, 0)}));
  REQUIRE(acl_from_disk(disk, &back, &err));
  CHECK(back == xattr);
  CHECK_FALSE(acl_to_disk(words({1, entry(0x01, 6), 0}), &disk, &err));   // wrong version
  CHECK_FALSE(acl_to_disk(words({2, entry(0x03, 6), 0}), &disk, &err));   // two tags at once
  CHECK_FALSE(acl_to_disk(std::string("\x02\0\0\0\x01", 5), &disk, &err));  // ragged
  CHECK_FALSE(acl_from_disk(words({1, entry(0x02, 4)}), &back, &err));    // named user without id
}
