#include "container/attach.h"

#include <poll.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/signalfd.h>
#include <termios.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>

#include "base/error.h"
#include "container/detach_keys.h"
#include "container/guest_setup.h"

namespace ctk::container {

namespace {

using nlohmann::json;

// Puts the host terminal in raw mode for -t, restoring it on destruction.
class RawTerminal {
 public:
  bool enable(int fd) {
    if (!::isatty(fd) || ::tcgetattr(fd, &saved_) != 0) return false;
    termios raw = saved_;
    ::cfmakeraw(&raw);
    fd_ = fd;
    return ::tcsetattr(fd, TCSANOW, &raw) == 0;
  }
  ~RawTerminal() {
    if (fd_ >= 0) ::tcsetattr(fd_, TCSANOW, &saved_);
  }

 private:
  int fd_ = -1;
  termios saved_{};
};

void write_out(int fd, std::string_view data) {
  while (!data.empty()) {
    ssize_t n = ::write(fd, data.data(), data.size());
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return;  // our stdout is gone; the process runs on
    data.remove_prefix(size_t(n));
  }
}

// Restores the signal mask and closes the signalfd however attach ends.
struct SignalGuard {
  sigset_t old;
  int fd = -1;
  ~SignalGuard() {
    if (fd >= 0) ::close(fd);
    ::sigprocmask(SIG_SETMASK, &old, nullptr);
  }
};

}  // namespace

void terminal_size(unsigned* rows, unsigned* cols) {
  winsize ws{};
  *rows = *cols = 0;
  if (::ioctl(0, TIOCGWINSZ, &ws) == 0) *rows = ws.ws_row, *cols = ws.ws_col;
}

namespace {

// The terminal's ends: fd 0 in, fds 1 and 2 out, and a signalfd whose
// signals go to the process (sig-proxy) or resize its pty.
class TerminalEnds : public AttachEnds {
 public:
  TerminalEnds(const AttachedProcess& p, int signal_fd) : p_(p), signal_fd_(signal_fd) {}
  int input_fd() const override { return 0; }
  ssize_t read_input(char* buf, size_t size) override { return ::read(0, buf, size); }
  bool write_output(int stream, std::string_view data) override {
    write_out(stream, data);
    return true;  // our stdout gone: the process runs on, its output dropped
  }
  int event_fd() const override { return signal_fd_; }
  void on_event(proto::Client& conn) override {
    signalfd_siginfo si;
    if (::read(signal_fd_, &si, sizeof si) != sizeof si) return;
    if (si.ssi_signo == SIGWINCH) {
      resize(conn);
    } else if (p_.proxy_signals) {
      json args = p_.target;
      args["signal"] = int(si.ssi_signo);
      conn.request("kill", args);
    }
  }
  void exit_message(const std::string& m) override { std::fprintf(stderr, "ctk: %s\n", m.c_str()); }
  void resize(proto::Client& conn) {
    unsigned rows, cols;
    terminal_size(&rows, &cols);
    if (!p_.tty || !rows || !cols) return;
    json args = p_.target;
    args["rows"] = rows;
    args["cols"] = cols;
    conn.request("resize", args);
  }

 private:
  const AttachedProcess& p_;
  int signal_fd_;
};

}  // namespace

bool relay(proto::Client& conn, const AttachedProcess& p, AttachEnds& ends, RelayEnd* end, std::string* err) {
  *end = RelayEnd();
  bool stdin_open = p.in != 0 && p.stdin_open && ends.input_fd() >= 0;
  DetachWatch detach(p.tty && stdin_open ? p.detach_keys : std::string());
  proto::Mux& mux = conn.mux();
  char buf[64 * 1024];
  std::string pass;
  for (;;) {
    // Deliver what arrived: stdout and stderr, in arrival order per stream.
    for (auto [ch, stream] : {std::pair{p.out, 1}, std::pair{p.err, 2}}) {
      if (!ch) continue;
      std::string_view data = mux.received(ch);
      if (data.empty()) continue;
      if (!ends.write_output(stream, data)) {
        *err = "the attached client is gone";
        return false;
      }
      mux.consume(ch, data.size());
    }
    json reply;
    if (conn.take_reply(p.wait_id, &reply)) {
      if (reply.contains("error")) {
        *err = reply["error"].value("message", "wait failed");
        return false;
      }
      const json& r = reply["result"];
      if (r.contains("message") && r["message"].is_string()) ends.exit_message(r["message"].get<std::string>());
      end->exit_code = r.value("exit_code", 125);
      return true;
    }
    // Room for a read and the bytes the detach watch holds back.
    size_t window = stdin_open ? mux.send_window(p.in) : 0;
    bool want_input = window > detach.held();
    pollfd fds[3] = {{conn.fd(), POLLIN, 0}, {ends.event_fd(), POLLIN, 0}, {ends.input_fd(), POLLIN, 0}};
    nfds_t n = want_input ? 3 : 2;
    // Only a flush before waiting: reading here could take in the reply
    // this loop then sleeps past.
    if (!conn.flush(err)) return false;
    if (!(want_input && ends.input_buffered()) && ::poll(fds, n, -1) < 0 && errno != EINTR) {
      *err = sys_error("poll");
      return false;
    }
    if (fds[0].revents && !conn.pump(0, err)) return false;
    if (fds[1].revents & POLLIN) ends.on_event(conn);
    if (want_input && (fds[2].revents || ends.input_buffered())) {
      ssize_t got = ends.read_input(buf, std::min(sizeof buf, window - detach.held()));
      pass.clear();
      if (got > 0) {
        bool detached = detach.feed(std::string_view(buf, size_t(got)), &pass);
        mux.send(p.in, pass.data(), pass.size());
        if (detached) {
          end->detached = true;
          return conn.flush(err);
        }
      } else if (got == 0 || errno != EINTR) {
        detach.flush(&pass);
        mux.send(p.in, pass.data(), pass.size());
        stdin_open = false;
        mux.send_eof(p.in);
      }
    }
  }
}

bool attach(proto::Client& conn, const AttachedProcess& p, RelayEnd* end, std::string* err) {
  RawTerminal raw;
  if (p.tty && p.stdin_open) raw.enable(0);
  sigset_t mask;
  sigemptyset(&mask);
  for (int s : {SIGINT, SIGTERM, SIGHUP, SIGWINCH, SIGQUIT}) sigaddset(&mask, s);
  SignalGuard guard;
  ::sigprocmask(SIG_BLOCK, &mask, &guard.old);
  guard.fd = ::signalfd(-1, &mask, SFD_CLOEXEC);
  TerminalEnds ends(p, guard.fd);
  ends.resize(conn);  // the pty starts at the terminal's size
  return relay(conn, p, ends, end, err);
}

}  // namespace ctk::container
