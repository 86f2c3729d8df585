// Error helpers shared by every part of ctk. Library code returns false and
// fills a std::string* err (ninja style); applets print that one line.
#pragma once

#include <cerrno>
#include <string>
#include <string_view>

namespace ctk {

// "what: strerror(err)", the crun-style message that names the path.
std::string sys_error(std::string_view what, int err = errno);

// What kind of failure an error is, derived from errno where there is one,
// so callers (an exit code, an HTTP status) can tell them apart without
// parsing the message.
enum class ErrorCode { failure, not_found, conflict, invalid };
ErrorCode error_code_for_errno(int err);

// A message with its kind, for library code whose callers map kinds.
struct Error {
  ErrorCode code = ErrorCode::failure;
  std::string message;
  // Sets both and returns false, for `return err->fail(...)`.
  bool fail(ErrorCode c, std::string m) {
    code = c;
    message = std::move(m);
    return false;
  }
  // sys_error's message with the kind errno says.
  bool fail_errno(std::string_view what, int e = errno);
};

// Prints "ctk: message" to stderr. Used by applets for the final error line.
void print_error(std::string_view applet, std::string_view message);

}  // namespace ctk
