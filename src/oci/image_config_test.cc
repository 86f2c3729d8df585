#include "oci/image_config.h"

#include <doctest/doctest.h>

#include "oci/json.h"

using namespace ctk::oci;

namespace {

// A config whose "config" member is `fields`.
std::string with_config(const std::string& fields) {
  return R"({"os":"linux","architecture":"amd64","config":{)" + fields + "}}";
}

}  // namespace

TEST_CASE("an image config's fields") {
  ImageConfig c;
  std::string err;
  REQUIRE(parse_image_config(
      with_config(R"("Entrypoint":["/bin/sh","-c"],"Cmd":["echo hi"],"Env":["PATH=/bin","A=1"],)"
                  R"("WorkingDir":"/srv","User":"app:app","StopSignal":"SIGQUIT",)"
                  R"("ExposedPorts":{"80/tcp":{},"53/udp":{}},"Volumes":{"/data":{}},)"
                  R"("Labels":{"a":"1","b":""},"Unused":[{"x":5}])"),
      &c, &err));
  CHECK(c.os == "linux");
  CHECK(c.architecture == "amd64");
  CHECK(c.entrypoint == std::vector<std::string>{"/bin/sh", "-c"});
  CHECK(c.cmd == std::vector<std::string>{"echo hi"});
  CHECK(c.env == std::vector<std::string>{"PATH=/bin", "A=1"});
  CHECK(c.working_dir == "/srv");
  CHECK(c.user == "app:app");
  CHECK(c.stop_signal == "SIGQUIT");
  CHECK(c.exposed_ports == std::vector<std::string>{"53/udp", "80/tcp"});
  CHECK(c.volumes == std::vector<std::string>{"/data"});
  CHECK(c.labels == std::map<std::string, std::string>{{"a", "1"}, {"b", ""}});
}

TEST_CASE("an image config's missing and null fields are empty") {
  for (const std::string& text :
       {std::string("{}"), std::string(R"({"config":null})"), with_config(""),
        std::string(R"({"os":null,"architecture":null})"),
        with_config(R"("Entrypoint":null,"Cmd":null,"Env":null,"WorkingDir":null,"User":null,)"
                    R"("StopSignal":null,"ExposedPorts":null,"Volumes":null,"Labels":null)")}) {
    CAPTURE(text);
    ImageConfig c;
    c.cmd = {"stale"};
    std::string err;
    REQUIRE(parse_image_config(text, &c, &err));
    CHECK(c.cmd.empty());
    CHECK(c.entrypoint.empty());
    CHECK(c.env.empty());
    CHECK(c.working_dir.empty());
    CHECK(c.labels.empty());
    CHECK(c.exposed_ports.empty());
  }
}

TEST_CASE("an image config's wrongly typed field is named") {
  struct Case {
    std::string text, error;
  };
  const Case cases[] = {
      {R"({"os":5})", "image config: os: expected a string, got a number"},
      {R"({"architecture":["amd64"]})", "image config: architecture: expected a string, got an array"},
      {R"({"config":"x"})", "image config: Config: expected an object, got a string"},
      {R"({"config":[]})", "image config: Config: expected an object, got an array"},
      {with_config(R"("WorkingDir":5)"), "image config: Config.WorkingDir: expected a string, got a number"},
      {with_config(R"("User":true)"), "image config: Config.User: expected a string, got a boolean"},
      {with_config(R"("StopSignal":{})"), "image config: Config.StopSignal: expected a string, got an object"},
      {with_config(R"("Env":"x")"), "image config: Config.Env: expected an array of strings, got a string"},
      {with_config(R"("Env":["A=1",2])"), "image config: Config.Env[1]: expected a string, got a number"},
      {with_config(R"("Cmd":["sh",null])"), "image config: Config.Cmd[1]: expected a string, got null"},
      {with_config(R"("Entrypoint":"/bin/sh")"),
       "image config: Config.Entrypoint: expected an array of strings, got a string"},
      {with_config(R"("Entrypoint":[["sh"]])"), "image config: Config.Entrypoint[0]: expected a string, got an array"},
      {with_config(R"("ExposedPorts":["80/tcp"])"),
       "image config: Config.ExposedPorts: expected an object, got an array"},
      {with_config(R"("Volumes":"/data")"), "image config: Config.Volumes: expected an object, got a string"},
      {with_config(R"("Labels":[])"), "image config: Config.Labels: expected an object, got an array"},
      {with_config(R"("Labels":{"ok":"1","n":1.5})"),
       R"(image config: Config.Labels["n"]: expected a string, got a number)"},
      {with_config(R"("Labels":{"two\nlines":0})"),
       R"(image config: Config.Labels["two\nlines"]: expected a string, got a number)"},
      {"[]", "image config: expected an object, got an array"},
      {"5", "image config: expected an object, got a number"},
      {"", "image config: not valid JSON"},
      {"{\"os\":", "image config: not valid JSON"},
      {std::string(1000, '[') + std::string(1000, ']'), "image config: nested deeper than 64 levels"},
  };
  for (const Case& t : cases) {
    CAPTURE(t.text);
    ImageConfig c;
    std::string err;
    CHECK_FALSE(parse_image_config(t.text, &c, &err));
    CHECK(err == t.error);
  }
}

TEST_CASE("untrusted JSON: nesting is bounded") {
  nlohmann::json j;
  std::string why;
  std::string ok = std::string(kMaxJsonDepth, '[') + std::string(kMaxJsonDepth, ']');
  CHECK(parse_json(ok, &j, &why));
  // Deep enough to overflow the stack if it were built and then serialized.
  for (const std::string& deep : {std::string(1 << 20, '['), std::string(1 << 20, '[') + std::string(1 << 20, ']'),
                                  "{\"a\":" + std::string(kMaxJsonDepth + 1, '[') + std::string(kMaxJsonDepth + 1, ']') +
                                      "}"}) {
    CHECK_FALSE(parse_json(deep, &j, &why));
    CHECK(why == "nested deeper than 64 levels");
  }
  CHECK_FALSE(parse_json("{\"a\":1,}", &j, &why));
  CHECK(why == "not valid JSON");
}
