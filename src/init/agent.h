// The guest agent: serves the agent protocol (docs/PROTOCOL.md) on a listening
// socket and runs containers. One thread, one poll loop: every fd's interest
// is derived from state each turn (a process pipe is read only while its
// channel has send credit, a pipe is written only while data is buffered for
// it), which is what keeps one stalled channel from stalling the rest.
#pragma once

#include <sys/types.h>

#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "base/file_io.h"
#include "init/cgroup.h"
#include "init/paths.h"
#include "init/process.h"
#include "init/spec.h"
#include "init/worker.h"
#include "proto/mux.h"

namespace ctk::init {

class Agent {
 public:
  Agent();
  ~Agent();
  Agent(const Agent&) = delete;
  Agent& operator=(const Agent&) = delete;

  // "unix:PATH" (replacing a stale socket), "vsock:PORT" (any CID; "vsock:"
  // for port 1024) or "fd:N" (an inherited, connected stream).
  bool listen(const std::string& address, std::string* err);
  // Moves the agent into its own cgroup (/sys/fs/cgroup/ctk/agent, beside
  // the containers' ones) with memory.max at memory_max bytes (0: no limit).
  // False with why when cgroup2 or the limit cannot be had; without cgroup2
  // containers run without cgroups and limits.
  bool setup_cgroups(uint64_t memory_max, std::string* err);
  // Serves until a fatal error; returns false with err set then.
  bool run(std::string* err);
  // Whether run() ended because the host asked for it (the shutdown op).
  bool shut_down() const { return shutdown_done_; }

 private:
  struct Conn;
  struct Proc;
  struct Container;
  struct Stream;
  struct Poll;
  struct Shutdown;
  using json = nlohmann::json;

  // Loop (agent.cc).
  void build_poll_set(Poll* set);
  void accept_conn();
  void conn_io(Conn* c, short revents);
  void stream_read(Stream* s);
  void stream_write(Stream* s);
  // Whether what the peer sent holds something for the sink: any bytes, or
  // for datagrams a whole one.
  bool sink_has_data(Stream* s);
  void reap();
  void read_status(Proc* p);
  void attach_pty(Proc* p, int master);
  void settle();
  void drop_conn(Conn* c);
  void close_sink(Stream* s, bool tell_peer);
  void close_source(Stream* s);
  Stream* stream(Conn* c, uint32_t ch);
  // Opens channel ch on c and the stream that serves it.
  Stream* open_stream(Conn* c, uint32_t ch);

  // Requests (ops.cc). Every op has a row in kOps and a handler of one
  // shape: false with code (default invalid_argument) and err for an error
  // reply, else result is the reply (null: the loop replies later).
  using Handler = bool (Agent::*)(Conn* c, const json& req, json* result, std::string* code,
                                  std::string* err);
  // When a reply comes: kNow, the handler's result; kLater, from the loop
  // once the outcome is known; kEither, the handler decides (connect: at
  // once unless the connection is still in progress) by nulling the result.
  enum class Reply { kNow, kLater, kEither };
  // When an op may run: hello at any time; the rest after hello; those that
  // start processes not once a shutdown is under way.
  enum class When { kAlways, kAfterHello, kBeforeShutdown };
  struct Op {
    const char* name;
    Handler handler;
    Reply reply;
    When when;
  };
  static const Op kOps[];
  void handle_message(Conn* c, const std::string& text);
  bool dispatch(Conn* c, const json& req, json* result, std::string* code, std::string* err);
  bool op_hello(Conn* c, const json& req, json* result, std::string* code, std::string* err);
  bool op_create(Conn* c, const json& req, json* result, std::string* code, std::string* err);
  bool op_start(Conn* c, const json& req, json* result, std::string* code, std::string* err);
  bool op_exec(Conn* c, const json& req, json* result, std::string* code, std::string* err);
  bool op_wait(Conn* c, const json& req, json* result, std::string* code, std::string* err);
  bool op_kill(Conn* c, const json& req, json* result, std::string* code, std::string* err);
  bool op_delete(Conn* c, const json& req, json* result, std::string* code, std::string* err);
  bool op_resize(Conn* c, const json& req, json* result, std::string* code, std::string* err);
  bool op_copy_in(Conn* c, const json& req, json* result, std::string* code, std::string* err);
  bool op_copy_out(Conn* c, const json& req, json* result, std::string* code, std::string* err);
  // A tree as a tar stream (archive_ops.cc): copy_out and copy_in with "archive".
  bool archive_out(Conn* c, const json& req, Container* ct, const std::string& path, uint32_t ch, json* result,
                   std::string* code, std::string* err);
  bool archive_in(Conn* c, const json& req, Container* ct, const std::string& path, uint32_t ch,
                  std::string* code, std::string* err);
  bool op_stats(Conn* c, const json& req, json* result, std::string* code, std::string* err);
  // Guest system requests (system_ops.cc).
  bool op_mount(Conn* c, const json& req, json* result, std::string* code, std::string* err);
  bool op_umount(Conn* c, const json& req, json* result, std::string* code, std::string* err);
  bool op_mkdir(Conn* c, const json& req, json* result, std::string* code, std::string* err);
  bool op_populate(Conn* c, const json& req, json* result, std::string* code, std::string* err);
  bool op_write_file(Conn* c, const json& req, json* result, std::string* code, std::string* err);
  bool op_stat(Conn* c, const json& req, json* result, std::string* code, std::string* err);
  bool op_list(Conn* c, const json& req, json* result, std::string* code, std::string* err);
  // The guest's network and names: interfaces over rtnetlink, resolv.conf
  // and hosts, the hostname (net_ops.cc).
  bool op_network(Conn* c, const json& req, json* result, std::string* code, std::string* err);
  bool op_dns(Conn* c, const json& req, json* result, std::string* code, std::string* err);
  bool op_set_hostname(Conn* c, const json& req, json* result, std::string* code, std::string* err);
  // Kernel settings (settings_ops.cc).
  bool op_sysctl(Conn* c, const json& req, json* result, std::string* code, std::string* err);
  bool op_set_time(Conn* c, const json& req, json* result, std::string* code, std::string* err);
  // Listing processes and ending the agent (lifecycle_ops.cc).
  bool op_processes(Conn* c, const json& req, json* result, std::string* code, std::string* err);
  bool op_shutdown(Conn* c, const json& req, json* result, std::string* code, std::string* err);
  // What runs in a container, as ps shows it (top_ops.cc).
  bool op_top(Conn* c, const json& req, json* result, std::string* code, std::string* err);
  // While a shutdown is under way: how long poll may wait (-1: no limit), and
  // the step run after every round; true once it is done and replied to.
  int shutdown_timeout_ms() const;
  bool shutdown_step();
  // Every process of every container not deleted, inits first.
  void for_each_proc(const std::function<void(Container*, Proc*)>& fn);
  // Sends sig to every process that runs.
  void signal_live(int sig);
  // Port forwarding (forward.cc).
  bool op_connect(Conn* c, const json& req, json* result, std::string* code, std::string* err);
  void connected(Stream* s);
  // A forwarded UDP socket's two directions: one datagram received, framed
  // onto the channel; the whole datagrams the peer sent, sent.
  void datagram_read(Stream* s);
  void datagram_write(Stream* s);
  bool bind_stdio(Conn* c, const json& req, bool terminal, Proc* p, std::string* code,
                  std::string* err);
  bool launch(Proc* p, std::string* code, std::string* err);
  Container* find_container(const json& req, std::string* code, std::string* err);
  // The request's container when it names one (else *ct is null); false
  // when it names one that does not exist.
  bool optional_container(const json& req, Container** ct, std::string* code, std::string* err);
  // False with already_exists unless ch is a usable new channel on c.
  bool free_channel(Conn* c, uint32_t ch, std::string* code, std::string* err);
  // The root a request's paths are in: the container's (through its mount
  // namespace while it runs), or the agent's own without one.
  bool open_root(Container* ct, UniqueFd* root, std::string* code, std::string* err);
  // An absolute path in that root, found as paths.h's locate finds it.
  bool locate_in(Container* ct, const std::string& path, bool follow, Located* at, std::string* code,
                 std::string* err);
  // Where a worker for a container's files runs: its cgroup, or for the
  // agent's own files the one beside the agent's.
  const std::string& worker_cgroup(Container* ct) const;
  // Serves channel ch with a worker's data pipe; the reply (result plus
  // the bytes moved, or the worker's error) waits for both to finish.
  void serve_worker(Conn* c, uint32_t ch, const json& id, WorkerPipe pipe, const Worker& w,
                    const std::string& path, json result);
  Proc* find_proc(const json& req, std::string* code, std::string* err);
  std::string container_path(Container* ct, const std::string& path);
  void process_exited(Proc* p, int code, const std::string& message);
  void finish_waits(Proc* p);
  void finish_copy(Stream* s);
  void reply(Conn* c, const json& id, const json& result);
  void reply_error(Conn* c, const json& id, const std::string& code, const std::string& message);

  int listen_fd_ = -1;
  int signal_fd_ = -1;
  std::vector<std::unique_ptr<Conn>> conns_;
  std::map<std::string, std::unique_ptr<Container>> containers_;
  std::vector<std::unique_ptr<Stream>> streams_;
  Cgroups cgroups_;
  std::unique_ptr<Shutdown> shutdown_;
  bool shutdown_done_ = false;
};

}  // namespace ctk::init
