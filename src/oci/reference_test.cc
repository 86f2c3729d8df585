#include "oci/reference.h"

#include <doctest/doctest.h>

using ctk::oci::parse_reference;
using ctk::oci::Reference;

namespace {

Reference parse(std::string_view text) {
  Reference ref;
  std::string err;
  CHECK_MESSAGE(parse_reference(text, &ref, &err), err);
  return ref;
}

std::string error_of(std::string_view text) {
  Reference ref;
  std::string err;
  CHECK_FALSE(parse_reference(text, &ref, &err));
  return err;
}

const std::string kDigest = "sha256:" + std::string(64, 'a');

}  // namespace

TEST_CASE("reference: Docker Hub defaults") {
  Reference r = parse("alpine");
  CHECK(r.registry == "docker.io");
  CHECK(r.repository == "library/alpine");
  CHECK(r.tag == "latest");
  CHECK(r.digest.empty());
  CHECK(r.api_host() == "registry-1.docker.io");
  CHECK(r.str() == "docker.io/library/alpine:latest");
  CHECK(parse("user/app:1.0").str() == "docker.io/user/app:1.0");
  CHECK(parse("docker.io/alpine").repository == "library/alpine");
  CHECK(parse("index.docker.io/library/alpine").str() == "docker.io/library/alpine:latest");
}

TEST_CASE("reference: explicit registries") {
  Reference r = parse("localhost:5000/ns/name:v1");
  CHECK(r.registry == "localhost:5000");
  CHECK(r.repository == "ns/name");
  CHECK(r.tag == "v1");
  CHECK(r.api_host() == "localhost:5000");
  CHECK(parse("localhost/app").registry == "localhost");
  CHECK(parse("127.0.0.1:5000/app").registry == "127.0.0.1:5000");
  CHECK(parse("quay.io/a/b/c").repository == "a/b/c");
  CHECK(parse("[::1]:5000/app").registry == "[::1]:5000");
  // Without a dot, colon or "localhost" the first component is a namespace.
  CHECK(parse("myhost/app").str() == "docker.io/myhost/app:latest");
}

TEST_CASE("reference: digests") {
  Reference r = parse("alpine@" + kDigest);
  CHECK(r.tag.empty());
  CHECK(r.digest == kDigest);
  CHECK(r.target() == kDigest);
  CHECK(r.str() == "docker.io/library/alpine@" + kDigest);
  Reference both = parse("localhost:5000/app:v2@" + kDigest);
  CHECK(both.tag == "v2");
  CHECK(both.target() == kDigest);
  CHECK(both.str() == "localhost:5000/app:v2@" + kDigest);
}

TEST_CASE("reference: separators in names") {
  CHECK(parse("a.b_c__d-e---f").repository == "library/a.b_c__d-e---f");
  CHECK(error_of("a..b").find("component 'a..b'") != std::string::npos);
  CHECK(error_of("a___b").find("component") != std::string::npos);
  CHECK(error_of("-ab").find("component") != std::string::npos);
  CHECK(error_of("ab_").find("component") != std::string::npos);
}

TEST_CASE("reference: malformed references name the problem") {
  CHECK(error_of("") == "invalid image reference '': empty");
  CHECK(error_of("Alpine").find("'Alpine'") != std::string::npos);
  CHECK(error_of("alpine:").find("tag") != std::string::npos);
  CHECK(error_of("alpine:-x").find("tag") != std::string::npos);
  CHECK(error_of("alpine@sha256:abc").find("digest") != std::string::npos);
  CHECK(error_of("alpine@md5:" + std::string(32, 'a')).find("digest") != std::string::npos);
  CHECK(error_of("localhost:5000/").find("no repository") != std::string::npos);
  CHECK(error_of("host.io:x/app").find("registry") != std::string::npos);
  CHECK(error_of("a//b").find("empty path component") != std::string::npos);
  CHECK(error_of(":tag").find("no repository") != std::string::npos);
  CHECK(error_of("a b").find("component") != std::string::npos);
  for (std::string_view bad : {"", "Alpine", "alpine:", "a//b"})
    CHECK(error_of(bad).find('\n') == std::string::npos);
}

TEST_CASE("reference: registries as logins name them") {
  std::string reg, err;
  auto registry = [&](std::string_view text) {
    reg.clear();
    return ctk::oci::parse_registry(text, &reg, &err) ? reg : "error: " + err;
  };
  CHECK(registry("localhost:5000") == "localhost:5000");
  CHECK(registry("127.0.0.1:5000") == "127.0.0.1:5000");
  CHECK(registry("docker.io") == "docker.io");
  CHECK(registry("https://index.docker.io/v1/") == "docker.io");
  CHECK(registry("https://127.0.0.1:5000") == "127.0.0.1:5000");
  CHECK(registry("http://quay.io/v2/") == "quay.io");
  CHECK(registry("quay.io/ns/app:v1") == "quay.io");
  CHECK(registry("").starts_with("error: "));
  CHECK(registry("https://").starts_with("error: "));
  CHECK(registry("bad host:5000").starts_with("error: "));
}
