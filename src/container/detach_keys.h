// docker's detach keys: a key sequence typed into an attached tty that ends
// the attach and leaves the process running (default ctrl-p ctrl-q). The
// relay of `ctk run -it`, `start -ai`, `attach` and `exec -it`, and ctk
// serve's hijacked attach and exec streams, watch their input for it.
#pragma once

#include <string>
#include <string_view>

namespace ctk::container {

inline constexpr std::string_view kDefaultDetachKeys = "ctrl-p,ctrl-q";

// "ctrl-p,ctrl-q" -> "\x10\x11": comma-separated keys, each ctrl-<a-z, @,
// [, \, ], ^ or _> or one character; "" is the default. false with a
// one-line reason for anything else.
bool parse_detach_keys(std::string_view text, std::string* bytes, std::string* err);

// Finds the sequence in a stream of input. Bytes that may begin it are
// held back until later input decides: the process never sees a completed
// sequence, and sees a broken one's bytes in their place.
class DetachWatch {
 public:
  explicit DetachWatch(std::string keys = {}) : keys_(std::move(keys)) {}
  // Bytes held back now (at most the sequence's length minus one).
  size_t held() const { return matched_; }
  // Appends to *pass what `in` lets through; true when the sequence is
  // complete (what follows it in `in` is dropped, as docker drops it).
  bool feed(std::string_view in, std::string* pass);
  // At the end of input: the held bytes, which no longer can complete it.
  void flush(std::string* pass);

 private:
  std::string keys_;
  size_t matched_ = 0;
};

}  // namespace ctk::container
