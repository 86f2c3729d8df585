// Whole-file reads and complete writes, failing with errno and the path.
#pragma once

#include <string>

namespace ctk {

// Reads a whole file. With `exists`, a missing file is no error (*exists = false).
bool read_file(const std::string& path, std::string* out, bool* exists, std::string* err);
// Writes all of `data` (retrying short writes and EINTR); `path` names the file in errors.
bool write_all(int fd, const void* data, size_t size, const std::string& path, std::string* err);

}  // namespace ctk
