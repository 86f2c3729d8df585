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

void print_error(std::string_view applet, std::string_view message) {
  std::fprintf(stderr, "ctk %.*s: %.*s\n", int(applet.size()), applet.data(),
               int(message.size()), message.data());
}

}  // namespace ctk
