#include "container/detach_keys.h"

namespace ctk::container {

namespace {

// One key of the list: "ctrl-x" or a single character.
bool key_byte(std::string_view key, char* out) {
  if (key.size() == 1) {
    *out = key[0];
    return true;
  }
  if (!key.starts_with("ctrl-") || key.size() != 6) return false;
  char c = key[5];
  if (c >= 'a' && c <= 'z') {
    *out = char(c - 'a' + 1);
    return true;
  }
  // The control codes past ^Z, and ^@ (NUL), in terminal order.
  static constexpr std::string_view kAfterZ = "@[\\]^_";
  size_t at = kAfterZ.find(c);
  if (at == std::string_view::npos) return false;
  *out = at == 0 ? '\0' : char(26 + at);
  return true;
}

}  // namespace

bool parse_detach_keys(std::string_view text, std::string* bytes, std::string* err) {
  if (text.empty()) text = kDefaultDetachKeys;
  bytes->clear();
  for (size_t start = 0; start <= text.size();) {
    size_t comma = text.find(',', start);
    if (comma == std::string_view::npos) comma = text.size();
    char b;
    if (!key_byte(text.substr(start, comma - start), &b)) {
      *err = "invalid detach keys (" + std::string(text) + "): want keys like ctrl-p,ctrl-q";
      return false;
    }
    *bytes += b;
    start = comma + 1;
  }
  return true;
}

bool DetachWatch::feed(std::string_view in, std::string* pass) {
  if (keys_.empty()) {
    pass->append(in);
    return false;
  }
  for (char b : in) {
    if (b == keys_[matched_]) {
      if (++matched_ == keys_.size()) {
        matched_ = 0;
        return true;
      }
      continue;
    }
    // A broken match lets its bytes through; this byte may begin a new one.
    pass->append(keys_, 0, matched_);
    matched_ = 0;
    // (A one-key sequence never gets here: its key matched above.)
    if (b == keys_[0]) matched_ = 1;
    else *pass += b;
  }
  return false;
}

void DetachWatch::flush(std::string* pass) {
  pass->append(keys_, 0, matched_);
  matched_ = 0;
}

}  // namespace ctk::container
