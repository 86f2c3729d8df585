#include "http/websocket.h"

#include <openssl/evp.h>
#include <openssl/sha.h>

#include <algorithm>
#include <cctype>

namespace ctk::http {

namespace {

// RFC 6455's constant, appended to the client's key before hashing.
constexpr std::string_view kAcceptGuid = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";

bool is_base64_key(std::string_view key) {
  // 16 bytes: 22 characters and "==".
  if (key.size() != 24 || !key.ends_with("==")) return false;
  return std::all_of(key.begin(), key.end() - 2,
                     [](char c) { return std::isalnum(static_cast<unsigned char>(c)) || c == '+' || c == '/'; });
}

// Whether data is well-formed UTF-8 (no overlongs, surrogates or code
// points past U+10FFFF).
bool valid_utf8(std::string_view data) {
  size_t i = 0;
  while (i < data.size()) {
    unsigned char c = static_cast<unsigned char>(data[i]);
    size_t n;
    uint32_t cp;
    if (c < 0x80) {
      ++i;
      continue;
    } else if ((c & 0xe0) == 0xc0) {
      n = 1, cp = c & 0x1f;
    } else if ((c & 0xf0) == 0xe0) {
      n = 2, cp = c & 0x0f;
    } else if ((c & 0xf8) == 0xf0) {
      n = 3, cp = c & 0x07;
    } else {
      return false;
    }
    if (i + n >= data.size()) return false;  // cut short
    for (size_t k = 1; k <= n; ++k) {
      unsigned char cc = static_cast<unsigned char>(data[i + k]);
      if ((cc & 0xc0) != 0x80) return false;
      cp = (cp << 6) | (cc & 0x3f);
    }
    static constexpr uint32_t kMin[] = {0, 0x80, 0x800, 0x10000};
    if (cp < kMin[n] || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) return false;
    i += n + 1;
  }
  return true;
}

bool is_control(WsOpcode op) { return static_cast<uint8_t>(op) >= 8; }

}  // namespace

bool is_websocket_request(const Request& req, std::string* err) {
  if (req.method != "GET") return *err = "a WebSocket opens with GET", false;
  if (!req.header_lists("upgrade", "websocket")) return *err = "no Upgrade: websocket", false;
  if (!req.header_lists("connection", "upgrade")) return *err = "no Connection: Upgrade", false;
  if (req.header("sec-websocket-version") != "13") return *err = "Sec-WebSocket-Version must be 13", false;
  if (!is_base64_key(req.header("sec-websocket-key"))) return *err = "no valid Sec-WebSocket-Key", false;
  return true;
}

std::string websocket_accept(std::string_view key) {
  std::string text = std::string(key) + std::string(kAcceptGuid);
  unsigned char digest[SHA_DIGEST_LENGTH];
  SHA1(reinterpret_cast<const unsigned char*>(text.data()), text.size(), digest);
  unsigned char out[4 * ((SHA_DIGEST_LENGTH + 2) / 3) + 1];
  int n = EVP_EncodeBlock(out, digest, SHA_DIGEST_LENGTH);
  return std::string(reinterpret_cast<char*>(out), size_t(n));
}

WsDecoder::Result WsDecoder::fail(uint16_t code, const std::string& why, uint16_t* close_code, std::string* err) {
  failed_ = code;
  buf_.clear();
  partial_.clear();
  *close_code = code;
  *err = why;
  return Result::kError;
}

WsDecoder::Result WsDecoder::next(WsMessage* out, uint16_t* close_code, std::string* err) {
  if (failed_) return fail(failed_, "the connection failed already", close_code, err);
  for (;;) {
    if (buf_.size() < 2) return Result::kNeedMore;
    auto byte = [&](size_t i) { return static_cast<uint8_t>(buf_[i]); };
    bool fin = byte(0) & 0x80;
    if (byte(0) & 0x70) return fail(1002, "reserved bits set (no extension was agreed)", close_code, err);
    uint8_t op = byte(0) & 0x0f;
    if (op > 2 && op < 8) return fail(1002, "unknown opcode " + std::to_string(op), close_code, err);
    if (op > 10) return fail(1002, "unknown opcode " + std::to_string(op), close_code, err);
    WsOpcode opcode = static_cast<WsOpcode>(op);
    if (!(byte(1) & 0x80)) return fail(1002, "a client frame must be masked", close_code, err);
    uint64_t len = byte(1) & 0x7f;
    size_t at = 2;
    if (len == 126 || len == 127) {
      size_t width = len == 126 ? 2 : 8;
      if (buf_.size() < at + width) return Result::kNeedMore;
      len = 0;
      for (size_t i = 0; i < width; ++i) len = (len << 8) | byte(at + i);
      at += width;
      if ((width == 2 && len < 126) || (width == 8 && len <= 0xffff))
        return fail(1002, "a length not in its shortest form", close_code, err);
      if (len >> 63) return fail(1002, "a length over 2^63", close_code, err);
    }
    if (is_control(opcode) && (!fin || len > 125))
      return fail(1002, "a control frame must be final and at most 125 bytes", close_code, err);
    if (!is_control(opcode) && len + partial_.size() > max_message_)
      return fail(1009, "a message over " + std::to_string(max_message_) + " bytes", close_code, err);
    if (buf_.size() < at + 4 + len) return Result::kNeedMore;
    uint8_t mask[4] = {byte(at), byte(at + 1), byte(at + 2), byte(at + 3)};
    at += 4;
    std::string payload = buf_.substr(at, size_t(len));
    for (size_t i = 0; i < payload.size(); ++i) payload[i] = char(uint8_t(payload[i]) ^ mask[i % 4]);
    buf_.erase(0, at + size_t(len));
    if (is_control(opcode)) {
      if (opcode == WsOpcode::kClose && payload.size() == 1)
        return fail(1002, "a close frame of one byte", close_code, err);
      *out = {opcode, std::move(payload)};
      return Result::kMessage;
    }
    if (opcode == WsOpcode::kContinuation) {
      if (partial_opcode_ == WsOpcode::kContinuation)
        return fail(1002, "a continuation frame without a message", close_code, err);
    } else {
      if (partial_opcode_ != WsOpcode::kContinuation)
        return fail(1002, "a new message before the last one ended", close_code, err);
      partial_opcode_ = opcode;
    }
    partial_ += payload;
    if (!fin) continue;
    WsOpcode whole = partial_opcode_;
    partial_opcode_ = WsOpcode::kContinuation;
    if (whole == WsOpcode::kText && !valid_utf8(partial_)) return fail(1007, "a text message not in UTF-8", close_code, err);
    *out = {whole, std::move(partial_)};
    partial_.clear();
    return Result::kMessage;
  }
}

std::string ws_frame(WsOpcode opcode, std::string_view payload) {
  std::string out;
  out.push_back(char(0x80 | static_cast<uint8_t>(opcode)));
  uint64_t n = payload.size();
  if (n < 126) {
    out.push_back(char(n));
  } else if (n <= 0xffff) {
    out.push_back(char(126));
    out.push_back(char(n >> 8));
    out.push_back(char(n & 0xff));
  } else {
    out.push_back(char(127));
    for (int shift = 56; shift >= 0; shift -= 8) out.push_back(char((n >> shift) & 0xff));
  }
  out.append(payload);
  return out;
}

std::string ws_close_frame(uint16_t code, std::string_view reason) {
  std::string payload;
  payload.push_back(char(code >> 8));
  payload.push_back(char(code & 0xff));
  payload.append(reason.substr(0, 123));
  return ws_frame(WsOpcode::kClose, payload);
}

}  // namespace ctk::http
