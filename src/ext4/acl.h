// POSIX ACLs: the system.posix_acl_access/default attribute values arrive in
// the kernel's xattr form (version 2, 8-byte entries, as getxattr returns and
// tar stores them) but ext4 keeps its own, shorter form on disk (version 1,
// 4-byte entries except for named users and groups).
#pragma once

#include <string>
#include <string_view>

namespace ctk::ext4 {

bool acl_to_disk(std::string_view xattr_value, std::string* disk, std::string* err);
bool acl_from_disk(std::string_view disk, std::string* xattr_value, std::string* err);

}  // namespace ctk::ext4
