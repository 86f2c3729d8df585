#include <cstdlib>
#include <exception>

#include "api/api.h"
#include "api/server_state.h"

namespace ctk::api {

using nlohmann::json;

namespace {

// Splits "/a/b/c" into its segments.
std::vector<std::string_view> segments(std::string_view path) {
  std::vector<std::string_view> out;
  while (!path.empty()) {
    if (path.front() == '/') {
      path.remove_prefix(1);
      continue;
    }
    size_t slash = path.find('/');
    out.push_back(path.substr(0, slash));
    path = slash == std::string_view::npos ? std::string_view() : path.substr(slash);
  }
  return out;
}

bool match(std::string_view pattern, const std::vector<std::string_view>& path, std::map<std::string, std::string>* params) {
  std::vector<std::string_view> pat = segments(pattern);
  // One {name*} segment takes one or more path segments, slashes and all
  // (image names like 127.0.0.1:5000/library/busybox); the segments after
  // it match the path's end.
  size_t star = pat.size();
  for (size_t i = 0; i < pat.size(); ++i)
    if (pat[i].ends_with("*}")) star = i;
  if (star == pat.size() ? path.size() != pat.size() : path.size() < pat.size()) return false;
  size_t extra = path.size() - pat.size();  // segments the star takes beyond one
  for (size_t i = 0; i < pat.size(); ++i) {
    std::string_view p = pat[i];
    size_t at = i > star ? i + extra : i;
    if (i == star) {
      std::string joined;
      for (size_t j = i; j <= i + extra; ++j) joined += (j > i ? "/" : "") + std::string(path[j]);
      (*params)[std::string(p.substr(1, p.size() - 3))] = joined;
    } else if (p.size() > 2 && p.front() == '{') {
      (*params)[std::string(p.substr(1, p.size() - 2))] = std::string(path[at]);
    } else if (p != path[at]) {
      return false;
    }
  }
  return true;
}

}  // namespace

int compare_versions(std::string_view a, std::string_view b) {
  while (!a.empty() || !b.empty()) {
    long x = std::strtol(std::string(a.substr(0, a.find('.'))).c_str(), nullptr, 10);
    long y = std::strtol(std::string(b.substr(0, b.find('.'))).c_str(), nullptr, 10);
    if (x != y) return x < y ? -1 : 1;
    a = a.find('.') == std::string_view::npos ? std::string_view() : a.substr(a.find('.') + 1);
    b = b.find('.') == std::string_view::npos ? std::string_view() : b.substr(b.find('.') + 1);
  }
  return 0;
}

int status_for(ErrorCode code) {
  switch (code) {
    case ErrorCode::not_found: return 404;
    case ErrorCode::conflict: return 409;
    case ErrorCode::invalid: return 400;
    case ErrorCode::failure: return 500;
  }
  return 500;
}

bool Context::flag(std::string_view name, bool fallback) const {
  if (!req.has_param(name)) return fallback;
  std::string v = req.param(name);
  return v.empty() || v == "1" || v == "true" || v == "True" || v == "yes";
}

bool Context::int_query(std::string_view name, int64_t fallback, int64_t* out) {
  *out = fallback;
  if (!req.has_param(name)) return true;
  std::string v = req.param(name);
  char* end = nullptr;
  errno = 0;
  long long n = std::strtoll(v.c_str(), &end, 10);
  if (v.empty() || *end || errno) {
    reply_error(400, "invalid value for " + std::string(name) + ": '" + v + "'");
    return false;
  }
  *out = n;
  return true;
}

bool Context::filters(std::vector<std::string>* out) {
  out->clear();
  std::string text = req.param("filters");
  if (text.empty()) return true;
  json j = json::parse(text, nullptr, false);
  if (j.is_discarded() || !j.is_object()) {
    reply_error(400, "invalid filters: '" + text + "'");
    return false;
  }
  for (auto& [key, values] : j.items()) {
    // Current clients send {"key": {"value": true}}; old ones ["value"].
    if (values.is_array()) {
      for (const json& v : values) {
        if (!v.is_string()) return reply_error(400, "invalid filter value for " + key), false;
        out->push_back(key + "=" + v.get<std::string>());
      }
    } else if (values.is_object()) {
      for (auto& [v, on] : values.items())
        if (on.is_boolean() && on.get<bool>()) out->push_back(key + "=" + v);
    } else {
      reply_error(400, "invalid filter value for " + key);
      return false;
    }
  }
  return true;
}

bool Context::json_body(json* out) {
  std::string body, err;
  bool too_large;
  if (!conn.read_whole_body(&body, kMaxJsonBody, &too_large, &err)) {
    reply_error(too_large ? 413 : 400, err);
    return false;
  }
  if (body.find_first_not_of(" \t\r\n") == std::string::npos) {
    *out = json::object();
    return true;
  }
  *out = json::parse(body, nullptr, false);
  if (out->is_discarded()) {
    reply_error(400, "malformed JSON in the request body");
    return false;
  }
  if (out->is_null()) *out = json::object();
  return true;
}

bool Context::version_at_least(std::string_view v) const { return compare_versions(version, v) >= 0; }

void Context::reply_json(int status, const json& body) {
  conn.respond(status, {{"Content-Type", "application/json"}, {"Api-Version", std::string(kApiVersion)}},
               body.dump(-1, ' ', false, json::error_handler_t::replace) + "\n");
}

void Context::reply_empty(int status) { conn.respond(status, {{"Api-Version", std::string(kApiVersion)}}, ""); }

void Context::reply_error(const Error& err) { reply_error(status_for(err.code), err.message); }

void Context::reply_error(int status, const std::string& message) {
  // A handler that already answered (a stream that broke) cannot answer again.
  if (conn.responded()) return;
  reply_json(status, {{"message", message}});
}

void dispatch(http::Connection& conn, const http::Request& req, ServerState& server) {
  Context ctx{conn, req, server, {}, std::string(kApiVersion)};
  std::vector<std::string_view> path = segments(req.path);
  // /vX.Y/ is optional; newer than ours is refused, older than the minimum too.
  if (!path.empty() && path[0].size() > 1 && path[0][0] == 'v' &&
      path[0].find_first_not_of("0123456789.", 1) == std::string_view::npos) {
    std::string v(path[0].substr(1));
    if (compare_versions(v, kApiVersion) > 0)
      return ctx.reply_error(400, "client version " + v + " is too new. Maximum supported API version is " +
                                      std::string(kApiVersion));
    if (compare_versions(v, kMinApiVersion) < 0)
      return ctx.reply_error(400, "client version " + v + " is too old. Minimum supported API version is " +
                                      std::string(kMinApiVersion) + ", please upgrade your client to a newer version");
    ctx.version = v;
    path.erase(path.begin());
  }
  bool path_known = false;
  for (const Route& r : routes()) {
    std::map<std::string, std::string> params;
    if (!match(r.pattern, path, &params)) continue;
    path_known = true;
    bool head_as_get = req.method == "HEAD" && r.method == "GET";
    if (r.method != req.method && !head_as_get) continue;
    ctx.params = std::move(params);
    try {
      r.handler(ctx);
    } catch (const json::exception& e) {
      // A field of the wrong type in a request body.
      ctx.reply_error(400, std::string("invalid request: ") + e.what());
    } catch (const std::exception& e) {
      ctx.reply_error(500, std::string("internal error: ") + e.what());
    }
    return;
  }
  if (path_known) return ctx.reply_error(405, "method " + req.method + " not allowed on " + req.path);
  ctx.reply_error(404, "page not found");
}

}  // namespace ctk::api
