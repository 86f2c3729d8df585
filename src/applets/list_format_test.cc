#include "applets/list_format.h"

#include <doctest/doctest.h>

using namespace ctk;

namespace {

constexpr Column kColumns[] = {{"ID", "NETWORK ID"}, {"Name", "NAME"}, {"Driver", "DRIVER"}};

std::string list(const std::string& format) {
  ListFormat f;
  std::string err;
  REQUIRE_MESSAGE(f.parse(format, kColumns, "{{.ID}}\\t{{.Name}}\\t{{.Driver}}", &err), err);
  f.add({{"ID", "7fca4eb8c647"}, {"Name", "bridge"}, {"Driver", "bridge"}});
  f.add({{"ID", "0123456789ab"}, {"Name", "a-rather-long-name"}, {"Driver", "bridge"}});
  return f.output();
}

}  // namespace

TEST_CASE("ls --format: docker's tables, json and templates") {
  CHECK(list("") ==
        "NETWORK ID     NAME                 DRIVER\n"
        "7fca4eb8c647   bridge               bridge\n"
        "0123456789ab   a-rather-long-name   bridge\n");
  CHECK(list("table") == list(""));
  CHECK(list("table {{.Name}}") == "NAME\nbridge\na-rather-long-name\n");
  CHECK(list("{{.Name}}") == "bridge\na-rather-long-name\n");
  CHECK(list("{{ .Name }}: {{.ID}}") == "bridge: 7fca4eb8c647\na-rather-long-name: 0123456789ab\n");
  CHECK(list("{{.Name}}\\t{{.Driver}}") == "bridge\tbridge\na-rather-long-name\tbridge\n");  // no table: no alignment
  CHECK(list("json") ==
        "{\"Driver\":\"bridge\",\"ID\":\"7fca4eb8c647\",\"Name\":\"bridge\"}\n"
        "{\"Driver\":\"bridge\",\"ID\":\"0123456789ab\",\"Name\":\"a-rather-long-name\"}\n");
  CHECK(list("{{json .}}") == list("json"));

  ListFormat f;
  std::string err;
  CHECK_FALSE(f.parse("{{.Nope}}", kColumns, "{{.ID}}", &err));
  CHECK(err == "invalid --format '{{.Nope}}': {{.Nope}} is none of table, json or a template of {{json .}}, "
               "{{.ID}}, {{.Name}}, {{.Driver}}");
  CHECK_FALSE(f.parse("{{.Name", kColumns, "{{.ID}}", &err));
  CHECK(err == "invalid --format '{{.Name': {{ without }}");
  CHECK_FALSE(f.parse("{{range .}}", kColumns, "{{.ID}}", &err));
}
