// The Docker Engine API over ctk's state: what every route handler sees.
// The server keeps no container state: each handler reads the data root and
// talks to supervisors, exactly as the CLI does, so `ctk ps` and `docker ps`
// show the same containers and either may be killed at any time. What it
// does keep in memory is what docker keeps in its daemon only: exec
// instances, attach clients waiting for a start, and the events stream.
#pragma once

#include <map>
#include <span>
#include <vector>
#include <memory>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "base/error.h"
#include "http/connection.h"

namespace ctk::api {

// API versions: the newest advertised, the oldest accepted.
inline constexpr std::string_view kApiVersion = "1.44";
inline constexpr std::string_view kMinApiVersion = "1.24";
// JSON request bodies larger than this are refused (413).
inline constexpr size_t kMaxJsonBody = 16 << 20;

class ServerState;

// One request being answered.
struct Context {
  http::Connection& conn;
  const http::Request& req;
  ServerState& server;
  std::map<std::string, std::string> params;  // the route's {captures}
  std::string version;                        // the /vX.Y/ prefix's, or kApiVersion

  const std::string& param(const std::string& name) const { return params.at(name); }
  std::string query(std::string_view name, std::string_view fallback = "") const { return req.param(name, fallback); }
  // Docker's booleans in a query: 1/true/True (and a bare "?all").
  bool flag(std::string_view name, bool fallback = false) const;
  // An integer parameter; false (after a 400) when it is not one.
  bool int_query(std::string_view name, int64_t fallback, int64_t* out);
  // A JSON filters parameter {"name": ["a"], "label": {"k=v": true}} as
  // "name=a" strings; false (after a 400) when malformed.
  bool filters(std::vector<std::string>* out);
  // Reads and parses a JSON body (an empty body is an empty object); false
  // after answering 400 (malformed) or 413 (too large).
  bool json_body(nlohmann::json* out);
  // Whether the client's version is at least v ("1.40").
  bool version_at_least(std::string_view v) const;

  void reply_json(int status, const nlohmann::json& body);
  void reply_empty(int status = 204);
  // {"message": ...} with the status for its code: 404, 409, 400 or 500.
  void reply_error(const Error& err);
  void reply_error(int status, const std::string& message);
};

// The HTTP status of an error's kind.
int status_for(ErrorCode code);

using RouteHandler = void (*)(Context&);

struct Route {
  std::string_view method;
  std::string_view pattern;  // "/containers/{id}/json"
  RouteHandler handler;
};

// Every route, in one table (api/routes.cc).
std::span<const Route> routes();

// Answers one request: the version prefix checked and removed, the route
// found (404 / 405 otherwise), its handler run; an exception from a
// handler (a type error in a request body) becomes a 400 or 500, never a
// dead server.
void dispatch(http::Connection& conn, const http::Request& req, ServerState& server);

// Compares dotted versions: <0, 0, >0.
int compare_versions(std::string_view a, std::string_view b);

}  // namespace ctk::api
