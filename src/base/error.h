// Error helpers shared by every part of ctk. Library code returns false and
// fills a std::string* err (ninja style); applets print that one line.
#pragma once

#include <cerrno>
#include <string>
#include <string_view>

namespace ctk {

// "what: strerror(err)", the crun-style message that names the path.
std::string sys_error(std::string_view what, int err = errno);

// Prints "ctk: message" to stderr. Used by applets for the final error line.
void print_error(std::string_view applet, std::string_view message);

}  // namespace ctk
