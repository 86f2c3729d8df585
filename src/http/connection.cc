#include "http/connection.h"

#include <linux/sockios.h>
#include <poll.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cerrno>
#include <cstdio>
#include <thread>

#include "base/error.h"

namespace ctk::http {

namespace {

class SocketStream : public Stream {
 public:
  explicit SocketStream(int fd) : fd_(fd) {}
  ~SocketStream() override { ::close(fd_); }
  ssize_t read(char* buf, size_t size) override {
    for (;;) {
      ssize_t n = ::recv(fd_, buf, size, 0);
      if (n < 0 && errno == EINTR) continue;
      return n;
    }
  }
  bool write_all(std::string_view data) override {
    while (!data.empty()) {
      ssize_t n = ::send(fd_, data.data(), data.size(), MSG_NOSIGNAL);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) return false;
      data.remove_prefix(size_t(n));
    }
    return true;
  }
  void shutdown_write() override { ::shutdown(fd_, SHUT_WR); }
  int fd() const override { return fd_; }

 private:
  int fd_;
};

std::string http_date() {
  time_t now = ::time(nullptr);
  tm t{};
  ::gmtime_r(&now, &t);
  char buf[64];
  ::strftime(buf, sizeof buf, "%a, %d %b %Y %H:%M:%S GMT", &t);
  return buf;
}

}  // namespace

std::unique_ptr<Stream> socket_stream(int fd) { return std::make_unique<SocketStream>(fd); }

bool Connection::fill(std::string* err) {
  char tmp[64 * 1024];
  ssize_t n = stream_->read(tmp, sizeof tmp);
  if (n < 0) {
    broken_ = true;
    *err = sys_error("read");
    return false;
  }
  if (n == 0) {
    broken_ = true;
    *err = "the client closed the connection";
    return false;
  }
  buf_.append(tmp, size_t(n));
  return true;
}

bool Connection::read_request(Request* out, std::string* err) {
  responded_ = streaming_chunked_ = false;
  size_t scanned = 0;
  for (;;) {
    // The head ends at the first empty line (CRLF CRLF, or bare LFs).
    size_t end = std::string::npos, skip = 0;
    for (size_t i = scanned; i < buf_.size(); ++i) {
      if (buf_[i] != '\n') continue;
      if (i + 1 < buf_.size() && buf_[i + 1] == '\n') { end = i + 1, skip = 1; break; }
      if (i + 2 < buf_.size() && buf_[i + 1] == '\r' && buf_[i + 2] == '\n') { end = i + 1, skip = 2; break; }
    }
    if (end != std::string::npos) {
      std::string head = buf_.substr(0, end);
      buf_.erase(0, end + skip);
      // Blank lines between requests are allowed before a request line.
      if (head.find_first_not_of("\r\n") == std::string::npos) {
        scanned = 0;
        continue;
      }
      if (!parse_head(head, &request_, err)) return broken_ = true, false;
      uint64_t length;
      if (!content_length(request_, &length, err)) return broken_ = true, false;
      chunked_ = request_.chunked();
      chunks_ = ChunkedDecoder();
      body_left_ = chunked_ ? 0 : length;
      keep_alive_ = request_.keep_alive();
      *out = request_;
      return true;
    }
    if (buf_.size() > kMaxHead) return *err = "request head larger than 64 KiB", broken_ = true, false;
    scanned = buf_.size() > 2 ? buf_.size() - 2 : 0;
    bool idle = buf_.find_first_not_of("\r\n") == std::string::npos;
    if (!fill(err)) {
      if (idle) err->clear();  // a clean end between requests
      return false;
    }
  }
}

bool Connection::read_body(std::string* out, size_t max, bool* end, std::string* err) {
  *end = false;
  if (!chunked_ && body_left_ == 0) return *end = true, true;
  if (buf_.empty() && !fill(err)) return false;
  if (chunked_) {
    size_t used;
    std::string decoded;
    if (!chunks_.feed(buf_.data(), std::min(buf_.size(), max), &decoded, &used, err)) return broken_ = true, false;
    buf_.erase(0, used);
    out->append(decoded);
    if (chunks_.done()) chunked_ = false, *end = true;
    return true;
  }
  size_t n = size_t(std::min<uint64_t>({body_left_, uint64_t(buf_.size()), uint64_t(max)}));
  out->append(buf_, 0, n);
  buf_.erase(0, n);
  body_left_ -= n;
  *end = body_left_ == 0;
  return true;
}

bool Connection::read_whole_body(std::string* out, size_t limit, bool* too_large, std::string* err) {
  *too_large = false;
  out->clear();
  bool end = false;
  while (!end) {
    if (!read_body(out, 256 * 1024, &end, err)) return false;
    if (out->size() > limit) {
      *too_large = true;
      broken_ = true;  // the rest is not read: the connection cannot be reused
      *err = "request body larger than " + std::to_string(limit) + " bytes";
      return false;
    }
  }
  return true;
}

bool Connection::discard_body(size_t limit) {
  std::string sink, err;
  bool end = body_complete();
  size_t seen = 0;
  while (!end) {
    sink.clear();
    if (!read_body(&sink, 256 * 1024, &end, &err)) return false;
    if ((seen += sink.size()) > limit) return broken_ = true, false;
  }
  return true;
}

bool Connection::write_head(int status, const Headers& headers, const std::string* length, std::string_view body) {
  std::string head = "HTTP/1.1 " + std::to_string(status) + " " + status_text(status) + "\r\n";
  for (const auto& [k, v] : headers) head += k + ": " + v + "\r\n";
  head += "Date: " + http_date() + "\r\n";
  if (length) head += "Content-Length: " + *length + "\r\n";
  if (!keep_alive_) head += "Connection: close\r\n";
  head += "\r\n";
  // One write with the body: a second small one could wait on the client's
  // delayed ACK (Nagle's algorithm) over TCP.
  head += body;
  responded_ = true;
  if (!stream_->write_all(head)) return broken_ = true, false;
  return true;
}

bool Connection::respond(int status, const Headers& headers, std::string_view body) {
  std::string length = std::to_string(body.size());
  bool no_body = status == 204 || status == 304 || request_.method == "HEAD";
  return write_head(status, headers, status == 204 || status == 304 ? nullptr : &length,
                    no_body ? std::string_view() : body);
}

bool Connection::begin_stream(int status, const Headers& headers) {
  Headers h = headers;
  streaming_chunked_ = request_.minor_version >= 1;
  if (streaming_chunked_) h.emplace_back("Transfer-Encoding", "chunked");
  else keep_alive_ = false;
  return write_head(status, h, nullptr);
}

bool Connection::write_chunk(std::string_view data) {
  if (data.empty()) return true;
  if (!streaming_chunked_) return stream_->write_all(data) || (broken_ = true, false);
  char size[32];
  int n = std::snprintf(size, sizeof size, "%zx\r\n", data.size());
  std::string out;
  out.reserve(size_t(n) + data.size() + 2);
  out.append(size, size_t(n)).append(data).append("\r\n");
  if (!stream_->write_all(out)) return broken_ = true, false;
  return true;
}

bool Connection::end_stream() {
  if (!streaming_chunked_) return true;
  streaming_chunked_ = false;
  if (!stream_->write_all("0\r\n\r\n")) return broken_ = true, false;
  return true;
}

bool Connection::hijack(const Headers& headers, std::string_view protocol) {
  bool upgrade = false;
  for (const auto& [k, v] : request_.headers)
    if (k == "upgrade") upgrade = true;
  Headers h = headers;
  if (upgrade) {
    h.emplace_back("Connection", "Upgrade");
    h.emplace_back("Upgrade", std::string(protocol));
  }
  keep_alive_ = true;  // no "Connection: close" in the head
  hijacked_ = true;
  if (!write_head(upgrade ? 101 : 200, h, nullptr)) return false;
  // Some clients read the head through a buffered reader, then the raw
  // socket (docker-py): stream bytes that arrived with the head, in the same
  // read, would be lost. The stream starts once the head has been read (up
  // to a second: a client that reads nothing gets it late, not never).
  for (int waited = 0; waited < 1000; ++waited) {
    int unread = 0;
    if (::ioctl(stream_->fd(), SIOCOUTQ, &unread) != 0 || unread <= 0) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  return true;
}

std::string Connection::take_buffered() {
  std::string out;
  out.swap(buf_);
  return out;
}

bool Connection::client_left(int wait_ms, bool half_close) {
  pollfd p{stream_->fd(), short(half_close ? POLLRDHUP : 0), 0};
  return ::poll(&p, 1, wait_ms) > 0 && (p.revents & (POLLRDHUP | POLLHUP | POLLERR));
}

}  // namespace ctk::http
