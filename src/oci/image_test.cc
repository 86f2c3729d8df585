#include "oci/image.h"

#include <doctest/doctest.h>

using namespace ctk::oci;

namespace {

const std::string kD1 = "sha256:" + std::string(64, '1');
const std::string kD2 = "sha256:" + std::string(64, '2');

std::string entry(const std::string& digest, const std::string& platform) {
  return R"({"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":")" + digest +
         R"(","size":10,"platform":)" + platform + "}";
}

}  // namespace

TEST_CASE("platforms parse and match") {
  Platform p;
  std::string err;
  REQUIRE(parse_platform("linux/arm/v7", &p, &err));
  CHECK(p.str() == "linux/arm/v7");
  for (const char* bad : {"linux", "linux/", "/amd64", "a/b/c/d", "a//b", "linux/arm/"}) {
    CHECK_FALSE(parse_platform(bad, &p, &err));
    CHECK(err.find(bad) != std::string::npos);
  }
  std::string index = R"({"manifests":[)" + entry(kD1, R"({"os":"linux","architecture":"amd64"})") + "," +
                      entry(kD2, R"({"os":"linux","architecture":"arm64","variant":"v8"})") + "]}";
  Descriptor d;
  REQUIRE(select_platform(index, "x", {"linux", "amd64", ""}, &d, &err));
  CHECK(d.digest == kD1);
  REQUIRE(select_platform(index, "x", {"linux", "arm64", ""}, &d, &err));
  CHECK(d.digest == kD2);
  CHECK_FALSE(select_platform(index, "x", {"linux", "arm", "v7"}, &d, &err));
  CHECK(err == "x: no image for linux/arm/v7 (the index has linux/amd64, linux/arm64/v8)");
}

TEST_CASE("manifests: classification and malformed documents") {
  std::string type, err;
  bool is_index;
  REQUIRE(classify_manifest("application/json", R"({"manifests":[]})", "r", &type, &is_index, &err));
  CHECK(is_index);
  REQUIRE(classify_manifest(media::kDockerManifest, R"({"layers":[]})", "r", &type, &is_index, &err));
  CHECK_FALSE(is_index);
  CHECK(type == media::kDockerManifest);
  CHECK_FALSE(classify_manifest("", R"({"schemaVersion":1,"fsLayers":[]})", "r", &type, &is_index, &err));
  CHECK(err == "r: Docker schema 1 manifests are not supported");
  CHECK_FALSE(classify_manifest("", "{oops", "r", &type, &is_index, &err));
  CHECK(err == "r: malformed manifest: not valid JSON");

  ImageManifest m;
  std::string good = R"({"config":{"digest":")" + kD1 + R"(","size":2},"layers":[{"digest":")" + kD2 + R"(","size":5}]})";
  REQUIRE(parse_manifest(good, "r", &m, &err));
  CHECK(m.layers.size() == 1);
  CHECK(m.layers[0].size == 5);
  CHECK_FALSE(parse_manifest(R"({"layers":[]})", "r", &m, &err));
  CHECK(err == "r: malformed manifest: no config");
  std::string bad_layer = R"({"config":{"digest":")" + kD1 + R"(","size":2},"layers":[{"digest":"sha256:zz","size":5}]})";
  CHECK_FALSE(parse_manifest(bad_layer, "r", &m, &err));
  CHECK(err == "r: malformed manifest: layer 0 has no sha256 digest");
}
