#include "base/error.h"

#include <cstdio>
#include <cstring>

namespace ctk {

std::string sys_error(std::string_view what, int err) {
  std::string s(what);
  s += ": ";
  s += std::strerror(err);
  return s;
}

ErrorCode error_code_for_errno(int err) {
  switch (err) {
    case ENOENT:
    case ESRCH:
    case ENOTDIR:
      return ErrorCode::not_found;
    case EEXIST:
    case EBUSY:
    case EADDRINUSE:
    case ENOTEMPTY:
      return ErrorCode::conflict;
    case EINVAL:
    case ENAMETOOLONG:
    case ERANGE:
      return ErrorCode::invalid;
    default:
      return ErrorCode::failure;
  }
}

bool Error::fail_errno(std::string_view what, int e) {
  return fail(error_code_for_errno(e), sys_error(what, e));
}

void print_error(std::string_view applet, std::string_view message) {
  std::fprintf(stderr, "ctk %.*s: %.*s\n", int(applet.size()), applet.data(),
               int(message.size()), message.data());
}

}  // namespace ctk
