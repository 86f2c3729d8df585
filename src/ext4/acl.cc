#include "ext4/acl.h"

#include <cstdint>
#include <cstring>

namespace ctk::ext4 {

namespace {

constexpr uint32_t kXattrVersion = 2;
constexpr uint32_t kDiskVersion = 1;
constexpr uint16_t kTagUser = 0x02, kTagGroup = 0x08;  // the tags that carry an id
constexpr uint16_t kKnownTags = 0x01 | 0x02 | 0x04 | 0x08 | 0x10 | 0x20;

template <typename T>
T load(const char* p) {
  T v;
  std::memcpy(&v, p, sizeof v);
  return v;
}

template <typename T>
void append(std::string* out, T v) {
  out->append(reinterpret_cast<const char*>(&v), sizeof v);
}

bool valid_tag(uint16_t tag) { return tag && (tag & ~kKnownTags) == 0 && (tag & (tag - 1)) == 0; }

}  // namespace

bool acl_to_disk(std::string_view in, std::string* out, std::string* err) {
  if (in.size() < 4 || (in.size() - 4) % 8 != 0 || load<uint32_t>(in.data()) != kXattrVersion) {
    *err = "malformed POSIX ACL attribute";
    return false;
  }
  out->clear();
  append(out, kDiskVersion);
  for (size_t off = 4; off < in.size(); off += 8) {
    uint16_t tag = load<uint16_t>(in.data() + off), perm = load<uint16_t>(in.data() + off + 2);
    if (!valid_tag(tag)) {
      *err = "malformed POSIX ACL attribute (tag " + std::to_string(tag) + ")";
      return false;
    }
    append(out, tag);
    append(out, perm);
    if (tag == kTagUser || tag == kTagGroup) append(out, load<uint32_t>(in.data() + off + 4));
  }
  return true;
}

bool acl_from_disk(std::string_view in, std::string* out, std::string* err) {
  if (in.size() < 4 || load<uint32_t>(in.data()) != kDiskVersion) {
    *err = "malformed ext4 ACL";
    return false;
  }
  out->clear();
  append(out, kXattrVersion);
  for (size_t off = 4; off < in.size();) {
    bool named = off + 2 <= in.size() &&
                 (load<uint16_t>(in.data() + off) == kTagUser || load<uint16_t>(in.data() + off) == kTagGroup);
    if (off + (named ? 8 : 4) > in.size()) {
      *err = "malformed ext4 ACL";
      return false;
    }
    append(out, load<uint16_t>(in.data() + off));      // tag
    append(out, load<uint16_t>(in.data() + off + 2));  // permissions
    // ACL_UNDEFINED_ID for the entries that name no one.
    append(out, named ? load<uint32_t>(in.data() + off + 4) : UINT32_MAX);
    off += named ? 8 : 4;
  }
  return true;
}

}  // namespace ctk::ext4
