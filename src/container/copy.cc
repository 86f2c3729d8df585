#include "container/copy.h"

#include <fcntl.h>
#include <stdlib.h>  // realpath
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <thread>

#include "base/file_io.h"
#include "oci/tree_pack.h"
#include "oci/tree_unpack.h"

namespace ctk::container {

namespace {

using json = nlohmann::json;

// One copy request and its channel: the data flows one way under the
// channel's flow control, and the reply may come at any time (at once when
// the agent refuses, after the data when it is done).
class Transfer {
 public:
  Transfer(proto::Client& conn, const std::string& op, json args) : conn_(conn), ch_(conn.open_channel()) {
    args["channel"] = ch_;
    args["archive"] = true;
    id_ = conn.request(op, std::move(args));
  }
  // Sends what source yields until its end, then EOF. *stopped when the
  // agent stopped taking it first (its reply says why).
  bool send(const StreamSource& source, bool* stopped, std::string* err);
  // Gives what arrives to sink until EOF or the agent's error reply.
  // *broke_off when the sink failed (the channel is closed then).
  bool receive(const StreamSink& sink, bool* broke_off, std::string* err);
  // The reply: false with its message and code for an error.
  bool wait(std::string* code, std::string* err);

 private:
  bool replied() { return replied_ || (replied_ = conn_.take_reply(id_, &reply_)); }
  // Tells the agent the stream is abandoned, so that it fails the copy
  // rather than wait for the rest.
  void close_channel() {
    conn_.mux().send_close(ch_);
    std::string ignored;
    conn_.flush(&ignored);
  }

  proto::Client& conn_;
  uint32_t ch_;
  int64_t id_ = 0;
  json reply_;
  bool replied_ = false;
};

bool Transfer::send(const StreamSource& source, bool* stopped, std::string* err) {
  proto::Mux& mux = conn_.mux();
  std::string buf;
  for (;;) {
    if (mux.peer_closed(ch_) || replied()) {
      *stopped = true;
      return true;
    }
    size_t window = mux.send_window(ch_);
    if (window == 0) {
      if (!conn_.pump(-1, err)) return false;
      continue;
    }
    buf.clear();
    bool end = false;
    if (!source(std::min(proto::kMaxPayload, window), &buf, &end, err)) {
      close_channel();
      return false;
    }
    if (!buf.empty()) {
      mux.send(ch_, buf.data(), buf.size());
      if (!conn_.flush(err)) return false;
    }
    if (end) {
      mux.send_eof(ch_);
      return conn_.flush(err);
    }
  }
}

bool Transfer::receive(const StreamSink& sink, bool* broke_off, std::string* err) {
  proto::Mux& mux = conn_.mux();
  for (;;) {
    std::string_view data = mux.received(ch_);
    if (!data.empty()) {
      if (!sink(data, err)) {
        *broke_off = true;
        close_channel();
        return false;
      }
      mux.consume(ch_, data.size());
    } else if (mux.peer_eof(ch_) || mux.peer_closed(ch_) || (replied() && reply_.contains("error"))) {
      return true;
    } else if (!conn_.pump(-1, err)) {
      return false;
    }
  }
}

bool Transfer::wait(std::string* code, std::string* err) {
  while (!replied())
    if (!conn_.pump(-1, err)) return false;
  if (!reply_.contains("error")) return true;
  *code = reply_["error"].value("code", "");
  *err = reply_["error"].value("message", "");
  return false;
}

// An agent's error reply about path as an Error: not_found in docker's
// daemon's words, the agent's message otherwise.
bool agent_error(const std::string& code, const std::string& why, const std::string& name, const std::string& path,
                 Error* err) {
  if (code == "not_found")
    return err->fail(ErrorCode::not_found, "Could not find the file " + path + " in container " + name);
  return err->fail(code == "invalid_argument" ? ErrorCode::invalid : ErrorCode::failure, why);
}

// docker's CLI words for a source that is not there.
bool no_such_path(const std::string& name, const std::string& path, Error* err) {
  if (err->code == ErrorCode::not_found) err->message = "No such container:path: " + name + ":" + path;
  return false;
}

// Where an archive of the source goes so that `cp SRC DST` does what
// docker's does (its PrepareArchiveCopy): into DST when it is a directory;
// else into DST's directory, the archive's root renamed to DST's name.
struct Target {
  std::string dir;
  std::string rename_to;  // "": no renaming
};

bool plan(bool src_is_dir, const std::string& dst, bool dst_exists, bool dst_is_dir, Target* t, std::string* err) {
  if (dst_exists && dst_is_dir) {
    t->dir = dst;
    return true;
  }
  if (dst_exists && src_is_dir) {
    *err = "cannot copy a directory onto the file " + dst;
    return false;
  }
  // A path that ends in "/" or "/." says it is a directory; a file cannot make one.
  if (!dst_exists && !src_is_dir && (dst.ends_with('/') || dst.ends_with("/."))) {
    *err = "no such directory: " + dst;
    return false;
  }
  oci::split_path(dst, &t->dir, &t->rename_to);
  return true;
}

std::string in_container(const std::string& path) { return path.starts_with('/') ? path : "/" + path; }

// Docker's CopyInfoDestinationPath on the host: a symlink at the end is
// followed (its target is written, not the link); a path that does not
// exist needs a directory to be made in.
bool host_destination(const std::string& given, std::string* path, bool* exists, bool* is_dir, std::string* err) {
  *path = given;
  struct stat st;
  for (int links = 0; ::lstat(path->c_str(), &st) == 0; ++links) {
    if (!S_ISLNK(st.st_mode)) {
      *exists = true;
      *is_dir = S_ISDIR(st.st_mode);
      return true;
    }
    if (links == 10) {
      *err = "too many symlinks in " + given;
      return false;
    }
    char target[4096];
    ssize_t n = ::readlink(path->c_str(), target, sizeof target);
    if (n < 0) {
      *err = sys_error("readlink " + *path);
      return false;
    }
    std::string link(target, size_t(n)), dir, entry;
    oci::split_path(*path, &dir, &entry);
    *path = link.starts_with('/') ? link : dir + "/" + link;
  }
  if (errno != ENOENT) {
    *err = sys_error(*path);
    return false;
  }
  std::string dir, entry;
  oci::split_path(*path, &dir, &entry);
  if (::stat(dir.c_str(), &st) != 0) {
    *err = sys_error(dir);
    return false;
  }
  if (!S_ISDIR(st.st_mode)) {
    *err = dir + " is not a directory";
    return false;
  }
  *exists = *is_dir = false;
  return true;
}

// Docker's CopyInfoSourcePath on the host: the directory holding the
// source (opened) and its entry there; with follow, or a trailing "/", a
// symlink at the end is followed, the entry keeping the name asked for.
struct Source {
  UniqueFd dir;
  std::string entry, name;
  bool is_dir = false;
};

bool host_source(const std::string& given, bool follow, Source* out, std::string* err) {
  std::string dir;
  oci::split_path(given, &dir, &out->name);
  out->entry = out->name;
  if (out->name != "." && (follow || given.ends_with('/'))) {
    char resolved[PATH_MAX];
    if (!::realpath(given.c_str(), resolved)) {
      *err = sys_error(given);
      return false;
    }
    oci::split_path(resolved, &dir, &out->entry);
  }
  out->dir.reset(::open(dir.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
  struct stat st;
  if (out->dir.get() < 0 || ::fstatat(out->dir.get(), out->entry.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0) {
    *err = sys_error(given);
    return false;
  }
  out->is_dir = S_ISDIR(st.st_mode);
  return true;
}

}  // namespace

StreamSink fd_sink(int fd, const std::string& what) {
  return [fd, what](std::string_view data, std::string* err) { return write_all(fd, data.data(), data.size(), what, err); };
}

StreamSource fd_source(int fd, const std::string& what) {
  return [fd, what](size_t max, std::string* out, bool* end, std::string* err) {
    size_t old = out->size();
    out->resize(old + max);
    ssize_t n;
    do n = ::read(fd, out->data() + old, max);
    while (n < 0 && errno == EINTR);
    out->resize(old + size_t(std::max<ssize_t>(n, 0)));
    if (n < 0) {
      *err = sys_error(what);
      return false;
    }
    *end = n == 0;
    return true;
  };
}

bool stat_path(proto::Client& conn, const std::string& name, const std::string& path, bool follow, json* out,
               Error* err) {
  std::string code, why;
  return conn.call("stat", {{"path", path}, {"follow", follow}}, out, &why, &code) ||
         agent_error(code, why, name, path, err);
}

bool archive_out(proto::Client& conn, const std::string& name, const std::string& path, bool follow,
                 const StreamSink& sink, Error* err) {
  Transfer t(conn, "copy_out", {{"path", path}, {"follow", follow}});
  std::string code, why;
  bool broke_off = false;
  if (!t.receive(sink, &broke_off, &why)) return err->fail(ErrorCode::failure, why);
  return t.wait(&code, &why) || agent_error(code, why, name, path, err);
}

bool archive_in(proto::Client& conn, const std::string& name, const std::string& dir, const StreamSource& source,
                Error* err) {
  Transfer t(conn, "copy_in", {{"path", dir}});
  std::string code, why;
  bool stopped = false;
  if (!t.send(source, &stopped, &why)) return err->fail(ErrorCode::failure, why);
  return t.wait(&code, &why) || agent_error(code, why, name, dir, err);
}

bool copy_from_container(proto::Client& conn, const std::string& name, const std::string& given,
                         const std::string& host_path, const CopyOptions& options, Error* err) {
  std::string path = in_container(given), why;
  if (host_path == "-")
    return archive_out(conn, name, path, options.follow, fd_sink(STDOUT_FILENO, "stdout"), err) ||
           no_such_path(name, path, err);
  // Where the copy lands depends on whether the source is a directory.
  json st;
  if (!stat_path(conn, name, path, options.follow, &st, err)) return no_such_path(name, path, err);
  std::string dst;
  bool exists, is_dir;
  Target target;
  if (!host_destination(host_path, &dst, &exists, &is_dir, &why) ||
      !plan(st.value("type", "") == "directory", dst, exists, is_dir, &target, &why))
    return err->fail(ErrorCode::failure, why);
  oci::UnpackOptions unpack;
  unpack.keep_owner = options.archive;
  if (!target.rename_to.empty()) {
    std::string dir;
    oci::split_path(path, &dir, &unpack.rename_from);
    unpack.rename_to = target.rename_to;
  }
  UniqueFd root(::open(target.dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  int fds[2];
  if (root.get() < 0 || ::pipe2(fds, O_CLOEXEC) != 0)
    return err->fail_errno(root.get() < 0 ? target.dir : "pipe");
  UniqueFd in(fds[0]), out(fds[1]);
  std::string unpack_err;
  bool unpacked = false;
  std::thread unpacker([&] {
    oci::ArchiveSource source(in.get());
    unpacked = oci::unpack_tree(source, root.get(), target.dir, unpack, &unpack_err);
    in.reset();  // what still writes gets EPIPE, not a wait
  });
  bool broke_off = false;
  StreamSink to_pipe = [&, write = fd_sink(out.get(), "the archive pipe")](std::string_view data, std::string* e) {
    return write(data, e) || (broke_off = true, false);
  };
  bool copied = archive_out(conn, name, path, options.follow, to_pipe, err);
  out.reset();
  unpacker.join();
  // The first failure is the cause: the extraction when it stopped taking data.
  if (broke_off && !unpacked) return err->fail(ErrorCode::failure, unpack_err);
  if (!copied) return no_such_path(name, path, err);
  return unpacked || err->fail(ErrorCode::failure, unpack_err);
}

bool copy_to_container(proto::Client& conn, const std::string& name, const std::string& host_path,
                       const std::string& given, const CopyOptions& options, Error* err) {
  std::string path = in_container(given), why;
  // Docker's checks of the destination: a symlink there is followed once.
  json st;
  bool exists = stat_path(conn, name, path, false, &st, err);
  if (exists && st.value("type", "") == "symlink") {
    std::string link = st.value("target", ""), dir, entry;
    oci::split_path(path, &dir, &entry);
    path = link.starts_with('/') ? link : dir + "/" + link;
    exists = stat_path(conn, name, path, false, &st, err);
  }
  if (!exists && err->code != ErrorCode::not_found) return false;
  std::string type = exists ? st.value("type", "") : "";
  std::string dest = "destination \"" + name + ":" + given + "\"";
  if (exists && type != "directory" && type != "file")
    return err->fail(ErrorCode::invalid, dest + " must be a directory or a regular file");
  if (host_path == "-") {
    if (type != "directory") return err->fail(ErrorCode::invalid, dest + " must be a directory");
    return archive_in(conn, name, path, fd_source(STDIN_FILENO, "stdin"), err);
  }
  Source src;
  Target target;
  if (!host_source(host_path, options.follow, &src, &why) ||
      !plan(src.is_dir, path, exists, type == "directory", &target, &why))
    return err->fail(ErrorCode::failure, why);
  std::string root_name = target.rename_to.empty() ? src.name : target.rename_to;
  int fds[2];
  if (::pipe2(fds, O_CLOEXEC) != 0) return err->fail_errno("pipe");
  UniqueFd in(fds[0]), out(fds[1]);
  std::string pack_err;
  std::atomic<int> packed{0};  // 1 when the packer succeeded, -1 when it failed
  std::thread packer([&] {
    oci::TarWriter writer(out.get(), "the archive pipe");
    oci::PackOptions pack;
    pack.keep_owner = options.archive;
    packed = oci::pack_tree(src.dir.get(), src.entry, root_name, host_path, pack, writer, &pack_err) ? 1 : -1;
    out.reset();  // the end of the stream
  });
  StreamSource from_pipe = [&, read = fd_source(in.get(), "the archive pipe")](size_t max, std::string* data,
                                                                                 bool* end, std::string* e) {
    if (!read(max, data, end, e)) return false;
    // A packer that failed ended the stream early: its failure is the cause.
    if (*end && packed != 1) return *e = pack_err, false;
    return true;
  };
  bool copied = archive_in(conn, name, target.dir, from_pipe, err);
  in.reset();  // a packer still writing gets EPIPE, not a wait
  packer.join();
  return copied;
}

}  // namespace ctk::container
