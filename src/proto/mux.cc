#include "proto/mux.h"

#include <algorithm>
#include <cstring>

namespace ctk::proto {

namespace {
// Credit goes back in batches, or as soon as the reader has caught up, so a
// bulk transfer costs one window frame per 32 KiB and an interactive one stays prompt.
constexpr uint32_t kCreditBatch = 32 * 1024;
}  // namespace

void Mux::feed(const void* data, size_t len) {
  std::memcpy(feed_space(len), data, len);
  fed(len);
}

char* Mux::feed_space(size_t len) {
  if (in_off_ == in_len_) in_off_ = in_len_ = 0;
  if (in_cap_ - in_len_ < len) {
    // What is left unprocessed is small (data moves on as it comes): move
    // it to the front, into a bigger buffer only when that is not enough.
    size_t pending = in_len_ - in_off_;
    if (in_cap_ - pending >= len) {
      std::memmove(in_buf_.get(), in_buf_.get() + in_off_, pending);
    } else {
      size_t cap = std::max(in_cap_ * 2, pending + len);
      auto bigger = std::make_unique_for_overwrite<char[]>(cap);
      if (pending) std::memcpy(bigger.get(), in_buf_.get() + in_off_, pending);
      in_buf_ = std::move(bigger);
      in_cap_ = cap;
    }
    in_off_ = 0;
    in_len_ = pending;
  }
  return in_buf_.get() + in_len_;
}

Mux::Input Mux::next(std::string* text) {
  for (;;) {
    if (!errors_.empty()) {
      *text = std::move(errors_.front());
      errors_.pop_front();
      return Input::kError;
    }
    if (payload_left_) {
      take_payload();
      if (payload_left_) break;
      continue;
    }
    if (in_len_ - in_off_ < kHeaderSize) break;
    const auto* p = reinterpret_cast<const uint8_t*>(in_buf_.get() + in_off_);
    FrameHeader h;
    HeaderCheck check = decode_header(p, &h);
    if (check == HeaderCheck::kTooLong) {
      *text = "frame for channel " + std::to_string(h.channel) + " has length " +
              std::to_string(h.length) + ", over the maximum " + std::to_string(kMaxPayload);
      return Input::kFatal;
    }
    // A bad frame's payload and a channel's data are taken as they come,
    // not once the frame is whole.
    if (check == HeaderCheck::kBadFrame || (h.type == FrameType::kData && h.channel != kControlChannel)) {
      if (check == HeaderCheck::kBadFrame)
        errors_.push_back("bad frame header (type " + std::to_string(p[0]) + ") for channel " +
                          std::to_string(h.channel) + ": skipped");
      keep_ = check != HeaderCheck::kBadFrame && accept_data(h);
      payload_ch_ = h.channel;
      payload_left_ = h.length;
      in_off_ += kHeaderSize;
      continue;
    }
    if (in_len_ - in_off_ < kHeaderSize + h.length) break;
    const char* payload = in_buf_.get() + in_off_ + kHeaderSize;
    size_t frame_size = kHeaderSize + h.length;
    if (h.channel == kControlChannel && h.type == FrameType::kData) {
      bool got = false;
      control_off_ += control_data(payload + control_off_, h.length - control_off_, text, &got);
      if (control_off_ == h.length) {
        in_off_ += frame_size;
        control_off_ = 0;
      }
      if (got) return Input::kMessage;
      continue;
    }
    // Window/EOF/close mean nothing on the control channel.
    if (h.channel != kControlChannel) channel_frame(h, payload);
    in_off_ += frame_size;
  }
  if (in_off_ == in_len_) in_off_ = in_len_ = 0;
  return Input::kNone;
}

bool Mux::accept_data(const FrameHeader& h) {
  Channel* c = find(h.channel);
  if (!c) return false;  // not open (yet or any more): dropped, see docs/PROTOCOL.md
  auto ch = [&] { return "channel " + std::to_string(h.channel); };
  if (c->peer_eof) {
    errors_.push_back(ch() + ": data after EOF dropped");
    return false;
  }
  if (h.length > c->recv_window) {
    errors_.push_back(ch() + ": " + std::to_string(h.length) + " bytes exceed the window of " +
                      std::to_string(c->recv_window) + ", dropped");
    return false;
  }
  if (c->sent_close) return false;
  c->recv_window -= h.length;
  return true;
}

void Mux::take_payload() {
  size_t n = std::min(payload_left_, in_len_ - in_off_);
  if (keep_) {
    // The owner may have closed or released the channel between two parts.
    Channel* c = find(payload_ch_);
    if (c && !c->sent_close) c->in.append(in_buf_.get() + in_off_, n);
  }
  in_off_ += n;
  payload_left_ -= n;
}

void Mux::channel_frame(const FrameHeader& h, const char* payload) {
  Channel* c = find(h.channel);
  if (!c) return;  // not open (yet or any more): dropped, see docs/PROTOCOL.md
  std::string ch = "channel " + std::to_string(h.channel);
  switch (h.type) {
    case FrameType::kData:
      break;  // taken as it comes (accept_data)
    case FrameType::kWindow: {
      if (h.length != 4) {
        errors_.push_back(ch + ": window frame with " + std::to_string(h.length) + " bytes, not 4");
        break;
      }
      uint64_t w = uint64_t(c->send_window) + load_u32(reinterpret_cast<const uint8_t*>(payload));
      if (w > UINT32_MAX) {
        errors_.push_back(ch + ": window over 4 GiB ignored");
        break;
      }
      c->send_window = uint32_t(w);
      break;
    }
    case FrameType::kEof:
    case FrameType::kClose:
      if (h.length) errors_.push_back(ch + ": EOF/close frame with a payload");
      (h.type == FrameType::kEof ? c->peer_eof : c->peer_closed) = true;
      break;
  }
}

size_t Mux::control_data(const char* p, size_t len, std::string* message, bool* got) {
  const char* nl = static_cast<const char*>(std::memchr(p, '\n', len));
  size_t take = nl ? size_t(nl - p) : len;
  if (!skipping_line_) {
    if (line_.size() + take > kMaxMessage) {
      skipping_line_ = true;
      line_.clear();
      errors_.push_back("control message over " + std::to_string(kMaxMessage) + " bytes dropped");
    } else {
      line_.append(p, take);
    }
  }
  if (!nl) return len;
  if (!skipping_line_ && !line_.empty()) {
    *message = std::move(line_);
    *got = true;
  }
  line_.clear();
  skipping_line_ = false;
  return take + 1;
}

void Mux::wrote(size_t n) {
  out_off_ += n;
  if (out_off_ == out_.size()) {
    out_.clear();
    out_off_ = 0;
  } else if (out_off_ > 1024 * 1024 && out_off_ > out_.size() / 2) {
    out_.erase(0, out_off_);
    out_off_ = 0;
  }
}

void Mux::frame(FrameType type, uint32_t ch, const void* data, size_t len) {
  append_frame(&out_, type, ch, data, len);
}

void Mux::send_message(std::string_view json) {
  std::string line(json);
  line += '\n';
  for (size_t off = 0; off < line.size(); off += kMaxPayload)
    frame(FrameType::kData, kControlChannel, line.data() + off,
          std::min(kMaxPayload, line.size() - off));
}

Mux::Channel* Mux::find(uint32_t ch) {
  auto it = channels_.find(ch);
  return it == channels_.end() ? nullptr : &it->second;
}

const Mux::Channel* Mux::find(uint32_t ch) const {
  auto it = channels_.find(ch);
  return it == channels_.end() ? nullptr : &it->second;
}

bool Mux::open(uint32_t ch) {
  if (ch == kControlChannel) return false;
  return channels_.try_emplace(ch).second;
}

void Mux::release(uint32_t ch) { channels_.erase(ch); }

std::vector<uint32_t> Mux::open_channels() const {
  std::vector<uint32_t> ids;
  for (const auto& [id, c] : channels_) ids.push_back(id);
  return ids;
}

size_t Mux::send_window(uint32_t ch) const {
  const Channel* c = find(ch);
  return c && !c->sent_eof ? c->send_window : 0;
}

size_t Mux::send(uint32_t ch, const void* data, size_t len) {
  Channel* c = find(ch);
  if (!c || c->sent_eof) return 0;
  if (c->peer_closed) return len;
  size_t n = std::min<size_t>(len, c->send_window);
  for (size_t off = 0; off < n; off += kMaxPayload)
    frame(FrameType::kData, ch, static_cast<const char*>(data) + off, std::min(kMaxPayload, n - off));
  c->send_window -= uint32_t(n);
  return n;
}

void Mux::send_eof(uint32_t ch) {
  Channel* c = find(ch);
  if (!c || c->sent_eof) return;
  c->sent_eof = true;
  frame(FrameType::kEof, ch, nullptr, 0);
}

void Mux::send_close(uint32_t ch) {
  Channel* c = find(ch);
  if (!c || c->sent_close) return;
  c->sent_close = true;
  c->in.clear();
  c->in_off = 0;
  frame(FrameType::kClose, ch, nullptr, 0);
}

std::string_view Mux::received(uint32_t ch) const {
  const Channel* c = find(ch);
  return c ? std::string_view(c->in).substr(c->in_off) : std::string_view();
}

void Mux::grant(uint32_t ch, uint32_t n) {
  Channel* c = find(ch);
  if (!c || !n || c->peer_eof) return;
  uint8_t credit[4];
  store_u32(credit, n);
  frame(FrameType::kWindow, ch, credit, 4);
  c->recv_window += n;
}

void Mux::consume(uint32_t ch, size_t n) {
  Channel* c = find(ch);
  if (!c) return;
  n = std::min(n, c->in.size() - c->in_off);
  c->in_off += n;
  if (c->in_off == c->in.size()) {
    c->in.clear();
    c->in_off = 0;
  } else if (c->in_off >= kInitialWindow) {
    c->in.erase(0, c->in_off);
    c->in_off = 0;
  }
  c->unacked += uint32_t(n);
  if (c->unacked && (c->unacked >= kCreditBatch || c->in.empty()) && !c->peer_eof) {
    uint8_t credit[4];
    store_u32(credit, c->unacked);
    frame(FrameType::kWindow, ch, credit, 4);
    c->recv_window += c->unacked;
    c->unacked = 0;
  }
}

bool Mux::peer_eof(uint32_t ch) const {
  const Channel* c = find(ch);
  return c && c->peer_eof;
}

bool Mux::peer_closed(uint32_t ch) const {
  const Channel* c = find(ch);
  return c && c->peer_closed;
}

bool Mux::sent_eof(uint32_t ch) const {
  const Channel* c = find(ch);
  return c && c->sent_eof;
}

}  // namespace ctk::proto
