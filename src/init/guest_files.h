// Files the agent writes in the guest on the host's behalf (system_ops.cc).
#pragma once

#include <sys/types.h>

#include <string>

namespace ctk::init {

// mkdir -p; code "internal" on failure.
bool make_dirs(const std::string& path, std::string* code, std::string* err);

// Writes a small file whole with exactly mode, replacing it atomically (a
// temporary name, then rename), so a reader never sees it half written.
// code "not_found" when its directory is missing.
bool replace_file(const std::string& path, const std::string& data, mode_t mode, std::string* code,
                  std::string* err);

// False with an invalid_argument message unless path is absolute.
bool check_absolute(const std::string& path, std::string* err);

}  // namespace ctk::init
