#include "oci/registry.h"

#include <dirent.h>
#include <sys/stat.h>

#include <algorithm>
#include <thread>

#include "base/sha256.h"
#include "base/strings.h"
#include "oci/json.h"
#include "oci/reference.h"

namespace ctk::oci {

namespace {

using Clock = std::chrono::steady_clock;
constexpr uint64_t kMaxManifest = 4 << 20;
constexpr int kMaxRedirects = 10;

bool is_loopback(const std::string& host) {
  return host == "localhost" || host == "::1" || host.rfind("127.", 0) == 0;
}

// `Bearer realm="...",service="...",scope="..."` -> scheme and parameters.
std::string parse_challenge(std::string_view header, std::map<std::string, std::string>* params) {
  size_t sp = header.find(' ');
  std::string scheme(header.substr(0, sp));
  for (char& c : scheme) c = char(std::tolower(static_cast<unsigned char>(c)));
  if (sp == std::string_view::npos) return scheme;
  std::string_view rest = header.substr(sp + 1);
  while (!rest.empty()) {
    size_t eq = rest.find('=');
    if (eq == std::string_view::npos) break;
    std::string key(rest.substr(0, eq));
    key.erase(0, key.find_first_not_of(" ,"));
    for (char& c : key) c = char(std::tolower(static_cast<unsigned char>(c)));
    rest = rest.substr(eq + 1);
    std::string value;
    if (!rest.empty() && rest[0] == '"') {
      size_t i = 1;
      for (; i < rest.size() && rest[i] != '"'; ++i) {
        if (rest[i] == '\\' && i + 1 < rest.size()) ++i;
        value += rest[i];
      }
      rest = rest.substr(std::min(rest.size(), i + 1));
    } else {
      size_t comma = rest.find(',');
      value = rest.substr(0, comma);
      rest = rest.substr(comma == std::string_view::npos ? rest.size() : comma);
    }
    (*params)[key] = value;
    size_t next = rest.find_first_not_of(" ,");
    rest = rest.substr(next == std::string_view::npos ? rest.size() : next);
  }
  return scheme;
}

std::string status_text(const http::Response& resp) {
  // Registries explain errors as {"errors":[{"code":..,"message":..}]}.
  nlohmann::json doc;
  std::string ignored;
  if (parse_json(resp.body, &doc, &ignored) && doc.is_object() && doc.contains("errors") && doc["errors"].is_array() && !doc["errors"].empty()) {
    const auto& e = doc["errors"][0];
    std::string code = e.contains("code") && e["code"].is_string() ? e["code"].get<std::string>() : "";
    std::string msg = e.contains("message") && e["message"].is_string() ? e["message"].get<std::string>() : "";
    if (!code.empty() || !msg.empty()) return printable(code + (msg.empty() ? "" : ": " + msg));
  }
  return "HTTP " + std::to_string(resp.status);
}

std::vector<std::string> ca_files_in(const std::string& dir) {
  std::vector<std::string> files;
  DIR* dp = opendir(dir.c_str());
  if (!dp) return files;
  while (dirent* e = readdir(dp)) {
    std::string name = e->d_name;
    if (name.size() > 4 && name.compare(name.size() - 4, 4, ".crt") == 0) files.push_back(dir + "/" + name);
  }
  closedir(dp);
  std::sort(files.begin(), files.end());
  return files;
}

}  // namespace

std::string manifest_accept() {
  return std::string(media::kOciIndex) + ", " + std::string(media::kDockerList) + ", " +
         std::string(media::kOciManifest) + ", " + std::string(media::kDockerManifest);
}

Registry::Registry(std::string registry, RegistryOptions options)
    : registry_(std::move(registry)), options_(std::move(options)) {
  Reference r;
  r.registry = registry_;
  host_ = r.api_host();
}

Registry::~Registry() = default;

bool Registry::init(std::string* err) {
  http::TlsOptions tls;
  tls.verify = options_.tls_verify;
  // Like docker and podman: CA certificates for a registry live in a
  // directory named after it, unless one is given.
  std::vector<std::string> dirs;
  if (!options_.cert_dir.empty()) {
    struct stat st;
    if (::stat(options_.cert_dir.c_str(), &st) != 0 || !S_ISDIR(st.st_mode)) {
      *err = "certificate directory " + options_.cert_dir + " does not exist";
      return false;
    }
    dirs.push_back(options_.cert_dir);
  } else {
    dirs = {"/etc/containers/certs.d/" + registry_, "/etc/docker/certs.d/" + registry_};
  }
  for (const std::string& d : dirs)
    for (std::string& f : ca_files_in(d)) tls.ca_files.push_back(std::move(f));
  tls_ = std::make_shared<http::TlsContext>(std::move(tls));

  std::string host = host_.substr(0, host_.rfind(':') == std::string::npos || host_.back() == ']'
                                         ? host_.size()
                                         : host_.rfind(':'));
  if (!host.empty() && host[0] == '[') host = host.substr(1, host.size() - 2);
  scheme_ = options_.plain_http ? "http" : "https";
  may_fall_back_to_http_ = !options_.plain_http && is_loopback(host);

  if (options_.credential) {
    credential_ = options_.credential;
    return true;
  }
  if (options_.anonymous) return true;
  std::string file = options_.auth_file.empty() ? docker_config_path() : options_.auth_file;
  Credential cred;
  bool found;
  if (!find_credential(file, registry_, &cred, &found, err)) return false;
  if (found) credential_ = cred;
  return true;
}

std::string Registry::origin() {
  std::lock_guard<std::mutex> lock(mu_);
  return scheme_ + "://" + host_;
}

std::unique_ptr<http::Client> Registry::take_client() {
  std::lock_guard<std::mutex> lock(mu_);
  if (idle_.empty()) return std::make_unique<http::Client>(tls_);
  auto c = std::move(idle_.back());
  idle_.pop_back();
  return c;
}

void Registry::give_client(std::unique_ptr<http::Client> c) {
  std::lock_guard<std::mutex> lock(mu_);
  idle_.push_back(std::move(c));
}

std::string Registry::auth_header(const std::string& scope) {
  std::lock_guard<std::mutex> lock(mu_);
  if (auto it = tokens_.find(scope); it != tokens_.end() && Clock::now() < it->second.expiry)
    return "Bearer " + it->second.value;
  if (use_basic_ && credential_) return "Basic " + base64_encode(credential_->user + ":" + credential_->password);
  return {};
}

bool Registry::authenticate(http::Client& client, const std::string& challenge, const std::string& scope,
                            std::string* err) {
  std::map<std::string, std::string> params;
  std::string scheme = parse_challenge(challenge, &params);
  if (scheme == "basic") {
    if (!credential_) {
      *err = registry_ + ": authentication required (see 'ctk login')";
      return false;
    }
    if (!credential_->identity_token.empty()) {
      *err = registry_ + ": the stored credential is an identity token, but the registry asks for Basic auth";
      return false;
    }
    std::lock_guard<std::mutex> lock(mu_);
    use_basic_ = true;
    return true;
  }
  if (scheme != "bearer" || params["realm"].empty()) {
    *err = registry_ + ": unsupported authentication challenge '" + challenge + "'";
    return false;
  }
  http::Url url;
  if (!http::parse_url(params["realm"], &url, err)) return false;
  std::string query;
  if (!params["service"].empty()) query += "service=" + http::url_encode(params["service"]);
  std::string want = !params["scope"].empty() ? params["scope"] : scope;
  if (!want.empty()) query += (query.empty() ? "" : "&") + std::string("scope=") + http::url_encode(want);
  http::Headers headers;
  std::string method = "GET", body;
  if (credential_ && !credential_->identity_token.empty()) {
    // An identity token is an OAuth2 refresh token: traded for an access
    // token in a form POST (the distribution token spec's oauth flow).
    method = "POST";
    body = "grant_type=refresh_token&client_id=ctk&refresh_token=" +
           http::url_encode(credential_->identity_token) + (query.empty() ? "" : "&" + query);
    headers.emplace_back("Content-Type", "application/x-www-form-urlencoded");
  } else {
    if (!query.empty()) url.target += (url.target.find('?') == std::string::npos ? "?" : "&") + query;
    if (credential_)
      headers.emplace_back("Authorization",
                           "Basic " + base64_encode(credential_->user + ":" + credential_->password));
  }
  // The lifetime counts from before the request, so a slow answer never
  // makes the token seem to live longer than it does.
  Clock::time_point asked = Clock::now();
  http::Response resp;
  if (!client.request(method, url, headers, body, nullptr, &resp, err)) return false;
  if (resp.status == 401 || resp.status == 403) {
    std::string why = !credential_                          ? "authentication required (see 'ctk login')"
                      : credential_->identity_token.empty() ? "wrong username or password"
                                                            : "identity token rejected";
    *err = registry_ + ": " + why + " (token server " + url.origin() + ": " + status_text(resp) + ")";
    return false;
  }
  if (resp.status != 200) {
    *err = registry_ + ": token server " + url.origin() + " answered " + status_text(resp);
    return false;
  }
  nlohmann::json doc;
  std::string token, ignored;
  if (parse_json(resp.body, &doc, &ignored) && doc.is_object()) {
    for (const char* key : {"token", "access_token"})
      if (doc.contains(key) && doc[key].is_string() && token.empty()) token = doc[key];
  }
  if (token.empty()) {
    *err = registry_ + ": token server " + url.origin() + " returned no token";
    return false;
  }
  // The spec's default lifetime is 60 s. Renew a little early (10 s, or a
  // quarter of a short lifetime) so a token does not expire in flight.
  // A lifetime past a day is taken as a day: in milliseconds, a huge one
  // would overflow.
  int64_t ttl = doc.contains("expires_in") && doc["expires_in"].is_number_integer() ? doc["expires_in"].get<int64_t>() : 0;
  std::chrono::milliseconds life = std::chrono::seconds(ttl > 0 ? std::min<int64_t>(ttl, 86400) : 60);
  Token t{token, asked + life - std::min<std::chrono::milliseconds>(std::chrono::seconds(10), life / 4)};
  std::lock_guard<std::mutex> lock(mu_);
  tokens_[scope] = t;
  return true;
}

Registry::Outcome Registry::request_once(http::Client& client, const http::Url& url, const http::Headers& headers,
                                         const http::Sink* sink, http::Response* resp, std::string* err) {
  if (client.request("GET", url, headers, {}, sink, resp, err)) return Outcome::kOk;
  if (client.failure() == http::Failure::kNotTls) {
    std::lock_guard<std::mutex> lock(mu_);
    if (!may_fall_back_to_http_) {
      *err += " (--plain-http for a registry without TLS)";
      return Outcome::kFail;
    }
    // A loopback registry without TLS, as docker allows.
    scheme_ = "http";
    return Outcome::kRetry;
  }
  bool transient = client.failure() == http::Failure::kIo || client.failure() == http::Failure::kConnect;
  return transient ? Outcome::kRetry : Outcome::kFail;
}

Registry::Outcome Registry::send(const std::string& scope, const std::string& path, http::Headers headers,
                                 const http::Sink* sink, http::Response* resp, std::string* err) {
  auto client = take_client();
  struct Return {
    Registry* self;
    std::unique_ptr<http::Client>* c;
    ~Return() { self->give_client(std::move(*c)); }
  } give_back{this, &client};

  http::Url url;
  if (!http::parse_url(origin() + path, &url, err)) return Outcome::kFail;
  std::string registry_origin = url.origin();
  bool authed = false;
  for (int hop = 0; hop <= kMaxRedirects;) {
    http::Headers h = headers;
    // Credentials go only to the registry itself, never to a redirect target
    // on another host (blob storage).
    if (url.origin() == registry_origin)
      if (std::string a = auth_header(scope); !a.empty()) h.emplace_back("Authorization", a);
    Outcome o = request_once(*client, url, h, sink, resp, err);
    if (o != Outcome::kOk) {
      if (o == Outcome::kRetry && client->failure() == http::Failure::kNotTls) {
        url.scheme = "http";
        registry_origin = url.origin();
        continue;
      }
      return o;
    }
    if (resp->status == 401 && url.origin() == registry_origin) {
      std::string challenge = resp->header("www-authenticate");
      if (authed || challenge.empty()) {
        *err = registry_ + ": " + (credential_ ? "wrong username or password" : "authentication required (see 'ctk login')") +
               " (" + status_text(*resp) + ")";
        return Outcome::kFail;
      }
      if (!authenticate(*client, challenge, scope, err)) return Outcome::kFail;
      authed = true;
      continue;
    }
    if (resp->status == 301 || resp->status == 302 || resp->status == 303 || resp->status == 307 ||
        resp->status == 308) {
      http::Url next;
      if (!http::resolve_location(url, resp->header("location"), &next, err)) return Outcome::kFail;
      url = next;
      ++hop;
      continue;
    }
    if (resp->status == 429 || resp->status == 408 || resp->status / 100 == 5) {
      *err = registry_ + ": " + status_text(*resp);
      if (resp->status == 429) {
        std::string limit = resp->header("ratelimit-limit"), left = resp->header("ratelimit-remaining");
        if (!limit.empty()) *err += " (rate limit " + limit + ", remaining " + left + ")";
      }
      return Outcome::kRetry;
    }
    return Outcome::kOk;
  }
  *err = registry_ + ": too many redirects";
  return Outcome::kFail;
}

void Registry::backoff(int attempt, const http::Response& resp) {
  auto delay = options_.first_backoff * (1 << std::min(attempt, 5));
  if (std::string after = resp.header("retry-after"); !after.empty() && std::isdigit(static_cast<unsigned char>(after[0])))
    delay = std::chrono::milliseconds(std::min<long>(std::atol(after.c_str()), 30) * 1000);
  std::this_thread::sleep_for(std::min<std::chrono::milliseconds>(delay, std::chrono::seconds(30)));
}

bool Registry::ping(std::string* err) {
  http::Response resp;
  for (int attempt = 0;; ++attempt) {
    Outcome o = send("", "/v2/", {}, nullptr, &resp, err);
    if (o == Outcome::kFail) return false;
    if (o == Outcome::kOk) break;
    if (attempt + 1 >= options_.max_attempts) return false;
    backoff(attempt, resp);
  }
  if (resp.status != 200) {
    *err = registry_ + ": " + status_text(resp);
    return false;
  }
  return true;
}

bool Registry::get_manifest(const std::string& repo, const std::string& target, Manifest* out, std::string* err) {
  std::string scope = "repository:" + repo + ":pull";
  http::Response resp;
  std::string body;
  http::Sink sink = [&](const char* data, size_t n, std::string* e) {
    if (body.size() + n > kMaxManifest) {
      *e = registry_ + "/" + repo + ": manifest larger than 4 MiB";
      return false;
    }
    body.append(data, n);
    return true;
  };
  for (int attempt = 0;; ++attempt) {
    body.clear();
    Outcome o = send(scope, "/v2/" + repo + "/manifests/" + target, {{"Accept", manifest_accept()}}, &sink, &resp, err);
    if (o == Outcome::kFail) return false;
    if (o == Outcome::kOk) break;
    if (attempt + 1 >= options_.max_attempts) return false;
    backoff(attempt, resp);
  }
  std::string ref = registry_ + "/" + repo + (is_digest(target) ? "@" : ":") + target;
  if (resp.status == 404) {
    *err = ref + ": not found (" + status_text(resp) + ")";
    return false;
  }
  if (resp.status != 200) {
    *err = ref + ": " + status_text(resp);
    return false;
  }
  out->body = std::move(body);
  out->digest = "sha256:" + to_hex(sha256({reinterpret_cast<const uint8_t*>(out->body.data()), out->body.size()}));
  if (is_digest(target) && out->digest != target) {
    *err = ref + ": manifest does not match the requested digest (got " + out->digest + ")";
    return false;
  }
  std::string header_digest = resp.header("docker-content-digest");
  if (is_digest(header_digest) && header_digest != out->digest) {
    *err = ref + ": manifest does not match its Docker-Content-Digest " + header_digest;
    return false;
  }
  out->media_type = resp.header("content-type");
  out->media_type = out->media_type.substr(0, out->media_type.find(';'));
  return true;
}

bool Registry::fetch_blob(const std::string& repo, const Descriptor& blob, BlobWriter& writer,
                          const std::function<void(uint64_t)>& progress, std::string* err) {
  std::string scope = "repository:" + repo + ":pull";
  http::Response resp;
  bool fatal = false;
  bool first_chunk = true;
  http::Sink sink = [&](const char* data, size_t n, std::string* e) {
    if (first_chunk) {
      first_chunk = false;
      // A server that ignores Range sends the whole blob again.
      if (resp.status == 200 && writer.offset() > 0 && !writer.restart(e)) return fatal = true, false;
      std::string range = resp.header("content-range");  // "bytes START-END/TOTAL"
      if (resp.status == 206 && std::strtoull(range.c_str() + std::min<size_t>(6, range.size()), nullptr, 10) !=
                                    writer.offset()) {
        *e = registry_ + ": blob " + blob.digest + " came back with the wrong range '" + range + "'";
        return fatal = true, false;
      }
    }
    if (!writer.write(data, n, e)) return fatal = true, false;
    if (progress) progress(n);
    return true;
  };
  for (int attempt = 0;; ++attempt) {
    if (writer.offset() == blob.size && blob.size > 0) break;
    http::Headers headers;
    if (writer.offset() > 0) headers.emplace_back("Range", "bytes=" + std::to_string(writer.offset()) + "-");
    first_chunk = true;
    Outcome o = send(scope, "/v2/" + repo + "/blobs/" + blob.digest, headers, &sink, &resp, err);
    if (fatal || o == Outcome::kFail) return false;
    if (o == Outcome::kOk && resp.status == 416) {
      if (!writer.restart(err)) return false;
      o = Outcome::kRetry;
      *err = registry_ + ": range not satisfiable";
    }
    if (o == Outcome::kOk) {
      if (resp.status == 200 || resp.status == 206) break;
      *err = registry_ + "/" + repo + "@" + blob.digest + ": " + status_text(resp);
      return false;
    }
    if (attempt + 1 >= options_.max_attempts) {
      *err = registry_ + "/" + repo + "@" + blob.digest + ": giving up after " +
             std::to_string(options_.max_attempts) + " attempts: " + *err;
      return false;
    }
    backoff(attempt, resp);
  }
  return writer.commit(err);
}

}  // namespace ctk::oci
