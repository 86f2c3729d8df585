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

bool attach(proto::Client& conn, const AttachedProcess& p, int* exit_code, std::string* err) {
  *exit_code = 125;
  RawTerminal raw;
  if (p.tty && p.stdin_open) raw.enable(0);
  sigset_t mask;
  sigemptyset(&mask);
  for (int s : {SIGINT, SIGTERM, SIGHUP, SIGWINCH, SIGQUIT}) sigaddset(&mask, s);
  SignalGuard guard;
  ::sigprocmask(SIG_BLOCK, &mask, &guard.old);
  guard.fd = ::signalfd(-1, &mask, SFD_CLOEXEC);
  bool stdin_open = p.in != 0 && p.stdin_open;
  proto::Mux& mux = conn.mux();
  auto resize = [&] {
    unsigned rows, cols;
    terminal_size(&rows, &cols);
    if (!p.tty || !rows || !cols) return;
    json args = p.target;
    args["rows"] = rows;
    args["cols"] = cols;
    conn.request("resize", args);
  };
  resize();  // the pty starts at the terminal's size
  char buf[64 * 1024];
  for (;;) {
    // Deliver what arrived: stdout and stderr to ours, in arrival order per stream.
    for (auto [ch, fd] : {std::pair{p.out, 1}, std::pair{p.err, 2}}) {
      if (!ch) continue;
      std::string_view data = mux.received(ch);
      if (!data.empty()) {
        write_out(fd, data);
        mux.consume(ch, data.size());
      }
    }
    json reply;
    if (conn.take_reply(p.wait_id, &reply)) {
      if (reply.contains("error")) {
        *err = reply["error"].value("message", "wait failed");
        return false;
      }
      const json& r = reply["result"];
      if (r.contains("message") && r["message"].is_string())
        std::fprintf(stderr, "ctk: %s\n", r["message"].get<std::string>().c_str());
      *exit_code = r.value("exit_code", 125);
      return true;
    }
    pollfd fds[3] = {{conn.fd(), POLLIN, 0}, {guard.fd, POLLIN, 0}, {0, 0, 0}};
    nfds_t n = 2;
    if (stdin_open && mux.send_window(p.in) > 0) fds[n++] = {0, POLLIN, 0};
    // Only a flush before waiting: reading here could take in the reply
    // this loop then sleeps past.
    if (!conn.flush(err)) return false;
    if (::poll(fds, n, -1) < 0 && errno != EINTR) {
      *err = sys_error("poll");
      return false;
    }
    if (fds[0].revents && !conn.pump(0, err)) return false;
    if (fds[1].revents & POLLIN) {
      signalfd_siginfo si;
      if (::read(guard.fd, &si, sizeof si) == sizeof si) {
        if (si.ssi_signo == SIGWINCH) {
          resize();
        } else if (p.proxy_signals) {
          json args = p.target;
          args["signal"] = int(si.ssi_signo);
          conn.request("kill", args);
        }
      }
    }
    if (n == 3 && fds[2].revents) {
      size_t room = std::min(sizeof buf, mux.send_window(p.in));
      ssize_t got = ::read(0, buf, room);
      if (got > 0) {
        mux.send(p.in, buf, size_t(got));
      } else if (got == 0 || errno != EINTR) {
        stdin_open = false;
        mux.send_eof(p.in);
      }
    }
  }
}

}  // namespace ctk::container
