// A client for one registry (distribution spec v2): manifests and indexes of
// both OCI and Docker types, blobs streamed into the store with resume.
// Auth follows the registry's 401 challenge: Basic with stored credentials,
// or the Bearer token flow (realm, service, scope) with tokens reused across
// requests and threads until shortly before they expire; a token the
// registry rejects anyway (401) is replaced once per request. An identity
// token is traded for access tokens by OAuth2 POST. Transient failures (429, 5xx,
// dropped connections) are retried with backoff. Thread-safe: pull workers
// share one Registry; each request takes a pooled connection.
#pragma once

#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "oci/credentials.h"
#include "oci/http.h"
#include "oci/store.h"

namespace ctk::oci {

struct RegistryOptions {
  bool tls_verify = true;
  bool plain_http = false;   // http:// even for a remote registry
  std::string cert_dir;      // CA certificates (*.crt) to trust for this registry
  std::string auth_file;     // docker config.json; default docker_config_path()
  std::optional<Credential> credential;  // overrides the auth file (login)
  // Without `credential`, no credentials at all: the auth file is not read.
  // The Docker API server's pulls: clients send their own credentials
  // (X-Registry-Auth); the server's user's must not serve any client.
  bool anonymous = false;
  // A registry tried first for Docker Hub's images (dockerd's
  // --registry-mirror): "host[:port]", or a URL whose http:// scheme asks
  // for plain HTTP. Anonymous; when it fails, the Hub is asked.
  std::string hub_mirror;
  int max_attempts = 6;
  std::chrono::milliseconds first_backoff{250};
};

struct Manifest {
  std::string media_type;
  std::string digest;  // sha256 of body, checked against a requested digest
  std::string body;
};

class Registry {
 public:
  // registry: a Reference's registry ("docker.io", "localhost:5000").
  Registry(std::string registry, RegistryOptions options);
  ~Registry();

  // Loads credentials; call once before requests.
  bool init(std::string* err);
  // GET /v2/: reachability and, with credentials, that they are accepted.
  bool ping(std::string* err);
  bool get_manifest(const std::string& repo, const std::string& target, Manifest* out, std::string* err);
  // Streams the blob into `writer` from writer.offset() on; `progress` gets
  // byte counts as they arrive. Commits the writer (digest and size checks).
  bool fetch_blob(const std::string& repo, const Descriptor& blob, BlobWriter& writer,
                  const std::function<void(uint64_t)>& progress, std::string* err);

 private:
  enum class Outcome { kOk, kRetry, kFail };
  struct Token {
    std::string value;
    std::chrono::steady_clock::time_point expiry;
  };

  Outcome send(const std::string& scope, const std::string& path, http::Headers headers, const http::Sink* sink,
               http::Response* resp, std::string* err);
  Outcome request_once(http::Client& client, const http::Url& url, const http::Headers& headers,
                       const http::Sink* sink, http::Response* resp, std::string* err);
  bool authenticate(http::Client& client, const std::string& challenge, const std::string& scope, std::string* err);
  std::string auth_header(const std::string& scope);
  void backoff(int attempt, const http::Response& resp);
  std::unique_ptr<http::Client> take_client();
  void give_client(std::unique_ptr<http::Client> c);
  std::string origin();

  std::string registry_;
  std::string host_;
  RegistryOptions options_;
  std::shared_ptr<http::TlsContext> tls_;
  std::optional<Credential> credential_;

  std::mutex mu_;
  std::string scheme_;
  bool may_fall_back_to_http_ = false;
  bool use_basic_ = false;
  std::map<std::string, Token> tokens_;  // by scope
  std::vector<std::unique_ptr<http::Client>> idle_;
};

// "Accept" for manifest requests: all four manifest and index types.
std::string manifest_accept();

}  // namespace ctk::oci
