// docker cp through the API: /containers/{id}/archive. HEAD gives a path's
// stat (docker's X-Docker-Container-Path-Stat header), GET that and a tar
// of the path, PUT extracts a tar into a directory. The tar streams go
// through container/copy, the code `ctk cp` runs: chunks of the response
// as the agent sends them, chunks of the request body as the client sends
// them, never a whole archive in memory.
#include "api/handlers.h"
#include "api/server_state.h"
#include "base/clock.h"
#include "base/strings.h"
#include "container/copy.h"
#include "container/lifecycle.h"
#include "oci/tree_pack.h"

namespace ctk::api {

using nlohmann::json;

namespace {

const char kStatHeader[] = "X-Docker-Container-Path-Stat";

// A string field of the agent's stat, "" when missing or not a string: the
// guest's answers are not trusted to be well formed.
std::string text(const json& j, const char* key) {
  return j.is_object() && j.contains(key) && j[key].is_string() ? j[key].get<std::string>() : "";
}

// An integer field of the agent's answer, 0 when missing or of another type.
int64_t integer(const json& j, const char* key) {
  return j.is_object() && j.contains(key) && j[key].is_number_integer() ? j[key].get<int64_t>() : 0;
}

// The container the route's {id} names, connected to its supervisor (one
// that boots the VM for the copy when it is not running); false after
// answering.
bool connect(Context& c, proto::Client* conn) {
  container::Containers all;
  Error err;
  std::string ref = c.param("id"), id;
  if (ref.starts_with('/')) ref.erase(0, 1);
  if (!all.open(c.server.data_root(), &err) || !all.find(ref, &id, &err)) {
    if (err.code == ErrorCode::not_found) err.message = "No such container: " + ref;
    c.reply_error(err);
    return false;
  }
  container::Container ct(all, id);
  if (!ct.load(&err)) return c.reply_error(404, "No such container: " + ref), false;
  if (container::connect_for_files(all, ct, conn, &err)) return true;
  c.reply_error(err);
  return false;
}

// The path query parameter, absolute: docker's daemon takes a relative
// path from the container's root, and the docker CLI relies on it (its
// "box:tmp/f" is "box:/tmp/f"); false after a 400 when there is none.
bool path_query(Context& c, std::string* out) {
  *out = c.query("path");
  if (out->empty()) return c.reply_error(400, "path is required"), false;
  if (!out->starts_with('/')) out->insert(0, "/");
  return true;
}

// Where a symlink leads in the container, all the way (docker's
// linkTarget, which the CLI copies from for -L): each link's target
// taken from the directory it is in, until a path that is no symlink or
// does not exist (a dangling link leads there all the same).
std::string link_target(proto::Client& conn, const std::string& name, const std::string& path, json st) {
  std::string at = path;
  for (int hops = 0; hops < 40 && text(st, "type") == "symlink"; ++hops) {
    std::string target = text(st, "target"), dir, entry;
    oci::split_path(at, &dir, &entry);
    at = oci::clean_path(target.starts_with('/') ? target : dir + "/" + target);
    Error ignored;
    if (!container::stat_path(conn, name, at, false, &st, &ignored)) break;
  }
  return at;
}

// HEAD's and GET's first steps: the container, the path and its stat
// header; false after answering.
bool stat_header(Context& c, proto::Client* conn, std::string* path, std::string* header) {
  if (!path_query(c, path) || !connect(c, conn)) return false;
  json st;
  Error err;
  if (!container::stat_path(*conn, c.param("id"), *path, false, &st, &err)) return c.reply_error(err), false;
  std::string dir, name;
  oci::split_path(*path, &dir, &name);
  std::string target = text(st, "type") == "symlink" ? link_target(*conn, c.param("id"), *path, st) : "";
  *header = path_stat_header(st, name, target);
  return true;
}

}  // namespace

uint32_t go_file_mode(std::string_view type, uint32_t mode) {
  // Go's os.FileMode: the permission bits as they are, the special bits
  // and the type each a bit of their own at the top.
  constexpr uint32_t kDir = 1u << 31, kSymlink = 1u << 27, kDevice = 1u << 26, kNamedPipe = 1u << 25,
                     kSocket = 1u << 24, kSetuid = 1u << 23, kSetgid = 1u << 22, kCharDevice = 1u << 21,
                     kSticky = 1u << 20;
  uint32_t out = mode & 0777;
  if (mode & 04000) out |= kSetuid;
  if (mode & 02000) out |= kSetgid;
  if (mode & 01000) out |= kSticky;
  if (type == "directory") out |= kDir;
  else if (type == "symlink") out |= kSymlink;
  else if (type == "fifo") out |= kNamedPipe;
  else if (type == "socket") out |= kSocket;
  else if (type == "block") out |= kDevice;
  else if (type == "char") out |= kDevice | kCharDevice;
  return out;
}

std::string path_stat_header(const json& stat, const std::string& name, const std::string& link_target) {
  auto number = [&](const char* key) -> int64_t {
    const json& v = stat.is_object() && stat.contains(key) ? stat[key] : json();
    return v.is_number_integer() ? v.get<int64_t>() : 0;
  };
  json j = {{"name", name},
            {"size", number("size")},
            {"mode", go_file_mode(text(stat, "type"), uint32_t(number("mode")))},
            {"mtime", format_rfc3339(number("mtime_ns"))},
            {"linkTarget", link_target}};
  return base64_encode(j.dump(-1, ' ', false, json::error_handler_t::replace));
}

void archive_stat(Context& c) {
  proto::Client conn;
  std::string path, header;
  if (!stat_header(c, &conn, &path, &header)) return;
  c.conn.respond(200, {{kStatHeader, header}, {"Api-Version", std::string(kApiVersion)}}, "");
}

void archive_get(Context& c) {
  proto::Client conn;
  std::string path, header;
  if (!stat_header(c, &conn, &path, &header)) return;
  c.conn.begin_stream(200, {{"Content-Type", "application/x-tar"},
                            {kStatHeader, header},
                            {"Api-Version", std::string(kApiVersion)}});
  container::StreamSink to_client = [&](std::string_view data, std::string* err) {
    if (c.conn.write_chunk(data)) return true;
    *err = "the client went away";
    return false;
  };
  Error err;
  // Once the stream has begun a failure can only cut it off: the client
  // sees a tar without its end, not a complete-looking one.
  if (container::archive_out(conn, c.param("id"), path, false, to_client, &err)) c.conn.end_stream();
  else c.conn.abort();
}

void archive_put(Context& c) {
  proto::Client conn;
  std::string path;
  if (!path_query(c, &path) || !connect(c, &conn)) return;
  // The directory is checked before any of the body is read, so that the
  // client gets the answer rather than a connection closed on its upload.
  json st;
  Error err;
  if (!container::stat_path(conn, c.param("id"), path, true, &st, &err)) return c.reply_error(err);
  if (text(st, "type") != "directory") return c.reply_error(400, "extraction point is not a directory");
  // noOverwriteDirNonDir is always in force: the agent never replaces a
  // directory with a non-directory nor the reverse. copyUIDGID changes
  // nothing here: the archive's owners are kept either way, as docker
  // does for a container without a configured user.
  bool client_failed = false;
  std::string read_err;
  container::StreamSource from_client = [&](size_t max, std::string* out, bool* end, std::string* why) {
    if (c.conn.read_body(out, max, end, why)) return true;
    client_failed = true;
    read_err = *why;
    return false;
  };
  if (container::archive_in(conn, c.param("id"), path, from_client, &err)) return c.reply_empty(200);
  if (client_failed) return c.reply_error(400, "reading the archive: " + read_err);
  c.reply_error(err);
}

void archive_list(Context& c) {
  proto::Client conn;
  std::string path, why, code;
  if (!path_query(c, &path) || !connect(c, &conn)) return;
  json result;
  if (!conn.call("list", {{"path", path}}, &result, &why, &code)) {
    if (code == "not_found") return c.reply_error(404, "Could not find the file " + path + " in container " + c.param("id"));
    return c.reply_error(code == "invalid_argument" ? 400 : 500, why);
  }
  // The page's shape (docs/UI.md): four kinds, seconds.
  json entries = json::array();
  const json entries_in = result.is_object() && result.contains("entries") && result["entries"].is_array()
                              ? result["entries"] : json::array();
  for (const json& e : entries_in) {
    if (!e.is_object()) continue;
    std::string type = text(e, "type");
    json out = {{"name", text(e, "name")},
                {"type", type == "directory" ? "dir" : type == "file" || type == "symlink" ? type : "other"},
                {"size", integer(e, "size")},
                {"mode", integer(e, "mode")},
                {"mtime", integer(e, "mtime_ns") / 1000000000}};
    if (type == "symlink") out["target"] = text(e, "target");
    entries.push_back(std::move(out));
  }
  bool truncated = result.is_object() && result.contains("truncated") && result["truncated"].is_boolean() &&
                   result["truncated"].get<bool>();
  c.reply_json(200, {{"path", path}, {"entries", std::move(entries)}, {"truncated", truncated}});
}

}  // namespace ctk::api
